"""Karpenter v1: nodes launched for pending pods and given back when empty or underused.

The AWS side as upstream's CloudFormation builds it (aws/karpenter-provider-aws, v1.15 reference
"CloudFormation"): the controller's role (IRSA here, like every other identity: docs/decisions/0016), the role
its nodes run as with an EC2_LINUX access entry, the interruption queue and the five EventBridge rules feeding
it, and the discovery tag on the security group the nodes join. Then the CRDs and the controller from their
OCI charts, and one EC2NodeClass per AMI family and one NodePool per configured pool (settings/karpenter.py).
"""

from __future__ import annotations

import dataclasses
import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.addons import addon_role, helm_release
from infra.context import ClusterContext
from infra.iam_documents import deny_insecure_transport, document, service_may_assume
from infra.node_groups import NODE_POLICIES
from settings import StackSettings, addons, karpenter
from settings.karpenter import DISCOVERY_TAG, KarpenterSettings

# What reaches the interruption queue (upstream CloudFormation, v1.15): each is something Karpenter acts on
# before AWS takes the instance (cordon, drain, replace).
INTERRUPTION_EVENTS = {
    "health": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "instance-state-change": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
    },
    "capacity-reservation-interruption": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"],
    },
}


def karpenter_discovery_tags(stack: StackSettings) -> dict[str, str]:
    """The tag the EC2NodeClass selects the private subnets by, when the stack runs Karpenter."""
    return {DISCOVERY_TAG: stack.cluster_name} if stack.karpenter.enabled else {}


def cluster_endpoint(kubeconfig_json: str) -> str:
    """The API server's URL, from the cluster's kubeconfig (what the controller would otherwise look up)."""
    return str(json.loads(kubeconfig_json)["clusters"][0]["cluster"]["server"])


