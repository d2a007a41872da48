"""preflight and smoke against moto (in-process AWS emulation): no credentials, no network to AWS.
Where moto does not emulate an API (EKS add-ons, ECR scan findings), that single call is stubbed with
botocore's Stubber on the client the check uses for it."""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import os
import threading
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from conftest import FIXTURE, fixture_config, offline_aws
from moto import mock_aws

from tools import preflight as preflight_tool
from tools import smoke as smoke_tool
from tools.ops import Aws, load_settings

# The fixture project's small stack (tests/fixtures/project): account, region, cluster name, APIs and tags.
DEV_ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER = "picturesocial-small"
TAGS = {"greeter": "2.0.0", "photos": "3.1.0", "thumbs": "0.9.0"}


# The images of the fixture's pinned alias (al2023@v20261112, amd64) for its Kubernetes version.
AL2023_AMI = (
    "/aws/service/eks/optimized-ami/1.36/amazon-linux-2023/x86_64/standard/"
    "amazon-eks-node-al2023-x86_64-standard-1.36-v20261112/image_id"
)
AMIS = {AL2023_AMI: "ami-0a1b2c3d4e5f60789"}


class WithAnswers:
    """A moto client with the answers of the calls moto does not emulate; every other call goes to moto."""

    def __init__(self, client, answers):
        self._client, self._answers = client, answers

    def __getattr__(self, name):
        return self._answers.get(name) or getattr(self._client, name)


class PublicParameters:
    """GetParameter over a fixed set of public parameters, answering as SSM does for a missing one."""

    values: dict[str, str] = {}

    def get_parameter(self, Name):  # noqa: N803 - boto3's argument name
        if Name not in self.values:
            raise ClientError({"Error": {"Code": "ParameterNotFound", "Message": Name}}, "GetParameter")
        return {"Parameter": {"Name": Name, "Type": "String", "Value": self.values[Name]}}


PUBLIC_PARAMETERS = PublicParameters()


def settings_of(config_file=None):
    return load_settings("small", config_file, FIXTURE)


