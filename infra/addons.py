"""The cluster's add-ons that run on its nodes, built from their definitions in settings/addons.py.

The control-plane add-ons (VPC CNI, kube-proxy) are options of the cluster (infra/cluster.py); everything here
waits for the node groups, and the Helm releases for CoreDNS too. One component per add-on keeps each one's
resources together (and their URNs stable); one helper makes every Helm release the same way.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.context import ClusterContext
from infra.irsa import service_account_role
from settings import addons
from settings.addons import Chart, ManagedAddon
from settings.models import ClusterSettings

POLICIES = Path(__file__).parent / "policies"


def helm_release(
    chart: Chart,
    parent: pulumi.Resource,
    context: ClusterContext,
    *,
    values: dict,
    needs: list[pulumi.Resource],
) -> k8s.helm.v3.Release:
    """The one way add-ons are installed with Helm: pinned chart, the chart's fixed values first, atomic (a
    failed upgrade rolls back), on the cluster's provider, after what its pods need."""
    oci = chart.repository.startswith("oci://")  # an OCI registry: the chart is addressed by its full URL
    return k8s.helm.v3.Release(
        chart.name,
        name=chart.name,
        chart=f"{chart.repository}/{chart.chart}" if oci else chart.chart,
        version=chart.version,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
        namespace=chart.namespace,
        values={**chart.values, **values},
        skip_crds=chart.skip_crds or None,
        atomic=True,
        # On destroy the releases go before what they wait for (nodes, DNS), and after what waits for them.
        opts=pulumi.ResourceOptions(parent=parent, provider=context.kubernetes, depends_on=needs),
    )


def policy_document(file: str, context: ClusterContext, **extra: pulumi.Input[str]) -> pulumi.Output[str]:
    """A policy of infra/policies/ with its ``${...}`` scopes filled in: ``CLUSTER``, ``REGION``, ``ACCOUNT``,
    ``VPC_ID`` and whatever the caller adds. A placeholder left unfilled is an error, never a wildcard."""
    variables = {
        "CLUSTER": context.names.cluster,
        "REGION": context.environment.region,
        "ACCOUNT": context.environment.account_id,
        "VPC_ID": context.vpc_id,
        **extra,
    }
    template = string.Template((POLICIES / file).read_text())
    return pulumi.Output.all(**variables).apply(lambda values: template.substitute(values))


