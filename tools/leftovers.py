"""After `pulumi destroy`: what AWS still holds for the stack's cluster (`make leftovers`).

Everything listed is tagged for the cluster by the controller that made it.

Read-only: every row names the AWS CLI command that removes the object; nothing is deleted here. Exit 1 while
anything is left (it keeps costing money, and a VPC holding it cannot be deleted), 0 when the account is
clean. What each controller tags, read in its source (2026-12-03):

- AWS Load Balancer Controller: NLBs, target groups and its security groups carry
  ``elbv2.k8s.aws/cluster: <cluster>`` and ``service.k8s.aws/stack: <namespace>/<service>``
  (kubernetes-sigs/aws-load-balancer-controller pkg/shared_constants/tag_keys.go TagKeyK8sCluster,
  pkg/deploy/tracking/provider.go StackTags); the in-tree cloud provider tags what it makes
  ``kubernetes.io/cluster/<cluster>``.
- Karpenter: instances (and the volumes and network interfaces launched with them) carry
  ``kubernetes.io/cluster/<cluster>: owned``, ``eks:eks-cluster-name: <cluster>``,
  ``karpenter.sh/nodepool`` and ``karpenter.k8s.aws/ec2nodeclass`` (aws/karpenter-provider-aws
  pkg/utils/utils.go GetTags); its instance profiles the same cluster tags (pkg/apis/v1/ec2nodeclass.go
  InstanceProfileTags); its launch templates are found by ``eks:eks-cluster-name``
  (pkg/providers/launchtemplate/launchtemplate.go).
- Amazon VPC CNI: the network interfaces it creates carry ``cluster.k8s.amazonaws.com/name: <cluster>``
  (aws/amazon-vpc-cni-k8s pkg/awsutils/awsutils.go eniClusterTagKey).
- EBS CSI driver: volumes carry ``kubernetes.io/cluster/<cluster>: owned`` and ``KubernetesCluster:
  <cluster>`` when given the cluster id (kubernetes-sigs/aws-ebs-csi-driver pkg/driver/constants.go,
  controller.go).
- EKS and Container Insights write their logs to ``/aws/eks/<cluster>/`` and
  ``/aws/containerinsights/<cluster>/`` and create those groups again when they are gone.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import settings
from tools.ops import Aws, Report, main_for


@dataclass(frozen=True)
class Leftover:
    kind: str
    name: str
    remove: str  # the AWS CLI command that removes it


def cluster_tags(cluster: str) -> Callable[[dict[str, str]], bool]:
    """Whether a resource's tags (a dict) say it was made for ``cluster`` by one of the controllers."""

    def tagged(tags: dict[str, str]) -> bool:
        return (
            tags.get("elbv2.k8s.aws/cluster") == cluster
            or f"kubernetes.io/cluster/{cluster}" in tags
            or tags.get("eks:eks-cluster-name") == cluster
            or tags.get("cluster.k8s.amazonaws.com/name") == cluster
            or tags.get("KubernetesCluster") == cluster
        )

    return tagged


def _tags(pairs: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in pairs or []}


def _pages(client, operation: str, key: str, **kwargs) -> Iterator[dict]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def load_balancing(aws: Aws, tagged, region: str) -> Iterator[Leftover]:
    elbv2 = aws.client("elbv2")
    kinds = (
        (
            "load balancer",
            "describe_load_balancers",
            "LoadBalancers",
            "LoadBalancerArn",
            "delete-load-balancer",
        ),
        ("target group", "describe_target_groups", "TargetGroups", "TargetGroupArn", "delete-target-group"),
    )
    for kind, operation, key, arn_key, command in kinds:
        arns = [item[arn_key] for item in _pages(elbv2, operation, key)]
        for start in range(0, len(arns), 20):  # DescribeTags takes up to 20 ARNs
            for description in elbv2.describe_tags(ResourceArns=arns[start : start + 20])["TagDescriptions"]:
                if tagged(_tags(description.get("Tags"))):
                    arn = description["ResourceArn"]
                    option = "--load-balancer-arn" if kind == "load balancer" else "--target-group-arn"
                    yield Leftover(kind, arn, f"aws elbv2 {command} {option} {arn} --region {region}")