@pytest.fixture
def cloud(monkeypatch, tmp_path, fixture_graphs):
    offline_aws(monkeypatch)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", DEV_ACCOUNT)
    # moto fills every new EC2 backend with its catalogue of public AMIs: most of a test's time, and nothing
    # here reads an AMI.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    # A working AWS CLI v2 on the PATH (the kubeconfig runs `aws eks get-token`), and nothing else of the
    # host's.
    monkeypatch.setenv(
        "PATH", str(fake_aws_cli(tmp_path, "aws-cli/2.36.24 Python/3.13.7 Linux/6.8 exe/x86_64"))
    )
    # The stack's offline synth that preflight counts quotas on: the session's synth of the same fixture stack
    # (conftest), rather than one more synth per test.
    monkeypatch.setattr(preflight_tool, "stack_graph", lambda args, config: fixture_graphs["small"])
    # Two calls moto does not emulate: ListServiceQuotas (nothing applied: every quota at its default) and
    # DescribeAddonConfiguration (a schema that admits any object).
    answers = {
        "service-quotas": {"list_service_quotas": lambda **_: {"Quotas": []}},
        "eks": {"describe_addon_configuration": lambda **_: {"configurationSchema": '{"type": "object"}'}},
    }
    # SSM's public /aws/service parameters (the AMI behind each pinned alias): moto will not let a test
    # write those names, so the tools get a stand-in for that one client.
    real_client = Aws.client
    monkeypatch.setattr(
        Aws,
        "client",
        lambda self, service: (
            PUBLIC_PARAMETERS
            if service == "ssm"
            else WithAnswers(real_client(self, service), answers.get(service, {}))
        ),
    )
    PUBLIC_PARAMETERS.values = dict(AMIS)
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        # The account already runs spot capacity: its EC2 Spot service-linked role exists.
        iam.create_role(
            RoleName="AWSServiceRoleForEC2Spot",
            Path="/aws-service-role/spot.amazonaws.com/",
            AssumeRolePolicyDocument="{}",
        )
        # The bootstrap ran: its runner's Elastic IP, which the endpoint admits (picturesocial:ci.runner).
        boto3.client("ec2", region_name=REGION).allocate_address(
            Domain="vpc",
            TagSpecifications=[
                {
                    "ResourceType": "elastic-ip",
                    "Tags": [{"Key": "Name", "Value": "picturesocial-runner-small-egress"}],
                }
            ],
        )
        # As the workflows run it: with the deploy role's credentials (picturesocial:ci.deployRoleArn).
        iam.create_role(RoleName="picturesocial-deploy", AssumeRolePolicyDocument="{}")
        credentials = boto3.client("sts", region_name=REGION).assume_role(
            RoleArn=f"arn:aws:iam::{DEV_ACCOUNT}:role/picturesocial-deploy", RoleSessionName="deploy"
        )["Credentials"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
        monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
        yield boto3.Session(region_name=REGION)


def fake_aws_cli(directory, version_line: str | None):
    """A directory holding an `aws` that answers --version like the real one (or no `aws` at all)."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    if version_line is not None:
        script = bin_dir / "aws"
        script.write_text(f"#!/bin/sh\necho '{version_line}'\n")
        script.chmod(0o755)
    return bin_dir


def push(session, api, tag):
    ecr = session.client("ecr")
    repo = f"{CLUSTER}/{api}"
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repo, imageTagMutability="IMMUTABLE")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1,
                "digest": f"sha256:{api}{tag}",
            },
            "layers": [],
        }
    )
    return ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)["image"]["imageId"][
        "imageDigest"
    ]


def push_all(session):
    return {api: push(session, api, tag) for api, tag in TAGS.items()}


def run_preflight(session, config_file=None):
    config = settings_of(config_file)
    args = argparse.Namespace(pin=False, config=config_file, project=FIXTURE)
    return preflight_tool.preflight(args, Aws(session=session, region=config.stack.region), config)


def preflight_check(session, check, config_file=None):
    """One check of preflight, as preflight runs it: ``check(report, aws, config)``."""
    config = settings_of(config_file)
    report = smoke_tool.Report("preflight small")
    check(report, Aws(session=session, region=config.stack.region), config)
    return report


IDENTITY, IMAGES, QUOTAS = (
    preflight_tool.check_identity,
    preflight_tool.check_images,
    preflight_tool.check_quotas,
)


def karpenter_checks(report, aws, config):
    preflight_tool.check_karpenter(report, aws.client("iam"), aws.client("ssm"), config)


# -- preflight ---------------------------------------------------------------------------------------


def test_preflight_passes_when_everything_is_in_place(cloud, capsys):
    push_all(cloud)
    assert preflight_tool.main(["small", "--project", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert "ok: 0 failed" in out
    report = run_preflight(cloud)
    for check in (
        "credentials",
        "deploy identity",
        "account",
        "region",
        "AWS CLI",
        "runner address",
        "image greeter:2.0.0",
        "image photos:3.1.0",
        "image thumbs:0.9.0",
        "quota: NAT gateways per AZ",
    ):
        assert report.status(check) == "pass", check
    # moto has no EC2 Elastic IP quota: the documented fallback says so.
    assert report.status("quota: Elastic IPs") == "warn"
    assert "EC2 default" in {r[0]: r[2] for r in report.rows}["quota: Elastic IPs"]


def test_preflight_fails_without_the_bootstrap_runners_address(cloud):
    ec2 = cloud.client("ec2")
    for address in ec2.describe_addresses()["Addresses"]:
        ec2.release_address(AllocationId=address["AllocationId"])
    report = preflight_check(cloud, preflight_tool.check_runner_address)
    assert report.status("runner address") == "fail"
    detail = {r[0]: r[2] for r in report.rows}["runner address"]
    assert detail.startswith("no Elastic IP tagged Name=picturesocial-runner-small-egress: ")


def test_another_identity_than_the_deploy_role_fails(cloud, monkeypatch):
    # Whoever creates the cluster is its admin for good: an operator's own credentials must not run `pulumi
    # up`.
    boto3.client("iam", region_name=REGION).create_role(RoleName="operator", AssumeRolePolicyDocument="{}")
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{DEV_ACCOUNT}:role/operator", RoleSessionName="me"
    )["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        region_name=REGION,
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    report = run_preflight(session)
    assert report.status("deploy identity") == "fail"
    assert {r[0]: r[2] for r in report.rows}["deploy identity"] == (
        f"running as arn:aws:iam::{DEV_ACCOUNT}:role/operator; `pulumi up` must run as "
        f"arn:aws:iam::{DEV_ACCOUNT}:role/picturesocial-deploy (picturesocial:ci.deployRoleArn)"
    )


@pytest.mark.parametrize(
    "version_line, status",
    [(None, "fail"), ("aws-cli/1.45.55 Python/3.11", "fail"), ("aws-cli/2.36.24 Python/3.13.7", "pass")],
)
def test_the_aws_cli_the_kubeconfig_needs_is_checked(cloud, monkeypatch, tmp_path, version_line, status):
    monkeypatch.setenv("PATH", str(fake_aws_cli(tmp_path / "other", version_line)))
    assert (
        preflight_check(cloud, lambda report, aws, config: preflight_tool.check_aws_cli(report)).status(
            "AWS CLI"
        )
        == status
    )


def test_wrong_account_fails(cloud, monkeypatch):
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    report = preflight_check(cloud, IDENTITY)
    assert report.status("account") == "fail" and report.failed


def test_wrong_region_fails(cloud):
    push_all(cloud)
    config = settings_of()
    session = boto3.Session(region_name="eu-west-1")
    report = preflight_tool.preflight(
        argparse.Namespace(pin=False, config=None, project=FIXTURE), Aws(session, config.stack.region), config
    )
    assert report.status("region") == "fail"
    assert report.status("image photos:3.1.0") == "pass"  # calls still go to the stack's region


def test_a_tag_that_was_never_pushed_fails(cloud):
    push(cloud, "greeter", "2.0.0")
    push(cloud, "thumbs", "0.9.0")
    push(cloud, "photos", "3.0.0")
    report = preflight_check(cloud, IMAGES)
    assert report.status("image photos:3.1.0") == "fail"
    assert report.status("image greeter:2.0.0") == "pass"


def test_a_digest_that_does_not_match_the_tag_fails(cloud, write_stack):
    push_all(cloud)
    wrong = "sha256:" + "0" * 64
    apis = {**fixture_config("small")["picturesocial:apis"], "photos": {"tag": "3.1.0", "digest": wrong}}
    report = preflight_check(cloud, IMAGES, config_file=write_stack({"picturesocial:apis": apis}))
    assert report.status("image photos:3.1.0") == "fail"
    assert wrong in {r[0]: r[2] for r in report.rows}["image photos:3.1.0"]


def test_a_missing_repository_is_reported_as_created_by_this_deployment(cloud):
    push(cloud, "greeter", "2.0.0")
    report = preflight_check(cloud, IMAGES)
    assert report.status("image photos:3.1.0") == "warn"
    assert "created by this deployment" in {r[0]: r[2] for r in report.rows}["image photos:3.1.0"]


@pytest.mark.parametrize("others, status", [(4, "warn"), (5, "fail")])
def test_elastic_ip_headroom_at_the_exact_limit(cloud, others, status):
    # small needs one address (one NAT); the default quota is 5 (moto has no Service Quotas value: "warn" is
    # the documented fallback's pass). 4 + 1 = 5 fits exactly, 5 + 1 does not. The bootstrap runner's address
    # (the fixture allocates it) is one of the others.
    ec2 = cloud.client("ec2")
    for _ in range(others - 1):
        ec2.allocate_address(Domain="vpc")
    report = preflight_check(cloud, QUOTAS)
    assert report.status("quota: Elastic IPs") == status
    assert {r[0]: r[2] for r in report.rows}["quota: Elastic IPs"].startswith(
        f"{others} in use by others + 1 for NAT <= 5?"
    )


@pytest.mark.parametrize("others, status", [(4, "pass"), (5, "fail")])
def test_nat_gateway_headroom_per_zone_at_the_exact_limit(cloud, others, status):
    ec2 = cloud.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.99.0.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]
    for _ in range(others):
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        ec2.create_nat_gateway(SubnetId=subnet["SubnetId"], AllocationId=allocation)
    report = preflight_check(cloud, QUOTAS)
    assert report.status("quota: NAT gateways per AZ") == status


def test_the_stacks_own_elastic_ips_do_not_count_against_it(cloud):
    ec2 = cloud.client("ec2")
    for _ in range(5):
        ec2.allocate_address(
            Domain="vpc",
            TagSpecifications=[
                {
                    "ResourceType": "elastic-ip",
                    "Tags": [
                        {"Key": "project", "Value": "picturesocial"},
                        {"Key": "environment", "Value": "small"},
                    ],
                }
            ],
        )
    assert (
        preflight_check(cloud, QUOTAS).status("quota: Elastic IPs") == "warn"
    )  # passes, with the fallback note


def test_pin_writes_digests_and_keeps_comments(cloud, tmp_path, capsys):
    digests = push_all(cloud)
    path = tmp_path / "Pulumi.small.yaml"
    original = (FIXTURE / "Pulumi.small.yaml").read_text()
    path.write_text(original)
    assert preflight_tool.main(["small", "--project", str(FIXTURE), "--config", str(path), "--pin"]) == 0
    text = path.read_text()
    assert text.splitlines()[0] == original.splitlines()[0] and text.splitlines()[0].startswith(
        "# A dev-shaped"
    )
    config = settings_of(path)
    assert {name: api.digest for name, api in config.apis.items()} == digests
    # Nothing but the three digests changed.
    changed = [line for line in text.splitlines() if line not in original.splitlines()]
    assert len(changed) == 3 and all("digest" in line for line in changed)


def test_without_credentials_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for tool in (preflight_tool, smoke_tool):
        # The command's own entry point (`python -m tools.<tool>` calls it): an exception would fail here too.
        assert tool.main(["small", "--project", str(FIXTURE)]) == 1, tool.__name__
        out, err = capsys.readouterr()
        assert err.startswith("error: no usable AWS credentials") and err.count("\n") == 1, err
        assert "Traceback" not in err and out == ""


# -- smoke ---------------------------------------------------------------------------------------------


APPLICATION_LOGS = f"/aws/containerinsights/{CLUSTER}/application"


def ship_container_log(session, minutes_ago: float) -> None:
    logs = session.client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix=APPLICATION_LOGS)["logGroups"]:
        logs.create_log_group(logGroupName=APPLICATION_LOGS)
        logs.create_log_stream(logGroupName=APPLICATION_LOGS, logStreamName="fluent-bit")
    at = int((time.time() - minutes_ago * 60) * 1000)
    logs.put_log_events(
        logGroupName=APPLICATION_LOGS,
        logStreamName="fluent-bit",
        logEvents=[{"timestamp": at, "message": "ok"}],
    )


def deploy_cluster(session, version="1.36", nodes=2, log_minutes_ago=1.0):
    ship_container_log(session, log_minutes_ago)
    # The stack's HTTP API: moto gives it an execute-api address nothing answers on (smoke skips the routes).
    session.client("apigatewayv2").create_api(Name=CLUSTER, ProtocolType="HTTP")
    eks = session.client("eks")
    eks.create_cluster(
        name=CLUSTER,
        version=version,
        roleArn=f"arn:aws:iam::{DEV_ACCOUNT}:role/eks",
        resourcesVpcConfig={"subnetIds": []},
    )
    nodegroup = eks.create_nodegroup(
        clusterName=CLUSTER,
        nodegroupName="general-abc1234",
        nodeRole=f"arn:aws:iam::{DEV_ACCOUNT}:role/node",
        subnets=["subnet-1"],
        scalingConfig={"minSize": 2, "maxSize": 4, "desiredSize": 2},
    )["nodegroup"]
    autoscaling = session.client("autoscaling")
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="nodes", ImageId="ami-12c6146b", InstanceType="t3.medium"
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=nodegroup["resources"]["autoScalingGroups"][0]["name"],
        LaunchConfigurationName="nodes",
        MinSize=nodes,
        MaxSize=4,
        DesiredCapacity=nodes,
        AvailabilityZones=[f"{REGION}a"],
    )


def stubbed_addons(session, status="ACTIVE"):
    """moto does not emulate DescribeAddon: stub exactly that call."""
    client = session.client("eks")
    stub = Stubber(client)
    pinned = {
        "vpc-cni": "v1.23.2-eksbuild.1",
        "kube-proxy": "v1.36.0-eksbuild.45",
        "coredns": "v1.14.7-eksbuild.11",
        "amazon-cloudwatch-observability": "v6.7.0-eksbuild.1",
    }
    for addon in pinned:
        stub.add_response(
            "describe_addon",
            {
                "addon": {
                    "addonName": addon,
                    "clusterName": CLUSTER,
                    "status": status,
                    "addonVersion": pinned[addon],
                }
            },
            {"clusterName": CLUSTER, "addonName": addon},
        )
    stub.activate()
    return client


def stubbed_scans(session, counts):
    """moto does not emulate ECR scan findings: stub exactly DescribeImageScanFindings."""
    client = session.client("ecr")
    stub = Stubber(client)
    for api, tag in TAGS.items():
        stub.add_response(
            "describe_image_scan_findings",
            {"imageScanFindings": {"findingSeverityCounts": counts.get(api, {})}},
            {"repositoryName": f"{CLUSTER}/{api}", "imageId": {"imageTag": tag}},
        )
    stub.activate()
    return client


# Where smoke calls the public routes in these tests: a loopback port nothing listens on, so no test reaches
# the internet (test_smoke_finds_the_edge_by_the_stacks_http_api_name checks the discovery itself).
NO_EDGE = "http://127.0.0.1:9"


def run_smoke(session, *, addon_status="ACTIVE", counts=None, edge_url=NO_EDGE):
    config = settings_of()
    clients = smoke_tool.Clients(
        eks=session.client("eks"),
        addons=stubbed_addons(session, addon_status),
        scans=stubbed_scans(session, counts or {}),
        autoscaling=session.client("autoscaling"),
        logs=session.client("logs"),
        apigateway=session.client("apigatewayv2"),
    )
    args = argparse.Namespace(kubeconfig=None, edge_url=edge_url)
    return smoke_tool.smoke(args, Aws(session, REGION), config, clients)


def test_smoke_passes_on_a_healthy_deployment(cloud, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    deploy_cluster(cloud)
    report = run_smoke(cloud)
    assert not report.failed, report.rows
    for check in ("cluster", "node group general", "add-on coredns", "scan photos:3.1.0"):
        assert report.status(check) == "pass", check
    assert report.status("deployments") == "skip"


def test_a_node_group_that_is_not_active_fails(cloud):
    deploy_cluster(cloud)
    # moto always reports ACTIVE and has no API to degrade a node group: set its status in the emulator.
    from moto.eks.models import eks_backends

    eks_backends[DEV_ACCOUNT][REGION].clusters[CLUSTER].nodegroups["general-abc1234"].status = "DEGRADED"
    report = run_smoke(cloud)
    assert report.status("node group general") == "fail"


def test_too_few_nodes_fail(cloud):
    deploy_cluster(cloud, nodes=1)
    assert run_smoke(cloud).status("node group general") == "fail"


def test_a_cluster_at_another_version_fails(cloud):
    deploy_cluster(cloud, version="1.35")
    assert run_smoke(cloud).status("cluster") == "fail"


def test_container_logs_from_the_last_15_minutes_pass(cloud):
    deploy_cluster(cloud, log_minutes_ago=14)
    assert run_smoke(cloud).status("container logs") == "pass"


def test_container_logs_older_than_15_minutes_warn(cloud):
    deploy_cluster(cloud, log_minutes_ago=16)
    report = run_smoke(cloud)
    assert report.status("container logs") == "warn" and not report.failed


def test_a_missing_application_log_group_fails(cloud):
    deploy_cluster(cloud)
    cloud.client("logs").delete_log_group(logGroupName=APPLICATION_LOGS)
    assert run_smoke(cloud).status("container logs") == "fail"


def test_a_degraded_addon_fails(cloud):
    deploy_cluster(cloud)
    assert run_smoke(cloud, addon_status="DEGRADED").status("add-on vpc-cni") == "fail"


def test_critical_findings_fail_and_high_findings_warn(cloud):
    deploy_cluster(cloud)
    report = run_smoke(cloud, counts={"photos": {"CRITICAL": 2, "HIGH": 1}, "greeter": {"HIGH": 3}})
    assert report.status("scan photos:3.1.0") == "fail"
    assert report.status("scan greeter:2.0.0") == "warn"
    assert report.status("scan thumbs:0.9.0") == "pass"


# -- smoke's Deployment check, against a stand-in Kubernetes API server -------------------------------------


class FakeKubernetes(http.server.BaseHTTPRequestHandler):
    """Answers GET .../namespaces/<ns>/deployments/<name> from ``available`` ({(ns, name): replicas}), as the
    API server would (404 for a Deployment that does not exist)."""

    available: dict[tuple[str, str], int] = {}
    ready_pools: dict[str, bool] = {}

    def do_GET(self):  # noqa: N802 - the http.server interface
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts[:4] == ["apis", "karpenter.sh", "v1", "nodepools"] and len(parts) == 5:
            return self.node_pool(parts[4])
        key = (parts[4], parts[6]) if len(parts) == 7 and parts[:3] == ["apis", "apps", "v1"] else None
        if key not in self.available:
            self.send_response(404)
            self.end_headers()
            return
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"namespace": key[0], "name": key[1]},
            "spec": {"selector": {"matchLabels": {}}, "template": {}},
            "status": {"availableReplicas": self.available[key]},
        }
        self.send_json(body)

    def node_pool(self, name):
        if name not in self.ready_pools:
            self.send_response(404)
            self.end_headers()
            return
        status = "True" if self.ready_pools[name] else "False"
        body = {
            "apiVersion": "karpenter.sh/v1",
            "kind": "NodePool",
            "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": status, "reason": "NodeClassNotReady"}]},
        }
        self.send_json(body)

    def send_json(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def kubernetes_api(tmp_path):
    """A stand-in API server on loopback, and a kubeconfig pointing at it; set
    ``FakeKubernetes.available``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeKubernetes)
    # shutdown() waits for serve_forever's next poll: 0.5 s by default, 0.01 s here, at every teardown.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "fake",
                "clusters": [
                    {"name": "fake", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}
                ],
                "users": [{"name": "fake", "user": {"token": "fake"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            }
        )
    )
    yield kubeconfig
    server.shutdown()


