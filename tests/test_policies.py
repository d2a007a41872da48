"""The CrossGuard baseline (policy/baseline.py) over every stack, and over a bad case per policy so that
no policy can be silently inert."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest
from graphq import resource

from policy.baseline import POLICIES
from tools import ROOT
from tools.offline.engine import Graph
from tools.offline.policy_run import run, stack_policy_config

BY_NAME = {p.name: p for p in POLICIES}


@pytest.mark.live
def test_every_live_stack_satisfies_every_policy(graphs):
    for stack, graph in graphs.items():
        violations = run(graph, POLICIES)
        assert violations == [], f"{stack}:\n" + "\n".join(map(str, violations))


def test_every_fixture_stack_satisfies_every_policy(fixture_graph):
    violations = run(fixture_graph, POLICIES, {})
    assert violations == [], "\n".join(map(str, violations))


@pytest.mark.live
def test_prod_requires_protection():
    assert stack_policy_config("prod")["stateful-resources-protected"] == {"requireProtection": True}


# -- one bad case per policy --------------------------------------------------------------------------


res = resource


def deployment(
    name="api",
    *,
    replicas=None,
    probes=True,
    image="111122223333.dkr.ecr.us-east-1.amazonaws.com/x/api:1.0",
    namespace="apps",
):
    container = {
        "name": name,
        "image": image,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {"requests": {"cpu": "1", "memory": "1Mi"}, "limits": {"cpu": "1", "memory": "1Mi"}},
    }
    if probes:
        container |= {
            "readinessProbe": {"httpGet": {"path": "/r"}},
            "livenessProbe": {"httpGet": {"path": "/l"}},
        }
    spec = {
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {
                "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [container],
            },
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return res(
        "kubernetes:apps/v1:Deployment",
        name,
        {"kind": "Deployment", "metadata": {"name": name, "namespace": namespace}, "spec": spec},
    )


def companions(name="api", namespace="apps"):
    meta = {"name": name, "namespace": namespace}
    return [
        res(
            "kubernetes:core/v1:Service",
            name,
            {"metadata": meta, "spec": {"type": "ClusterIP", "selector": {"app": name}}},
        ),
        res(
            "kubernetes:policy/v1:PodDisruptionBudget",
            name,
            {"metadata": meta, "spec": {"selector": {"matchLabels": {"app": name}}}},
        ),
        res(
            "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
            name,
            {"metadata": meta, "spec": {"scaleTargetRef": {"name": name}}},
        ),
    ]


def behind_an_nlb(*, gate=True, sleep=40, grace=60, attributes="deregistration_delay.timeout_seconds=30"):
    """A namespace, an NLB Service and the Deployment it selects, as workloads/ builds them, with one knob
    turned."""
    labels = {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"} if gate else {}
    namespace = res("kubernetes:core/v1:Namespace", "apps", {"metadata": {"name": "apps", "labels": labels}})
    annotations = (
        {"service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": attributes}
        if attributes
        else {}
    )
    service = res(
        "kubernetes:core/v1:Service",
        "api-lb",
        {
            "metadata": {"name": "api-lb", "namespace": "apps", "annotations": annotations},
            "spec": {"type": "LoadBalancer", "selector": {"app": "api"}},
        },
    )
    app = deployment()
    pod = app["inputs"]["spec"]["template"]["spec"]
    pod["terminationGracePeriodSeconds"] = grace
    if sleep is not None:
        pod["containers"][0]["lifecycle"] = {"preStop": {"sleep": {"seconds": sleep}}}
    return [namespace, service, app]


GRACEFUL_BAD: list[tuple[dict[str, Any], str]] = [
    ({"gate": False}, "no readiness-gate injection label"),
    ({"sleep": None}, "preStop sleeps 0s, less than the target group's deregistration delay 30s"),
    ({"sleep": 20}, "preStop sleeps 20s, less than the target group's deregistration delay 30s"),
    ({"attributes": ""}, "less than the target group's deregistration delay 300s"),  # ELB's default delay
    ({"grace": 40}, "terminationGracePeriodSeconds 40 does not leave room after the 40s preStop sleep"),
]

PUBLIC_SUBNET = res(
    "aws:ec2/subnet:Subnet",
    "public-a",
    {"mapPublicIpOnLaunch": False, "tags": {"kubernetes.io/role/elb": "1"}},
)

BAD_CASES = [
    (
        "eks-endpoint-private",
        [res("eks:index:Cluster", "eks", {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]})],
        {},
        "open to 0.0.0.0/0",
    ),
    (
        "eks-endpoint-private",
        [res("aws:eks/cluster:Cluster", "eks", {"vpcConfig": {"endpointPublicAccess": True}})],
        {},
        "open to 0.0.0.0/0",
    ),
    (
        "eks-endpoint-private",
        [
            res(
                "eks:index:Cluster",
                "eks",
                {"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]},
            )
        ],
        {},
        "is a documentation range (RFC 5737)",
    ),
    (
        "eks-endpoint-private",
        [
            res(
                "aws:eks/cluster:Cluster",
                "eks",
                {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["52.0.0.0/8"]}},
            )
        ],
        {},
        "wider than /16",
    ),
    (
        "eks-control-plane-logging",
        [res("eks:index:Cluster", "eks", {"enabledClusterLogTypes": ["api"]})],
        {},
        "lacks ['audit', 'authenticator']",
    ),
    ("eks-secrets-encryption", [res("eks:index:Cluster", "eks", {})], {}, "not envelope-encrypted"),
    (
        "eks-secrets-encryption",
        [res("aws:eks/cluster:Cluster", "eks", {"encryptionConfig": {"resources": []}})],
        {},
        "not envelope-encrypted",
    ),
    (
        "nodes-imdsv2-hop-limit-1",
        [
            res(
                "aws:ec2/launchTemplate:LaunchTemplate",
                "lt",
                {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2}},
            )
        ],
        {},
        "hop limit=2",
    ),
    (
        "ecr-immutable-scanned",
        [
            res(
                "aws:ecr/repository:Repository",
                "r",
                {"imageTagMutability": "MUTABLE", "imageScanningConfiguration": {}},
            )
        ],
        {},
        "IMMUTABLE",
    ),
    (
        "s3-public-access-blocked",
        [
            res(
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "b",
                {
                    "blockPublicAcls": True,
                    "blockPublicPolicy": False,
                    "ignorePublicAcls": True,
                    "restrictPublicBuckets": True,
                },
            )
        ],
        {},
        "['blockPublicPolicy'] not true",
    ),
    (
        "s3-encrypted",
        [
            res(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "b",
                {"rules": []},
            )
        ],
        {},
        "default encryption is not configured",
    ),
    (
        "dynamodb-pitr",
        [res("aws:dynamodb/table:Table", "t", {"pointInTimeRecovery": {"enabled": False}})],
        {},
        "point-in-time recovery",
    ),
    (
        "iam-no-wildcard-actions",
        [
            res(
                "aws:iam/rolePolicy:RolePolicy",
                "p",
                {
                    "policy": json.dumps(
                        {"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]}
                    )
                },
            )
        ],
        {},
        "wildcard action 's3:*'",
    ),
    ("pods-restricted-profile", [deployment(probes=False)], {}, "readinessProbe is missing"),
    (
        "no-default-namespace",
        [res("kubernetes:core/v1:ConfigMap", "c", {"metadata": {"name": "c", "namespace": "default"}})],
        {},
        "never `default`",
    ),
    (
        "load-balancers-internal",
        [
            res(
                "kubernetes:core/v1:Service",
                "s",
                {"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"}},
            )
        ],
        {},
        "aws-load-balancer-scheme: internal",
    ),
    (
        "load-balancer-services-nlb-class",
        [
            res(
                "kubernetes:core/v1:Service",
                "s",
                {"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"}},
            )
        ],
        {},
        "must set spec.loadBalancerClass service.k8s.aws/nlb",
    ),
    *[
        ("graceful-target-deregistration", behind_an_nlb(**case), {}, message)
        for case, message in GRACEFUL_BAD
    ],
    (
        "images-from-ecr-tagged",
        [deployment(image="nginx:latest")],
        {},
        "is not from ECR with an explicit tag",
    ),
    (
        "images-from-ecr-tagged",
        [deployment(image="111122223333.dkr.ecr.us-east-1.amazonaws.com/x/api:latest")],
        {},
        "`latest` is mutable",
    ),
    ("deployments-have-service-pdb-hpa", [deployment()], {}, "has no Service selecting its pods"),
    ("hpa-owns-replicas", [deployment(replicas=3), *companions()], {}, "pins spec.replicas"),
    (
        "namespaces-default-deny",
        [res("kubernetes:core/v1:Namespace", "apps", {"metadata": {"name": "apps"}})],
        {},
        "has no default-deny NetworkPolicy",
    ),
    (
        "node-groups-private-subnets",
        [
            PUBLIC_SUBNET,
            res("aws:eks/nodeGroup:NodeGroup", "general", {}, dependencies=[PUBLIC_SUBNET["urn"]]),
        ],
        {},
        "uses subnet public-a, which is not private",
    ),
    (
        "stateful-resources-protected",
        [res("aws:dynamodb/table:Table", "t", {"pointInTimeRecovery": {"enabled": True}})],
        {"stateful-resources-protected": {"requireProtection": True}},
        "must be protected",
    ),
]


@pytest.mark.parametrize(
    "policy, resources, config, message", BAD_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_CASES)]
)
def test_each_policy_reports_its_bad_case(policy, resources, config, message):
    violations = run(Graph("picturesocial", "bad", resources, {}), [BY_NAME[policy]], config)
    assert violations, f"{policy} stayed silent"
    assert any(message in v.message for v in violations), [v.message for v in violations]


def test_no_policy_is_without_a_bad_case():
    assert {case[0] for case in BAD_CASES} == set(BY_NAME)


def test_a_good_resource_passes_the_same_policies():
    good = [deployment(), *companions()]
    assert run(Graph("picturesocial", "good", good, {}), POLICIES, {}) == []
    drained = behind_an_nlb()  # the bad cases above, each with one knob turned from this
    assert (
        run(Graph("picturesocial", "good", drained, {}), [BY_NAME["graceful-target-deregistration"]], {})
        == []
    )


# -- removing a safeguard from the program --------------------------------------------------------------


@pytest.mark.slow
def test_dropping_the_probes_from_the_program_fails_with_the_policys_message(tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        copy,
        symlinks=True,
        ignore=shutil.ignore_patterns(".venv*", "build", ".git", "__pycache__", "snapshots"),
    )
    api = copy / "workloads" / "api.py"
    source = api.read_text()
    assert source.count("readiness_probe=probe(") == 1
    api.write_text(source.replace("readiness_probe=probe(", "readiness_probe=None and probe("))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.synth",
            "large",
            "--project",
            "tests/fixtures/project",
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=copy,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(copy)},
    )
    assert result.returncode == 0, result.stderr
    body = json.loads((tmp_path / "out" / "graph.json").read_text())
    graph = Graph(body["project"], body["stack"], body["resources"], body["outputs"])
    messages = {v.message for v in run(graph, POLICIES, {})}
    assert messages == {
        f"container {name}: readinessProbe is missing" for name in ("greeter", "photos", "thumbs")
    }


def test_opening_the_endpoint_in_the_graph_fails_with_the_policys_message(fixture_graphs):
    body = json.loads(fixture_graphs["large"].to_json())
    eks = next(r for r in body["resources"] if r["type"] == "eks:index:Cluster")
    eks["inputs"] |= {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}
    violations = run(Graph("picturesocial", "large", body["resources"], {}), POLICIES, {})
    assert [v.policy for v in violations] == ["eks-endpoint-private"]
    assert "open to 0.0.0.0/0" in violations[0].message
