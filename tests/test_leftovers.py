"""`make leftovers` against moto: an account holding one leftover of every kind for the fixture's small
cluster (and the same kinds for another cluster, which are not its business), and a clean region."""

from __future__ import annotations

import boto3
import pytest
from conftest import FIXTURE, offline_aws
from moto import mock_aws

from tools import leftovers as leftovers_tool
from tools.ops import Aws, load_settings

ACCOUNT, REGION = "123456789012", "us-east-1"
CLUSTER, OTHER = "picturesocial-small", "someone-elses"  # the fixture small stack's cluster name


def tag_spec(kind: str, tags: dict[str, str]) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def plant(cluster: str, suffix: str) -> dict[str, str]:
    """One object of every kind each controller leaves behind for ``cluster``, tagged as that controller
    tags it (tools/leftovers.py names the sources): what each is called, by kind."""
    ec2 = boto3.client("ec2", region_name=REGION)
    elbv2 = boto3.client("elbv2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]
    lbc = {"elbv2.k8s.aws/cluster": cluster, "service.k8s.aws/stack": "photos/photos-lb"}
    karpenter = {
        f"kubernetes.io/cluster/{cluster}": "owned",
        "eks:eks-cluster-name": cluster,
        "karpenter.sh/nodepool": "default",
        "karpenter.k8s.aws/ec2nodeclass": "al2023",
    }
    group = ec2.create_security_group(
        GroupName=f"k8s-photos-{suffix}",
        Description="lbc",
        VpcId=vpc,
        TagSpecifications=tag_spec("security-group", lbc),
    )["GroupId"]
    balancer = elbv2.create_load_balancer(
        Name=f"k8s-photos-{suffix}",
        Subnets=[subnet["SubnetId"]],
        Type="network",
        Scheme="internal",
        Tags=[{"Key": k, "Value": v} for k, v in lbc.items()],
    )["LoadBalancers"][0]["LoadBalancerArn"]
    target_group = elbv2.create_target_group(
        Name=f"k8s-photos-{suffix}",
        Protocol="TCP",
        Port=8080,
        VpcId=vpc,
        TargetType="ip",
        Tags=[{"Key": k, "Value": v} for k, v in lbc.items()],
    )["TargetGroups"][0]["TargetGroupArn"]
    interface = ec2.create_network_interface(
        SubnetId=subnet["SubnetId"],
        TagSpecifications=tag_spec("network-interface", {"cluster.k8s.amazonaws.com/name": cluster}),
    )["NetworkInterface"]["NetworkInterfaceId"]
    instance = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet["SubnetId"],
        TagSpecifications=tag_spec("instance", karpenter),
    )["Instances"][0]["InstanceId"]
    template = ec2.create_launch_template(
        LaunchTemplateName=f"karpenter.k8s.aws/{suffix}",
        LaunchTemplateData={},
        TagSpecifications=tag_spec("launch-template", karpenter),
    )["LaunchTemplate"]["LaunchTemplateId"]
    volume = ec2.create_volume(
        AvailabilityZone=f"{REGION}a",
        Size=8,
        TagSpecifications=tag_spec(
            "volume", {f"kubernetes.io/cluster/{cluster}": "owned", "KubernetesCluster": cluster}
        ),
    )["VolumeId"]
    profile = f"{cluster}_{suffix}"
    boto3.client("iam", region_name=REGION).create_instance_profile(
        InstanceProfileName=profile, Tags=[{"Key": k, "Value": v} for k, v in karpenter.items()]
    )
    log_group = f"/aws/eks/{cluster}/cluster"
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName=log_group)
    return {
        "load balancer": balancer,
        "target group": target_group,
        "security group": group,
        "network interface": interface,
        "instance": instance,
        "launch template": template,
        "instance profile": profile,
        "log group": log_group,
        "EBS volume": volume,
    }


@pytest.fixture(scope="module")
def account():
    """One moto account for the module: leftovers of the small cluster and of another one in us-east-1."""
    with pytest.MonkeyPatch.context() as mp:
        offline_aws(mp)
        mp.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
        mp.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        with mock_aws():
            planted = plant(CLUSTER, "mine")
            plant(OTHER, "theirs")
            yield planted


def run(stack: str):
    config = load_settings(stack, None, FIXTURE)
    aws = Aws(session=boto3.Session(), region=config.stack.region)
    return leftovers_tool.leftovers(None, aws, config)  # type: ignore[arg-type]


def test_every_planted_leftover_is_found_with_its_removal_command(account):
    report = run("small")
    failed = {(check, detail) for check, status, detail in report.rows if status == "fail"}
    assert report.failed
    for kind, name in account.items():
        (detail,) = [d for check, d in failed if check == kind and name in d]  # exactly once
        assert " aws " in f" {detail}", detail
    assert len(failed) == len(account)  # the other cluster's are not listed
    assert "someone-elses" not in str(report.rows)
    commands = dict(failed)
    assert commands["instance"].endswith(
        f"aws ec2 terminate-instances --instance-ids {account['instance']} --region us-east-1"
    )
    assert commands["instance profile"].endswith(
        f"aws iam delete-instance-profile --instance-profile-name {account['instance profile']}"
    )


def test_the_tool_exits_1_while_anything_is_left_and_0_on_a_clean_account(account, capsys):
    assert leftovers_tool.main(["small", "--project", str(FIXTURE)]) == 1
    # The large stack's cluster lives in eu-west-1, where nothing was planted.
    assert leftovers_tool.main(["large", "--project", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert "FAILED: 9 failed" in out and "ok: 0 failed" in out