def deployments_report(kubeconfig):
    report = smoke_tool.Report("smoke small")
    smoke_tool.check_deployments(report, str(kubeconfig), settings_of())
    return {check: (status, detail) for check, status, detail in report.rows}


def test_smoke_passes_when_every_deployment_has_its_minimum_available(kubernetes_api, monkeypatch):
    monkeypatch.setattr(
        FakeKubernetes, "available", {("front", "greeter"): 2, ("media", "photos"): 3, ("media", "thumbs"): 2}
    )
    rows = deployments_report(kubernetes_api)
    assert rows == {
        "deployment front/greeter": ("pass", "2 available (minimum 2)"),
        "deployment media/photos": ("pass", "3 available (minimum 2)"),
        "deployment media/thumbs": ("pass", "2 available (minimum 2)"),
    }


def test_smoke_fails_a_deployment_below_its_minimum_or_missing(kubernetes_api, monkeypatch):
    monkeypatch.setattr(FakeKubernetes, "available", {("front", "greeter"): 1, ("media", "photos"): 2})
    rows = deployments_report(kubernetes_api)
    assert rows["deployment front/greeter"] == ("fail", "1 available (minimum 2)")
    assert rows["deployment media/photos"][0] == "pass"
    assert rows["deployment media/thumbs"][0] == "fail" and "404" in rows["deployment media/thumbs"][1]