def addon_role(
    name: str,
    addon: Chart | ManagedAddon,
    parent: pulumi.Resource,
    context: ClusterContext,
    **scopes: pulumi.Input[str],
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """The IAM role of an add-on's service account (IRSA, docs/decisions/0007): its inline policy from
    infra/policies/, with ``scopes`` filled in besides the cluster's. ``name`` is the role's logical name,
    part of its identity. Returns the role and its policy."""
    if not (addon.namespace and addon.service_account and addon.policy_file):
        raise ValueError(f"{addon.name} declares no AWS identity in settings/addons.py")
    return service_account_role(
        name,
        oidc_provider_arn=context.oidc_provider_arn,
        oidc_provider_url=context.oidc_provider_url,
        namespace=addon.namespace,
        service_account=addon.service_account,
        policy=policy_document(addon.policy_file, context, **scopes),
        permissions_boundary=context.environment.permissions_boundary,
        parent=parent,
    )


class NodeAddons(pulumi.ComponentResource):
    """The EKS managed add-ons that need running nodes (settings/addons.py phase "compute"): CoreDNS."""

    def __init__(
        self,
        name: str,
        settings: ClusterSettings,
        context: ClusterContext,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:infra:NodeAddons", name, None, opts)
        versions = settings.addons
        # coredns is a Deployment: created before any node exists, the add-on stays DEGRADED and the create
        # times out. pulumi-eks only manages it with a default node group (docs/decisions/0004).
        self.coredns = aws.eks.Addon(
            "coredns",
            cluster_name=context.names.cluster,
            addon_name=addons.COREDNS.name,
            addon_version=versions[addons.COREDNS.name],
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=pulumi.ResourceOptions(parent=self, depends_on=context.compute),
        )
        self.register_outputs({})


class HelmAddon(pulumi.ComponentResource):
    """One Helm add-on of settings/addons.py: its release and, when the chart declares one, its IAM role. A
    subclass names its chart, its component type and the values that depend on the stack."""

    chart: Chart
    type_token: str
    role_name: str | None = None  # the logical name of the chart's IAM role, when it has one
    release: k8s.helm.v3.Release

    def __init__(
        self,
        name: str,
        context: ClusterContext,
        *,
        needs: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(self.type_token, name, None, opts)
        role, grant = (
            addon_role(self.role_name, self.chart, self, context) if self.role_name else (None, None)
        )
        # The release needs its policy too: destroyed before it, the controller could not delete what it made.
        grants = [grant] if grant else []
        self.release = helm_release(
            self.chart, self, context, values=self.values(context, role), needs=[*needs, *grants]
        )
        self.register_outputs({"roleArn": role.arn} if role else {})

    def values(self, context: ClusterContext, role: aws.iam.Role | None) -> dict:
        return {}


class MetricsServer(HelmAddon):
    """Resource metrics for the HorizontalPodAutoscalers."""

    chart = addons.METRICS_SERVER
    type_token = "picturesocial:infra:MetricsServer"


class LoadBalancerController(HelmAddon):
    """The AWS Load Balancer Controller: provisions the internal NLBs of LoadBalancer Services."""

    chart = addons.LOAD_BALANCER_CONTROLLER
    type_token = "picturesocial:infra:LoadBalancerController"
    role_name = "load-balancer-controller"

    def values(self, context: ClusterContext, role: aws.iam.Role | None) -> dict:
        assert role is not None
        return {
            # Passed explicitly: with IMDS hop limit 1 the pods cannot look them up themselves.
            "clusterName": context.names.cluster,
            "region": context.environment.region,
            "vpcId": context.vpc_id,
            "replicaCount": 2,
            "serviceAccount": {
                "create": True,
                "name": self.chart.service_account,
                "annotations": {"eks.amazonaws.com/role-arn": role.arn},
            },
            "podDisruptionBudget": {"maxUnavailable": 1},
            # The webhook gives every new LoadBalancer Service without a class this controller's class
            # (service.k8s.aws/nlb, internal by default). Without it such a Service falls to the in-tree cloud
            # provider, which makes an internet-facing classic ELB in the public subnets. The policy
            # load-balancer-services-nlb-class refuses a class-less Service before it gets that far.
            "enableServiceMutatorWebhook": True,
            # Gateway API support is on by default since v3.2.0; this platform installs no Gateway API CRDs
            # and exposes Services only.
            "controllerConfig": {"featureGates": {"NLBGatewayAPI": False, "ALBGatewayAPI": False}},
        }


@dataclass(frozen=True)
class Addons:
    coredns: aws.eks.Addon
    load_balancer_controller: k8s.helm.v3.Release


def cluster_addons(settings: ClusterSettings, context: ClusterContext) -> Addons:
    """Every add-on that runs on the nodes, each after what it needs."""
    on_cluster = context.on_cluster
    node_addons = NodeAddons(
        "node-addons",
        settings,
        context,
        opts=pulumi.ResourceOptions(providers=[context.environment.aws_provider]),
    )
    # Pods need nodes; the releases' webhooks and AWS SDKs also need cluster DNS.
    running = [*context.compute, node_addons.coredns]
    MetricsServer("metrics-server", context, needs=running, opts=on_cluster)
    controller = LoadBalancerController("load-balancer-controller", context, needs=running, opts=on_cluster)
    return Addons(coredns=node_addons.coredns, load_balancer_controller=controller.release)