def compute(aws: Aws, tagged, region: str) -> Iterator[Leftover]:
    ec2 = aws.client("ec2")
    gone = {"terminated", "shutting-down"}
    for reservation in _pages(ec2, "describe_instances", "Reservations"):
        for instance in reservation["Instances"]:
            if instance["State"]["Name"] not in gone and tagged(_tags(instance.get("Tags"))):
                iid = instance["InstanceId"]
                yield Leftover(
                    "instance", iid, f"aws ec2 terminate-instances --instance-ids {iid} --region {region}"
                )
    for kind, operation, key, tag_key, id_key, name_key, delete in _EC2_OBJECTS:
        for item in _pages(ec2, operation, key):
            if tagged(_tags(item.get(tag_key))):
                shown = f"{item[id_key]} ({item.get(name_key, '?')})" if name_key else item[id_key]
                yield Leftover(kind, shown, f"aws ec2 {delete} {item[id_key]} --region {region}")


# The EC2 objects a controller creates and tags for the cluster, besides instances: (kind, Describe*
# operation, its result key, its tags key, the id, a name to show next to it, the CLI command deleting one).
_EC2_OBJECTS = (
    (
        "launch template",
        "describe_launch_templates",
        "LaunchTemplates",
        "Tags",
        "LaunchTemplateId",
        "LaunchTemplateName",
        "delete-launch-template --launch-template-id",
    ),
    (
        "network interface",
        "describe_network_interfaces",
        "NetworkInterfaces",
        "TagSet",
        "NetworkInterfaceId",
        "Status",
        "delete-network-interface --network-interface-id",
    ),
    (
        "security group",
        "describe_security_groups",
        "SecurityGroups",
        "Tags",
        "GroupId",
        "GroupName",
        "delete-security-group --group-id",
    ),
    ("EBS volume", "describe_volumes", "Volumes", "Tags", "VolumeId", None, "delete-volume --volume-id"),
)


def instance_profiles(aws: Aws, tagged) -> Iterator[Leftover]:
    iam = aws.client("iam")
    for profile in _pages(iam, "list_instance_profiles", "InstanceProfiles"):
        name = profile["InstanceProfileName"]
        # ListInstanceProfiles leaves the tags out; GetInstanceProfile has them (IAM API reference).
        tags = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"].get("Tags")
        if not tagged(_tags(tags)):
            continue
        steps = [
            f"aws iam remove-role-from-instance-profile --instance-profile-name {name} "
            f"--role-name {role['RoleName']}"
            for role in profile.get("Roles", [])
        ]
        steps.append(f"aws iam delete-instance-profile --instance-profile-name {name}")
        yield Leftover("instance profile", name, " && ".join(steps))


def log_groups(aws: Aws, cluster: str, region: str) -> Iterator[Leftover]:
    logs = aws.client("logs")
    for prefix in (f"/aws/eks/{cluster}/", f"/aws/containerinsights/{cluster}/"):
        for group in _pages(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=prefix):
            name = group["logGroupName"]
            yield Leftover(
                "log group", name, f"aws logs delete-log-group --log-group-name {name} --region {region}"
            )


KINDS = (
    "load balancer",
    "target group",
    "security group",
    "network interface",
    "instance",
    "launch template",
    "instance profile",
    "log group",
    "EBS volume",
)


def find(aws: Aws, cluster: str) -> list[Leftover]:
    tagged, region = cluster_tags(cluster), aws.region
    return [
        *load_balancing(aws, tagged, region),
        *compute(aws, tagged, region),
        *instance_profiles(aws, tagged),
        *log_groups(aws, cluster, region),
    ]


def leftovers(_: argparse.Namespace, aws: Aws, config: settings.Settings) -> Report:
    cluster = config.stack.cluster_name
    found = find(aws, cluster)
    report = Report(f"left in {config.stack.allowed_account_ids[0]}/{aws.region} for cluster {cluster}")
    for kind in KINDS:
        mine = [item for item in found if item.kind == kind]
        if not mine:
            report.add(kind, "pass", "none")
        for item in mine:
            report.add(kind, "fail", f"{item.name}: {item.remove}")
    return report


def main(argv: list[str] | None = None) -> int:
    return main_for("leftovers", __doc__.split("\n")[0], leftovers, None, argv)


if __name__ == "__main__":
    raise SystemExit(main())