# -- smoke's public routes, against a stand-in edge ---------------------------------------------------------


class FakeEdge(http.server.BaseHTTPRequestHandler):
    """Answers like API Gateway in front of the APIs: ``status`` by path prefix, 404 for any other path."""

    status: dict[str, int] = {}
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server interface
        self.seen.append(self.path)
        code = next((code for prefix, code in self.status.items() if self.path.startswith(prefix)), 404)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def edge():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeEdge)
    # shutdown() waits for serve_forever's next poll: 0.5 s by default, 0.01 s here, at every teardown.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    FakeEdge.seen = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def routes_report(base_url, config=None):
    report = smoke_tool.Report("smoke small")
    smoke_tool.check_public_routes(report, base_url, config or settings_of())
    return {check: (status, detail) for check, status, detail in report.rows}


def test_public_routes_pass_when_the_apis_answer_through_the_edge(edge):
    FakeEdge.status = {"/greet/": 200, "/photos": 404}
    rows = routes_report(edge)
    # greeter: its readiness path lies under its public /greet; photos has no HTTP readiness: its first path.
    assert FakeEdge.seen == ["/greet/ready", "/photos"]
    assert rows == {
        "public greeter /greet/ready": ("pass", f"GET {edge}/greet/ready: 200"),
        "public photos /photos": ("pass", f"GET {edge}/photos: 404"),
    }