class Karpenter(pulumi.ComponentResource):
    node_role: aws.iam.Role
    queue: aws.sqs.Queue
    release: k8s.helm.v3.Release

    def __init__(
        self,
        name: str,
        settings: KarpenterSettings,
        context: ClusterContext,
        *,
        cluster_security_group_id: pulumi.Input[str],
        kubeconfig: pulumi.Input[str],
        needs: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:infra:Karpenter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names, environment = context.names, context.environment
        cluster = names.cluster

        # -- the nodes' identity: the node groups' managed policies, and an access entry so they may join --
        node_role_arn = f"arn:aws:iam::{environment.account_id}:role/{names.karpenter_node_role}"
        self.node_role = aws.iam.Role(
            "node-role",
            name=names.karpenter_node_role,
            description=f"Nodes Karpenter launches for {cluster}",
            assume_role_policy=service_may_assume("ec2.amazonaws.com"),
            permissions_boundary=environment.permissions_boundary,
            opts=child,
        )
        for key, arn in NODE_POLICIES.items():
            aws.iam.RolePolicyAttachment(
                f"node-role-{key}", role=self.node_role.name, policy_arn=arn, opts=child
            )
        # With API authentication only, a node whose role has no EC2_LINUX entry never joins the cluster. EKS
        # grants the node permissions itself: no access policy (the API refuses one on this type).
        # The cluster is named, not referenced: without `needs` the entry would be created while the control
        # plane is still being built, and EKS refuses it (ResourceNotFoundException).
        access_entry = aws.eks.AccessEntry(
            "nodes",
            cluster_name=cluster,
            principal_arn=self.node_role.arn,
            type="EC2_LINUX",
            opts=pulumi.ResourceOptions(parent=self, depends_on=needs),
        )

        # -- interruption handling --
        self.queue = aws.sqs.Queue(
            "interruptions",
            name=names.karpenter_queue,
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            "interruptions",
            queue_url=self.queue.url,
            policy=self.queue.arn.apply(
                lambda arn: document(
                    {
                        "Sid": "EventBridgeSends",
                        "Effect": "Allow",
                        "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                        "Action": "sqs:SendMessage",
                        "Resource": arn,
                    },
                    deny_insecure_transport("sqs", arn),
                )
            ),
            # The queue's one policy (its id is the queue's URL): a replacement deletes the old one first,
            # or deleting the old one afterwards would remove the new (tools/data/replacement_inputs.yaml).
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        interruption_rules: list[pulumi.Resource] = []
        for key, pattern in INTERRUPTION_EVENTS.items():
            event_rule = aws.cloudwatch.EventRule(
                key,
                description=f"{cluster}: {pattern['detail-type'][0]} -> Karpenter",
                event_pattern=json.dumps(pattern),
                opts=child,
            )
            target = aws.cloudwatch.EventTarget(key, rule=event_rule.name, arn=self.queue.arn, opts=child)
            interruption_rules += [event_rule, target]

        # -- discovery: the EC2NodeClass selects the private subnets (tagged by infra/network.py) and the
        # cluster security group EKS created (which managed nodes join too) by this tag --
        aws.ec2.Tag(
            "cluster-security-group-discovery",
            resource_id=cluster_security_group_id,
            key=DISCOVERY_TAG,
            value=cluster,
            opts=child,
        )

        # -- the controller --
        crds_chart = dataclasses.replace(addons.KARPENTER_CRDS, version=settings.version)
        chart = dataclasses.replace(addons.KARPENTER, version=settings.version)
        role, grant = addon_role(
            "controller", chart, self, context, QUEUE_ARN=self.queue.arn, NODE_ROLE_ARN=node_role_arn
        )
        crds = helm_release(crds_chart, self, context, values={}, needs=needs)
        self.release = helm_release(
            chart,
            self,
            context,
            values={
                "settings": {
                    "clusterName": cluster,
                    # The API server's URL is no secret; the kubeconfig it is read from is.
                    "clusterEndpoint": pulumi.Output.unsecret(pulumi.Output.from_input(kubeconfig)).apply(
                        cluster_endpoint
                    ),
                    "interruptionQueue": self.queue.name,
                },
                "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": role.arn}},
                "replicas": 2,
                "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
                # Only on the managed node groups: never on a node it launched (it could drain itself away).
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"},
                                        {"key": "eks.amazonaws.com/nodegroup", "operator": "Exists"},
                                    ]
                                }
                            ]
                        }
                    },
                    "podAntiAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "karpenter"}},
                            }
                        ]
                    },
                },
                "controller": {
                    "resources": {
                        "requests": {"cpu": "500m", "memory": "1Gi"},
                        "limits": {"cpu": "1", "memory": "1Gi"},
                    }
                },
            },
            # Its permissions and the interruption rules go only after it has removed its nodes (what it
            # launched is deleted before it: tools/offline/teardown.py).
            needs=[*needs, crds, grant, *interruption_rules],
        )

        # -- what it may launch: one EC2NodeClass per AMI family in use, one NodePool per pool --
        # Created after the controller (their CRDs and webhook), destroyed before it: deleting a NodePool has
        # Karpenter drain and terminate its nodes, which needs the controller still running.
        after_controller = pulumi.ResourceOptions(
            parent=self, depends_on=[self.release, crds, self.node_role, access_entry]
        )
        node_classes = {
            family: k8s.apiextensions.CustomResource(
                f"node-class-{family}",
                api_version="karpenter.k8s.aws/v1",
                kind="EC2NodeClass",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=family),
                spec=karpenter.ec2_node_class_spec(
                    family,
                    settings.ami_aliases[family],
                    role=names.karpenter_node_role,
                    cluster=cluster,
                    tags=environment.tags,
                    disk_size_gib=settings.disk_size_gib,
                ),
                opts=after_controller,
            )
            for family in settings.families
        }
        for pool_name, pool in settings.node_pools.items():
            k8s.apiextensions.CustomResource(
                f"node-pool-{pool_name}",
                api_version="karpenter.sh/v1",
                kind="NodePool",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=pool_name),
                spec=karpenter.node_pool_spec(pool),
                opts=pulumi.ResourceOptions.merge(
                    after_controller, pulumi.ResourceOptions(depends_on=[node_classes[pool.ami_family]])
                ),
            )
        self.register_outputs({"nodeRoleArn": self.node_role.arn, "queueUrl": self.queue.url})
