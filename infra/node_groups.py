"""EKS managed node groups: one shared node role, one launch template and one node group per entry."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.cluster import Cluster
from infra.context import Environment
from infra.iam_documents import service_may_assume
from infra.network import Network
from settings.models import NodeGroupSettings

# Read-only ECR, the kubelet's EKS permissions, the VPC CNI's ENI management (the add-on runs with the
# node role), and SSM Session Manager instead of SSH.
NODE_POLICIES = {
    "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "cni": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "ecr-read-only": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "ssm": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
}


def root_device(ami_type: str) -> str:
    # Bottlerocket boots from /dev/xvda and keeps images and pods on the data volume /dev/xvdb.
    return "/dev/xvdb" if ami_type.startswith("BOTTLEROCKET") else "/dev/xvda"


class NodeGroups(pulumi.ComponentResource):
    node_role: aws.iam.Role
    groups: dict[str, aws.eks.NodeGroup]

    def __init__(
        self,
        name: str,
        groups: dict[str, NodeGroupSettings],
        environment: Environment,
        *,
        cluster: Cluster,
        network: Network,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:infra:NodeGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster_name, instance_tags = environment.names.cluster, environment.tags
        # Nodes that boot before the control plane, or before their subnet has egress (NAT route or
        # endpoints), never join.
        depends_on = [cluster.cluster, *network.egress]

        self.node_role = aws.iam.Role(
            "node-role",
            assume_role_policy=service_may_assume("ec2.amazonaws.com"),
            permissions_boundary=environment.permissions_boundary,
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"node-role-{key}", role=self.node_role.name, policy_arn=arn, opts=child
            )
            for key, arn in NODE_POLICIES.items()
        ]

        self.groups = {}
        for group_name, group in groups.items():
            template = aws.ec2.LaunchTemplate(
                group_name,
                description=f"{cluster_name} node group {group_name}",
                # IMDSv2 only, hop limit 1: a pod cannot reach the instance metadata and borrow the node
                # role (BPG security/iam). pulumi-eks ManagedNodeGroup hard-codes hop limit 2.
                metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                    http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
                ),
                block_device_mappings=[
                    aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                        device_name=root_device(group.ami_type),
                        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                            volume_size=group.disk_size_gib,
                            volume_type="gp3",
                            encrypted="true",
                            delete_on_termination="true",
                        ),
                    )
                ],
                # Instances and volumes are launched by EKS, not by Pulumi: default tags do not reach them.
                tag_specifications=[
                    aws.ec2.LaunchTemplateTagSpecificationArgs(
                        resource_type=kind, tags={**instance_tags, "Name": f"{cluster_name}-{group_name}"}
                    )
                    for kind in ("instance", "volume")
                ],
                update_default_version=True,
                opts=child,
            )
            self.groups[group_name] = aws.eks.NodeGroup(
                group_name,
                # No node_group_name: auto-naming lets a replacement be created before the old group goes.
                cluster_name=cluster_name,
                version=cluster.kubernetes_version,
                node_role_arn=self.node_role.arn,
                subnet_ids=network.private_subnet_ids,
                instance_types=list(group.instance_types),
                capacity_type=group.capacity_type,
                ami_type=group.ami_type,
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=group.min_size, max_size=group.max_size, desired_size=group.desired
                ),
                # Not exposed by pulumi-eks ManagedNodeGroup (pulumi-eks #1147).
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=group.max_unavailable),
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=template.id, version=template.latest_version.apply(str)
                ),
                labels=dict(group.labels),
                taints=[
                    aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value or None, effect=t.effect)
                    for t in group.taints
                ],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*attachments, *depends_on]),
            )

        self.register_outputs({"nodeRoleArn": self.node_role.arn})