def test_a_5xx_through_the_edge_fails(edge):
    FakeEdge.status = {"/greet/": 200, "/photos": 503}  # API Gateway: the VPC link or the NLB failed
    assert routes_report(edge)["public photos /photos"] == ("fail", f"GET {edge}/photos: 503")


def test_an_edge_not_reachable_from_here_is_skipped_with_the_reason():
    rows = routes_report("http://127.0.0.1:9")  # the discard port: nothing listens
    assert {status for status, _ in rows.values()} == {"skip"}
    assert "is not reachable from here" in rows["public photos /photos"][1]


def test_a_route_behind_the_jwt_authorizer_is_skipped_not_failed(edge, write_stack):
    config = load_settings(
        "small",
        write_stack(
            {
                "picturesocial:edge": {
                    "throttling": {"burstLimit": 20, "rateLimit": 10},
                    "jwt": {"issuer": "https://issuer.example.com", "audiences": ["web"]},
                }
            }
        ),
        FIXTURE,
    )
    FakeEdge.status = {"/greet/": 401, "/photos": 401}
    rows = routes_report(edge, config)
    assert rows["public photos /photos"] == ("skip", "401 from the JWT authorizer: the route needs a token")


def test_smoke_finds_the_edge_by_the_stacks_http_api_name(cloud, monkeypatch):
    deploy_cluster(cloud)
    called = []

    def offline(request, timeout):  # no request leaves the machine: record where it would go
        called.append(request.full_url)
        raise smoke_tool.urllib.error.URLError("offline")

    monkeypatch.setattr(smoke_tool.urllib.request, "urlopen", offline)
    endpoint = cloud.client("apigatewayv2").get_apis()["Items"][0]["ApiEndpoint"]
    rows = {check: (status, detail) for check, status, detail in run_smoke(cloud, edge_url=None).rows}
    assert called == [f"{endpoint}/greet/ready", f"{endpoint}/photos"]
    assert rows["public greeter /greet/ready"] == (
        "skip",
        f"{endpoint}/greet/ready is not reachable from here (offline)",
    )


