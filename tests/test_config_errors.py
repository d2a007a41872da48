"""A wrong stack config value stops the synth (and `pulumi up`, through the same settings layer) with
one line naming the key path, the value and the rule: exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from conftest import FIXTURE, fixture_config

from tools import ROOT
from tools.synth import main

DEV = fixture_config("small")
GROUP = DEV["picturesocial:nodeGroups"]["general"]
NETWORK = DEV["picturesocial:network"]
CLUSTER = DEV["picturesocial:cluster"]
EDGE = DEV["picturesocial:edge"]
KARPENTER = DEV["picturesocial:karpenter"]
POOL = KARPENTER["nodePools"]["default"]


def pool(**changes):
    return {"picturesocial:karpenter": {**KARPENTER, "nodePools": {"default": {**POOL, **changes}}}}


CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"

CASES = [
    (
        "min-above-max",
        {"picturesocial:nodeGroups": {"general": {**GROUP, "minSize": 5}}},
        "Pulumi.small.yaml: picturesocial:nodeGroups.general.minSize: 5 is greater than maxSize 4",
    ),
    (
        "desired-outside-bounds",
        {"picturesocial:nodeGroups": {"general": {**GROUP, "desiredSize": 9}}},
        "Pulumi.small.yaml: picturesocial:nodeGroups.general.desiredSize: 9 must lie between minSize 2 and maxSize 4",
    ),
    (
        "three-problems-in-one-group-three-lines",
        {
            "picturesocial:nodeGroups": {
                "general": {**GROUP, "minSize": 5, "desiredSize": 9, "labels": {"bad key": "x"}}
            }
        },
        "Pulumi.small.yaml: picturesocial:nodeGroups.general.minSize: 5 is greater than maxSize 4\n"
        "Pulumi.small.yaml: picturesocial:nodeGroups.general.desiredSize: 9 must lie between minSize 5 and maxSize 4\n"
        'Pulumi.small.yaml: picturesocial:nodeGroups.general.labels: "bad key": "x" is not a valid Kubernetes label',
    ),
    (
        "typo-in-top-level-key",
        {"picturesocial:nodeGroup": {"general": GROUP}},
        "Pulumi.small.yaml: picturesocial:nodeGroup: unknown key; did you mean picturesocial:nodeGroups?",
    ),
    (
        "typo-in-nested-key",
        {"picturesocial:cluster": {**CLUSTER, "logRetention": 30}},
        "Pulumi.small.yaml: picturesocial:cluster.logRetention: unknown key; did you mean picturesocial:cluster.logRetentionDays?",
    ),
    (
        "unknown-nat-strategy",
        {"picturesocial:network": {**NETWORK, "natGateways": "double"}},
        'Pulumi.small.yaml: picturesocial:network.natGateways: "double" must be "single" or "perAz"',
    ),
    (
        "too-many-zones",
        {"picturesocial:network": {**NETWORK, "availabilityZones": 9}},
        "Pulumi.small.yaml: picturesocial:network.availabilityZones: 9 must be at most 6",
    ),
    (
        "vpc-too-large",
        {"picturesocial:network": {**NETWORK, "cidr": "10.0.0.0/8"}},
        'Pulumi.small.yaml: picturesocial:network.cidr: "10.0.0.0/8" must have a prefix length between /16 and /22',
    ),
    (
        # a /23 would cut /29 public subnets (infra/network.py: an eighth of the VPC, in eight)
        "vpc-public-subnets-below-28",
        {"picturesocial:network": {**NETWORK, "cidr": "10.0.0.0/23"}},
        'Pulumi.small.yaml: picturesocial:network.cidr: "10.0.0.0/23" would give /29 public subnets; AWS\'s smallest subnet is /28',
    ),
    (
        "vpc-not-a-cidr",
        {"picturesocial:network": {**NETWORK, "cidr": "banana"}},
        'Pulumi.small.yaml: picturesocial:network.cidr: "banana" is not a valid IPv4 network',
    ),
    (
        "vpc-cidr-with-host-bits",
        {"picturesocial:network": {**NETWORK, "cidr": "10.10.0.1/16"}},
        'Pulumi.small.yaml: picturesocial:network.cidr: "10.10.0.1/16" has host bits set; did you mean "10.10.0.0/16"?',
    ),
    (
        "version-unquoted",
        {"picturesocial:cluster": {**CLUSTER, "version": 1.3}},
        'Pulumi.small.yaml: picturesocial:cluster.version: 1.3 is a number in YAML, not a string: quote it ("1.3"); an unquoted 1.30 is '
        "read as 1.3 too",
    ),
    (
        "cluster-name-too-long-for-eks",
        {"picturesocial:cluster": {**CLUSTER, "name": "c" * 101}},
        'Pulumi.small.yaml: picturesocial:cluster.name: the EKS cluster name "'
        + "c" * 101
        + '" is 101 characters long; AWS allows at '
        "most 100 (eks CreateCluster.name in botocore's service model)",
    ),
    (
        "cluster-name-leaves-no-room-for-buckets",
        {"picturesocial:cluster": {**CLUSTER, "name": "c" * 62}},
        'Pulumi.small.yaml: picturesocial:cluster.name: leaves no room for S3 bucket names: "'
        + "c" * 62
        + '-photos" is 69 characters '
        "long; AWS allows at most 63 (s3 CreateBucket.Bucket: S3 user guide, General purpose bucket naming rules; "
        "botocore's model sets no limit)",
    ),
    (
        "kubernetes-version-eks-never-had",
        {"picturesocial:cluster": {**CLUSTER, "version": "1.20"}},
        'Pulumi.small.yaml: picturesocial:cluster.version: "1.20" is not a Kubernetes version of the EKS release calendar: 1.29, '
        "1.30, 1.31, 1.32, 1.33, 1.34, 1.35, 1.36, 1.37 (settings/data/eks_versions.yaml)",
    ),
    (
        # The acceptance case of the support rule: checked on the suite's fixed date, 2026-11-23.
        "kubernetes-version-past-standard-support",
        {"picturesocial:cluster": {**CLUSTER, "version": "1.33"}},
        'Pulumi.small.yaml: picturesocial:cluster.version: "1.33" ended standard support on 2026-07-29; the newest version in '
        'standard support with pinned add-ons is 1.36: upgrade one minor version at a time (README "Upgrading '
        'Kubernetes"), or set picturesocial:cluster.supportType: EXTENDED (until 2027-07-29)',
    ),
    (
        "kubernetes-version-on-extended-support-without-pins",
        {"picturesocial:cluster": {**CLUSTER, "version": "1.33", "supportType": "EXTENDED"}},
        'Pulumi.small.yaml: picturesocial:cluster.version: "1.33" has no pinned add-on versions; this project runs 1.35, 1.36 '
        "(settings/addons.py)",
    ),
    (
        "alarm-email-without-domain",
        {"picturesocial:observability": {"alarmEmails": ["oncall"]}},
        'Pulumi.small.yaml: picturesocial:observability.alarmEmails[0]: "oncall" must be an email address such as oncall@example.com',
    ),
    (
        "container-log-retention-not-a-cloudwatch-period",
        {"picturesocial:observability": {"logRetentionDays": 31}},
        "Pulumi.small.yaml: picturesocial:observability.logRetentionDays: 31 is not a CloudWatch Logs retention period; use one of 1, ",
    ),
    (
        "edge-missing",
        {"picturesocial:edge": None},
        "Pulumi.small.yaml: picturesocial:edge: is required",
    ),
    (
        "edge-without-throttling",
        {"picturesocial:edge": {"accessLogRetentionDays": 30}},
        "Pulumi.small.yaml: picturesocial:edge.throttling: is required",
    ),
    (
        "edge-throttling-not-positive",
        {"picturesocial:edge": {"throttling": {"burstLimit": 0, "rateLimit": 10}}},
        "Pulumi.small.yaml: picturesocial:edge.throttling.burstLimit: 0 must be greater than 0",
    ),
    (
        "edge-access-logs-not-a-cloudwatch-period",
        {"picturesocial:edge": {**EDGE, "accessLogRetentionDays": 10}},
        "Pulumi.small.yaml: picturesocial:edge.accessLogRetentionDays: 10 is not a CloudWatch Logs retention period",
    ),
    (
        "edge-domain-without-its-zone",
        {
            "picturesocial:edge": {
                **EDGE,
                "domain": {"name": "api.example.com", "certificateArn": CERTIFICATE},
            }
        },
        "Pulumi.small.yaml: picturesocial:edge.domain.hostedZoneId: is required",
    ),
    (
        "edge-certificate-in-another-region",
        {
            "picturesocial:edge": {
                **EDGE,
                "domain": {
                    "name": "api.example.com",
                    "certificateArn": CERTIFICATE.replace("us-east-1", "eu-west-1"),
                    "hostedZoneId": "Z0123456789ABCDEFGHIJ",
                },
            }
        },
        'Pulumi.small.yaml: picturesocial:edge.domain.certificateArn: "'
        + CERTIFICATE.replace("us-east-1", "eu-west-1")
        + '" is in '
        "eu-west-1; a regional API Gateway domain needs its certificate in the stack's region us-east-1",
    ),
    (
        "edge-jwt-issuer-not-https",
        {
            "picturesocial:edge": {
                **EDGE,
                "jwt": {"issuer": "http://issuer.example.com", "audiences": ["web"]},
            }
        },
        'Pulumi.small.yaml: picturesocial:edge.jwt.issuer: "http://issuer.example.com" must be an https:// URL',
    ),
    (
        "edge-jwt-without-audiences",
        {"picturesocial:edge": {**EDGE, "jwt": {"issuer": "https://issuer.example.com", "audiences": []}}},
        "Pulumi.small.yaml: picturesocial:edge.jwt.audiences: ",
    ),
    (
        "load-balancer-name-over-32",
        {"picturesocial:cluster": {**CLUSTER, "name": "picturesocial-small-east1"}},
        'workloads/catalog.yaml: apis.greeter: the load balancer name "picturesocial-small-east1-greeter" is 33 '
        "characters long; AWS allows at most 32 (elbv2 CreateLoadBalancer.Name",
    ),
    (
        "karpenter-unknown-capacity-type",
        pool(capacityTypes=["preemptible"]),
        'Pulumi.small.yaml: picturesocial:karpenter.nodePools.default.capacityTypes[0]: "preemptible" must be "spot" or "on-demand"',
    ),
    (
        "karpenter-unknown-instance-category",
        pool(instanceCategories=["q"]),
        'Pulumi.small.yaml: picturesocial:karpenter.nodePools.default.instanceCategories[0]: "q" must be ',
    ),
    (
        "karpenter-limit-not-positive",
        pool(limits={"cpu": "0", "memory": "32Gi"}),
        'Pulumi.small.yaml: picturesocial:karpenter.nodePools.default.limits.cpu: "0" must be positive: a pool without a limit can '
        "grow without end",
    ),
    (
        "karpenter-limit-infinite",
        pool(limits={"cpu": "inf", "memory": "32Gi"}),
        'Pulumi.small.yaml: picturesocial:karpenter.nodePools.default.limits.cpu: "inf" is not a Kubernetes quantity such '
        "as 100 or 400Gi",
    ),
    (
        "karpenter-limit-lowercase-binary-suffix",
        pool(limits={"cpu": "16", "memory": "500mi"}),
        'Pulumi.small.yaml: picturesocial:karpenter.nodePools.default.limits.memory: "500mi" is not a Kubernetes quantity '
        "such as 100 or 400Gi",
    ),
    (
        "karpenter-pool-without-limits",
        pool(limits=None),
        "Pulumi.small.yaml: picturesocial:karpenter.nodePools.default.limits: ",
    ),
    (
        "karpenter-bad-duration",
        pool(consolidateAfter="5 minutes"),
        'Pulumi.small.yaml: picturesocial:karpenter.nodePools.default.consolidateAfter: "5 minutes" must be a duration such as 30s, '
        "5m or 720h, or Never",
    ),
    (
        "karpenter-budget-over-100-percent",
        pool(disruptionBudgets=[{"nodes": "150%"}]),
        'Pulumi.small.yaml: picturesocial:karpenter.nodePools.default.disruptionBudgets[0].nodes: "150%" must be a number of nodes '
        "such as 2, or a percentage from 0% to 100%",
    ),
    (
        "karpenter-budget-schedule-without-duration",
        pool(disruptionBudgets=[{"nodes": "0", "schedule": "@daily"}]),
        "Pulumi.small.yaml: picturesocial:karpenter.nodePools.default.disruptionBudgets[0].schedule: schedule and duration go "
        "together: set both or neither",
    ),
    (
        "karpenter-latest-ami",
        {"picturesocial:karpenter": {**KARPENTER, "amiAliases": {"al2023": "al2023@latest"}}},
        'Pulumi.small.yaml: picturesocial:karpenter.amiAliases: "al2023@latest" is a moving target: pin a release such as '
        "al2023@v20261112",
    ),
    (
        "karpenter-version-too-old-for-the-cluster",
        {"picturesocial:karpenter": {**KARPENTER, "version": "1.12.3"}},
        'Pulumi.small.yaml: picturesocial:karpenter.version: "1.12.3" does not support Kubernetes 1.36',
    ),
    (
        "karpenter-enabled-without-pools",
        {"picturesocial:karpenter": {"enabled": True}},
        "Pulumi.small.yaml: picturesocial:karpenter.nodePools: Karpenter is enabled with no node pool: add one under nodePools",
    ),
    (
        "karpenter-label-in-its-own-domain",
        pool(labels={"karpenter.sh/capacity-type": "spot"}),
        'Pulumi.small.yaml: picturesocial:karpenter.nodePools.default.labels: "karpenter.sh/capacity-type" is a label Karpenter sets',
    ),
    (
        "unknown-support-type",
        {"picturesocial:cluster": {**CLUSTER, "supportType": "standard"}},
        'Pulumi.small.yaml: picturesocial:cluster.supportType: "standard" must be "STANDARD" or "EXTENDED"',
    ),
    (
        "endpoint-open-to-the-internet",
        {"picturesocial:cluster": {**CLUSTER, "endpoint": {"publicCidrs": ["0.0.0.0/0"]}}},
        'Pulumi.small.yaml: picturesocial:cluster.endpoint.publicCidrs[0]: "0.0.0.0/0" opens the API server to the whole internet',
    ),
    (
        "endpoint-fenced-too-widely",
        {"picturesocial:cluster": {**CLUSTER, "endpoint": {"publicCidrs": ["52.0.0.0/8"]}}},
        'Pulumi.small.yaml: picturesocial:cluster.endpoint.publicCidrs[0]: "52.0.0.0/8" opens the API server to a large part of the '
        "internet; list ranges of /16 or narrower",
    ),
    (
        "endpoint-fenced-to-a-documentation-range",
        {
            "picturesocial:cluster": {
                **CLUSTER,
                "endpoint": {"publicCidrs": ["203.0.113.0/24", "198.51.100.7/32"]},
            }
        },
        'Pulumi.small.yaml: picturesocial:cluster.endpoint.publicCidrs[0]: "203.0.113.0/24" is a documentation range (RFC 5737)\n'
        'Pulumi.small.yaml: picturesocial:cluster.endpoint.publicCidrs[1]: "198.51.100.7/32" is a documentation range (RFC 5737)',
    ),
    (
        "endpoint-fenced-to-a-private-range",
        {"picturesocial:cluster": {**CLUSTER, "endpoint": {"publicCidrs": ["10.1.0.0/16"]}}},
        'Pulumi.small.yaml: picturesocial:cluster.endpoint.publicCidrs[0]: "10.1.0.0/16" is not a public range',
    ),
    (
        "endpoint-keys-of-before",
        {"picturesocial:cluster": {**CLUSTER, "endpoint": {"public": True}}},
        "Pulumi.small.yaml: picturesocial:cluster.endpoint.public: unknown key; did you mean picturesocial:cluster.endpoint.publicCidrs?",
    ),
    (
        "deploy-role-also-admin",
        {"picturesocial:cluster": {**CLUSTER, "adminRoleArns": [DEV["picturesocial:ci"]["deployRoleArn"]]}},
        'Pulumi.small.yaml: picturesocial:cluster.adminRoleArns[0]: "arn:aws:iam::123456789012:role/picturesocial-deploy" is '
        "picturesocial:ci.deployRoleArn, admin already as the cluster's creator; remove it here",
    ),
    (
        "deploy-role-of-another-account",
        {
            "picturesocial:ci": {
                **DEV["picturesocial:ci"],
                "deployRoleArn": "arn:aws:iam::999999999999:role/deploy",
            }
        },
        'Pulumi.small.yaml: picturesocial:ci.deployRoleArn: "arn:aws:iam::999999999999:role/deploy" is not a role of this stack\'s '
        "account 123456789012",
    ),
    (
        "boundary-dropped",
        {
            "picturesocial:ci": {
                k: v for k, v in DEV["picturesocial:ci"].items() if k != "permissionsBoundaryArn"
            }
        },
        "Pulumi.small.yaml: picturesocial:ci.permissionsBoundaryArn: is required",
    ),
    (
        "boundary-blanked",
        {"picturesocial:ci": {**DEV["picturesocial:ci"], "permissionsBoundaryArn": ""}},
        'Pulumi.small.yaml: picturesocial:ci.permissionsBoundaryArn: "" must be an IAM policy ARN under /boundaries/',
    ),
    (
        "boundary-an-aws-managed-policy",
        {
            "picturesocial:ci": {
                **DEV["picturesocial:ci"],
                "permissionsBoundaryArn": "arn:aws:iam::aws:policy/AdministratorAccess",
            }
        },
        'Pulumi.small.yaml: picturesocial:ci.permissionsBoundaryArn: "arn:aws:iam::aws:policy/AdministratorAccess" must be an IAM '
        "policy ARN under /boundaries/",
    ),
    (
        "boundary-of-another-account",
        {
            "picturesocial:ci": {
                **DEV["picturesocial:ci"],
                "permissionsBoundaryArn": "arn:aws:iam::999999999999:policy/boundaries/picturesocial-workload-boundary",
            }
        },
        'Pulumi.small.yaml: picturesocial:ci.permissionsBoundaryArn: "arn:aws:iam::999999999999:policy/boundaries/'
        "picturesocial-workload-boundary\" is not a policy of this stack's account 123456789012",
    ),
    (
        "preview-with-the-deploy-role",
        {
            "picturesocial:ci": {
                **DEV["picturesocial:ci"],
                "previewRoleArn": DEV["picturesocial:ci"]["deployRoleArn"],
            }
        },
        "Pulumi.small.yaml: picturesocial:ci.previewRoleArn: is the deploy role",
    ),
    (
        "runner-not-a-codebuild-project-name",
        {"picturesocial:ci": {**DEV["picturesocial:ci"], "runner": "picturesocial runner"}},
        'Pulumi.small.yaml: picturesocial:ci.runner: "picturesocial runner" must be the bootstrap runner\'s CodeBuild project name',
    ),
    ("ci-missing", {"picturesocial:ci": None}, "Pulumi.small.yaml: picturesocial:ci: is required"),
    (
        "arm-instances-with-an-x86-ami",
        {
            "picturesocial:nodeGroups": {
                "general": {**GROUP, "instanceTypes": ["m7g.large", "t3.medium", "c6gn.large"]}
            }
        },
        "Pulumi.small.yaml: picturesocial:nodeGroups.general.instanceTypes: ['m7g.large', 'c6gn.large'] are not x86_64 instances, but "
        "amiType AL2023_x86_64_STANDARD is x86_64: the nodes would never join",
    ),
    (
        "x86-instances-with-an-arm-ami",
        {"picturesocial:nodeGroups": {"general": {**GROUP, "amiType": "BOTTLEROCKET_ARM_64"}}},
        "Pulumi.small.yaml: picturesocial:nodeGroups.general.instanceTypes: ['t3.medium', 't3a.medium'] are not arm64 instances",
    ),
    (
        "log-retention-cloudwatch-refuses",
        {"picturesocial:cluster": {**CLUSTER, "logRetentionDays": 10}},
        "Pulumi.small.yaml: picturesocial:cluster.logRetentionDays: 10 is not a CloudWatch Logs retention period",
    ),
    (
        "admin-is-not-a-role-arn",
        {"picturesocial:cluster": {**CLUSTER, "adminRoleArns": ["platform-admin"]}},
        'Pulumi.small.yaml: picturesocial:cluster.adminRoleArns[0]: "platform-admin" must be an IAM role ARN',
    ),
    (
        "capacity-type-lowercase",
        {"picturesocial:nodeGroups": {"general": {**GROUP, "capacityType": "spot"}}},
        'Pulumi.small.yaml: picturesocial:nodeGroups.general.capacityType: "spot" must be "ON_DEMAND" or "SPOT"',
    ),
    (
        "node-group-name-not-dns",
        {"picturesocial:nodeGroups": {"General_Pool": GROUP}},
        'Pulumi.small.yaml: picturesocial:nodeGroups.General_Pool: "General_Pool" must be a DNS-1035 label',
    ),
    (
        "latest-tag",
        {"picturesocial:apis": {**DEV["picturesocial:apis"], "greeter": {"tag": "latest"}}},
        'Pulumi.small.yaml: picturesocial:apis.greeter.tag: "latest" is a moving tag',
    ),
    (
        "tag-unquoted",
        {"picturesocial:apis": {**DEV["picturesocial:apis"], "greeter": {"tag": 1.0}}},
        'Pulumi.small.yaml: picturesocial:apis.greeter.tag: 1.0 is a number in YAML, not a string: quote it ("1.0"); an unquoted 1.00 is '
        "read as 1.0 too",
    ),
    (
        "api-name-not-dns",
        {"picturesocial:apis": {"Pictures_API": {"tag": "1.0.0"}}},
        'Pulumi.small.yaml: picturesocial:apis.Pictures_API: "Pictures_API" must be a DNS-1035 label',
    ),
    (
        "account-id-unquoted-or-short",
        {"aws:allowedAccountIds": ["12345"]},
        'Pulumi.small.yaml: aws:allowedAccountIds[0]: "12345" must be a 12-digit AWS account id',
    ),
    (
        "region-typo",
        {"aws:regoin": "us-east-1"},
        "Pulumi.small.yaml: aws:regoin: unknown key; did you mean aws:region?",
    ),
    ("region-missing", {"aws:region": None}, "Pulumi.small.yaml: aws:region: is required"),
    (
        "protect-not-boolean",
        {"picturesocial:protect": "maybe"},
        'Pulumi.small.yaml: picturesocial:protect: "maybe" must be true or false',
    ),
]


@pytest.mark.parametrize("changes, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_config_stops_with_one_line_naming_the_key(write_stack, capsys, changes, expected):
    code = main(["small", "--project", str(FIXTURE), "--config", str(write_stack(changes))])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    wanted = expected.splitlines()
    assert len(lines) == len(wanted), err  # one line per problem, and nothing else
    for line, want in zip(lines, wanted, strict=False):
        assert line.startswith(f"error: {want}"), line
    assert "Traceback" not in err


def test_missing_stack_file_is_one_line(capsys):
    assert main(["no-such-stack", "--project", str(FIXTURE)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "Pulumi.no-such-stack.yaml: no such stack file" in err


def test_the_real_command_prints_no_traceback(write_stack, tmp_path):
    config = write_stack({"picturesocial:nodeGroups": {"general": {**GROUP, "minSize": 5}}})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.synth",
            "small",
            "--project",
            str(FIXTURE),
            "--config",
            str(config),
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2
    assert result.stderr == (
        "error: Pulumi.small.yaml: picturesocial:nodeGroups.general.minSize: 5 is greater than maxSize 4\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_key_given_twice_in_a_stack_file_is_an_error(tmp_path, capsys):
    # The Pulumi CLI refuses such a file; the offline engine must not quietly take the last value.
    text = (FIXTURE / "Pulumi.small.yaml").read_text() + "  picturesocial:protect: true\n"
    path = tmp_path / "Pulumi.small.yaml"
    path.write_text(text)
    assert main(["small", "--project", str(FIXTURE), "--config", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {path}") and 'duplicate key "picturesocial:protect"' in line, line


def test_three_independent_mistakes_give_three_lines_in_one_run_each_naming_the_file(write_stack, capsys):
    # A model rule (minSize > maxSize), a field's value and a mistyped key, in three sections: one round.
    path = write_stack(
        {
            "picturesocial:nodeGroups": {"general": {**GROUP, "minSize": 5}},
            "picturesocial:network": {**NETWORK, "natGateways": "double"},
            "picturesocial:cluster": {**CLUSTER, "logRetention": 30},
        }
    )
    assert main(["small", "--project", str(FIXTURE), "--config", str(path)]) == 2
    assert sorted(capsys.readouterr().err.strip().splitlines()) == [
        "error: Pulumi.small.yaml: picturesocial:cluster.logRetention: unknown key; did you mean "
        "picturesocial:cluster.logRetentionDays?",
        'error: Pulumi.small.yaml: picturesocial:network.natGateways: "double" must be "single" or "perAz"',
        "error: Pulumi.small.yaml: picturesocial:nodeGroups.general.minSize: 5 is greater than maxSize 4",
    ]


def test_a_stack_mistake_and_a_catalog_mistake_are_reported_in_the_same_run(project_copy, capsys):
    catalog = yaml.safe_load((FIXTURE / "workloads/catalog.yaml").read_text())
    catalog["apis"]["photos"]["port"] = "eighty"
    config = {**DEV, "picturesocial:nodeGroups": {"general": {**GROUP, "minSize": 5}}}
    root = project_copy(catalog=catalog, stacks={"small": config})
    assert main(["small", "--project", str(root)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert (
        "error: Pulumi.small.yaml: picturesocial:nodeGroups.general.minSize: 5 is greater than maxSize 4"
        in lines
    )
    assert any(line.startswith("error: workloads/catalog.yaml: apis.photos.port: ") for line in lines), lines