# -- Karpenter around a deployment ----------------------------------------------------------------------


def karpenter_report(kubeconfig):
    report = smoke_tool.Report("smoke small")
    smoke_tool.check_karpenter(report, str(kubeconfig), settings_of())
    return {check: (status, detail) for check, status, detail in report.rows}


def test_smoke_passes_karpenter_when_both_replicas_run_and_every_pool_is_ready(kubernetes_api):
    FakeKubernetes.available = {("kube-system", "karpenter"): 2}
    FakeKubernetes.ready_pools = {"default": True}
    assert karpenter_report(kubernetes_api) == {
        "karpenter controller": ("pass", "2 of 2 replicas available"),
        "nodepool default": ("pass", "Ready"),
    }


def test_smoke_fails_a_pool_that_is_not_ready_and_warns_on_one_controller_replica(kubernetes_api):
    FakeKubernetes.available = {("kube-system", "karpenter"): 1}
    FakeKubernetes.ready_pools = {"default": False}
    rows = karpenter_report(kubernetes_api)
    assert rows["karpenter controller"] == ("warn", "1 of 2 replicas available")
    assert rows["nodepool default"] == ("fail", "not Ready: NodeClassNotReady")


def test_smoke_fails_a_pool_the_cluster_does_not_have(kubernetes_api):
    FakeKubernetes.available = {("kube-system", "karpenter"): 2}
    FakeKubernetes.ready_pools = {}
    assert karpenter_report(kubernetes_api)["nodepool default"][0] == "fail"


def test_preflight_fails_without_the_spot_service_linked_role_saying_how_to_create_it(cloud):
    cloud.client("iam").delete_role(RoleName="AWSServiceRoleForEC2Spot")
    rows = {
        check: (status, detail) for check, status, detail in preflight_check(cloud, karpenter_checks).rows
    }
    assert rows["spot service-linked role"] == (
        "fail",
        "AWSServiceRoleForEC2Spot is missing; create it once per account: aws iam create-service-linked-role "
        "--aws-service-name spot.amazonaws.com",
    )


def test_preflight_checks_the_pinned_ami_alias_has_an_image_for_the_cluster_version(cloud):
    rows = {
        check: (status, detail) for check, status, detail in preflight_check(cloud, karpenter_checks).rows
    }
    assert rows["ami al2023@v20261112 amd64"] == ("pass", "ami-0a1b2c3d4e5f60789")
    PUBLIC_PARAMETERS.values = {}
    rows = {
        check: (status, detail) for check, status, detail in preflight_check(cloud, karpenter_checks).rows
    }
    assert rows["ami al2023@v20261112 amd64"] == (
        "fail",
        f"no image for Kubernetes 1.36: {AL2023_AMI} not found",
    )


# -- preflight: adjustable quotas against the account, route metrics, the add-on's schema ----------------


def quota_counts(**wanted):
    from settings.aws_quotas import quota
    from tools.offline.quotas import Count

    return [Count(quota(key), count, f"{key} where") for key, count in wanted.items()]


def test_preflight_compares_each_adjustable_quota_with_the_accounts_applied_value():
    client = boto3.client("service-quotas", region_name=REGION)
    stub = Stubber(client)
    # By its code where the data pins one (Routes per API, L-65B5C802): raised to 1000 here.
    stub.add_response(
        "get_service_quota",
        {"Quota": {"QuotaName": "Routes per API", "Value": 1000.0}},
        {"ServiceCode": "apigateway", "QuotaCode": "L-65B5C802"},
    )
    # By its name otherwise: Network Load Balancers per Region applied at 60, the stack needs 102.
    stub.add_response(
        "list_service_quotas",
        {"Quotas": [{"QuotaName": "Network Load Balancers per Region", "Value": 60.0}]},
        {"ServiceCode": "elasticloadbalancing"},
    )
    # Not listed (no applied value): the documented default, as a warning.
    stub.add_response("list_service_quotas", {"Quotas": []}, {"ServiceCode": "events"})
    stub.activate()
    report = smoke_tool.Report("preflight")
    preflight_tool.check_stack_quotas(
        report,
        client,
        quota_counts(
            routes_per_http_api=606,
            network_load_balancers_per_region=102,
            eventbridge_rules_per_bus=5,
            metrics_per_alarm=4,  # a hard limit: the synth's business, no row here
        ),
    )
    rows = {name: (status, detail) for name, status, detail in report.rows}
    assert sorted(rows) == [
        "quota: Network Load Balancers per Region",
        "quota: Routes per API",
        "quota: Rules",
    ]
    assert rows["quota: Routes per API"][0] == "pass" and "606" in rows["quota: Routes per API"][1]
    assert rows["quota: Network Load Balancers per Region"][0] == "fail"
    assert "needs 102" in rows["quota: Network Load Balancers per Region"][1]
    assert rows["quota: Rules"][0] == "warn"
    stub.assert_no_pending_responses()


def route_metric_clients(metrics, apis=({"Name": "picturesocial-small", "ApiId": "abc123"},)):
    apigateway = boto3.client("apigatewayv2", region_name=REGION)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    api_stub, metric_stub = Stubber(apigateway), Stubber(cloudwatch)
    api_stub.add_response(
        "get_apis",
        {"Items": [{**a, "ProtocolType": "HTTP", "RouteSelectionExpression": "x"} for a in apis]},
        {},
    )
    if apis:
        metric_stub.add_response(
            "list_metrics",
            {"Metrics": metrics},
            {
                "Namespace": "AWS/ApiGateway",
                "MetricName": "Count",
                "Dimensions": [{"Name": "ApiId", "Value": "abc123"}],
            },
        )
    api_stub.activate()
    metric_stub.activate()
    return apigateway, cloudwatch


def route_metric_row(metrics, **kwargs):
    report = smoke_tool.Report("preflight")
    apigateway, cloudwatch = route_metric_clients(metrics, **kwargs)
    preflight_tool.check_route_metrics(report, apigateway, cloudwatch, settings_of())
    ((_, status, detail),) = report.rows
    return status, detail


def dimensions(*names):
    return [{"Name": name, "Value": "v"} for name in names]


def test_preflight_confirms_the_route_metrics_dimensions_the_alarms_use():
    by_route = {
        "Namespace": "AWS/ApiGateway",
        "MetricName": "Count",
        "Dimensions": dimensions("ApiId", "Stage", "Route"),
    }
    by_stage = {
        "Namespace": "AWS/ApiGateway",
        "MetricName": "Count",
        "Dimensions": dimensions("ApiId", "Stage"),
    }
    assert route_metric_row([by_stage, by_route])[0] == "pass"
    status, detail = route_metric_row([by_stage])
    assert status == "fail" and "ApiId, Stage]" in detail
    # Before any traffic ListMetrics is empty: said so, not passed.
    status, detail = route_metric_row([])
    assert status == "warn" and "empty before traffic" in detail
    status, detail = route_metric_row([], apis=())
    assert status == "warn" and "after the first deployment" in detail


def addon_configuration_row(schema):
    eks = boto3.client("eks", region_name=REGION)
    stub = Stubber(eks)
    stub.add_response(
        "describe_addon_configuration",
        {
            "addonName": "amazon-cloudwatch-observability",
            "addonVersion": "v",
            "configurationSchema": json.dumps(schema),
        },
        {
            "addonName": "amazon-cloudwatch-observability",
            "addonVersion": settings_of().stack.cluster.addons["amazon-cloudwatch-observability"],
        },
    )
    stub.activate()
    report = smoke_tool.Report("preflight")
    preflight_tool.check_addon_configuration(report, eks, settings_of())
    ((_, status, detail),) = report.rows
    return status, detail


def test_preflight_validates_the_cloudwatch_addons_values_against_its_published_schema():
    enabled = {
        "type": "object",
        "properties": {"enabled": {"type": "boolean"}},
        "additionalProperties": False,
    }
    properties = {
        "applicationSignals": enabled,
        "manager": {"type": "object"},
        "containerLogs": enabled,
        "dcgmExporter": enabled,
        "neuronMonitor": enabled,
    }
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": properties,
    }
    assert addon_configuration_row({**schema, "additionalProperties": False})[0] == "pass"
    # One key the add-on's version does not know: EKS would refuse the values.
    without_dcgm = {k: v for k, v in properties.items() if k != "dcgmExporter"}
    status, detail = addon_configuration_row(
        {**schema, "properties": without_dcgm, "additionalProperties": False}
    )
    assert status == "fail" and "dcgmExporter" in detail
    # One value of the wrong type.
    wrong = {**properties, "containerLogs": {"type": "object", "properties": {"enabled": {"type": "string"}}}}
    status, detail = addon_configuration_row({**schema, "properties": wrong})
    assert status == "fail" and "containerLogs/enabled" in detail


def test_preflight_refuses_a_stack_file_still_holding_an_example_account(write_stack):
    config = fixture_config("small")
    (account,) = config["aws:allowedAccountIds"]
    example = json.loads(json.dumps(config).replace(account, "111122223333"))
    path = write_stack(example)
    report = smoke_tool.Report("preflight small")
    preflight_tool.check_placeholders(report, settings_of(path))
    assert [row[:2] for row in report.rows] == [("placeholders", "fail")]
    assert report.rows[0][2].startswith(
        "Pulumi.small.yaml holds the example account 111122223333: run make configure"
    )
    clean = smoke_tool.Report("preflight small")
    preflight_tool.check_placeholders(clean, settings_of())
    assert clean.rows == [("placeholders", "pass", "no example account in the stack file")]


# -- pinned digests: present in this account's repository, scan clean (docs/decisions/0033) ---------------


def pinned_stack(write_stack, digests, severity="HIGH"):
    apis = {api: {"tag": tag, "digest": digests[api]} for api, tag in TAGS.items()}
    registry = {**fixture_config("small")["picturesocial:registry"], "scanBlockSeverity": severity}
    return write_stack({"picturesocial:apis": apis, "picturesocial:registry": registry})


def scan(session, api, tag):
    session.client("ecr").start_image_scan(repositoryName=f"{CLUSTER}/{api}", imageId={"imageTag": tag})


def test_preflight_fails_a_pinned_digest_missing_from_the_target_registry(cloud, write_stack):
    digests = push_all(cloud)
    for api, tag in TAGS.items():
        scan(cloud, api, tag)
    # moto's scan reports one HIGH finding; only a CRITICAL blocks here.
    missing = "sha256:" + "e" * 64
    config = pinned_stack(write_stack, {**digests, "photos": missing}, severity="CRITICAL")
    report = preflight_check(cloud, IMAGES, config)
    rows = {r[0]: (r[1], r[2]) for r in report.rows}
    assert rows["image photos:3.1.0"] == (
        "fail",
        f"{missing} is not in {CLUSTER}/photos of account {DEV_ACCOUNT}: never pushed",
    )
    assert rows["image greeter:2.0.0"][0] == rows["image thumbs:0.9.0"][0] == "pass"
    assert rows["scan greeter:2.0.0"] == ("pass", "nothing at or above CRITICAL")


def test_preflight_fails_a_pinned_image_whose_scan_has_a_finding_at_the_threshold(cloud, write_stack):
    digests = push_all(cloud)
    for api, tag in TAGS.items():
        scan(cloud, api, tag)
    report = preflight_check(cloud, IMAGES, pinned_stack(write_stack, digests, severity="HIGH"))
    rows = {r[0]: (r[1], r[2]) for r in report.rows}
    # moto reports one HIGH finding per scanned image: at the threshold, each pinned image fails.
    for api, tag in TAGS.items():
        assert rows[f"scan {api}:{tag}"] == (
            "fail",
            "1 HIGH at or above HIGH (picturesocial:registry.scanBlockSeverity)",
        )


def test_preflight_fails_a_pinned_image_without_a_scan(cloud, write_stack):
    digests = push_all(cloud)
    scan(cloud, "greeter", "2.0.0")
    scan(cloud, "thumbs", "0.9.0")
    report = preflight_check(cloud, IMAGES, pinned_stack(write_stack, digests, severity="CRITICAL"))
    statuses = {r[0]: r[1] for r in report.rows if r[0].startswith("scan ")}
    assert statuses == {
        "scan greeter:2.0.0": "pass",
        "scan photos:3.1.0": "fail",
        "scan thumbs:0.9.0": "pass",
    }
