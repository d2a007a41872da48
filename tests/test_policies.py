"""The CrossGuard baseline (policy/baseline/) over every stack, and over a bad case per policy so that
no policy can be silently inert."""

from __future__ import annotations

import ast
import inspect
import json
from typing import Any

import pytest
from conftest import FIXTURE
from graphq import resource

import workloads.api
from policy.baseline import POLICIES
from tools import ROOT
from tools.offline import synthesize
from tools.offline.engine import Graph
from tools.offline.policy_run import run, stack_policy_config
from tools.offline.stacks import discover

BY_NAME = {p.name: p for p in POLICIES}


@pytest.mark.live
def test_every_live_stack_satisfies_every_policy(graphs, bootstrap_graphs):
    for name, graph in [*graphs.items(), *((f"bootstrap/{s}", g) for s, g in bootstrap_graphs.items())]:
        violations = run(graph, POLICIES)
        assert violations == [], f"{name}:\n" + "\n".join(map(str, violations))


# What policy/config/<stack>.json holds for the fixture project's stacks.
FIXTURE_CONFIG: dict[str, dict[str, dict[str, Any]]] = {
    "small": {"account-guard": {"expectedAccountId": "123456789012"}},
    "large": {
        "account-guard": {"expectedAccountId": "210987654321"},
        "stateful-resources-protected": {"requireProtection": True},
    },
}


def test_every_fixture_stack_satisfies_every_policy(fixture_graph):
    violations = run(fixture_graph, POLICIES, FIXTURE_CONFIG[fixture_graph.stack])
    assert violations == [], "\n".join(map(str, violations))


@pytest.mark.live
def test_prod_requires_protection():
    assert stack_policy_config("prod")["stateful-resources-protected"] == {"requireProtection": True}


@pytest.mark.live
def test_every_stack_expects_an_account_of_its_own():
    # What account-guard compares each stack's AWS provider with: one account per stack, never shared.
    expected = {
        stack: stack_policy_config(stack)["account-guard"]["expectedAccountId"] for stack in discover(ROOT)
    }
    assert len(set(expected.values())) == len(expected), expected


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


def pod_with(change) -> list[dict]:
    """A good Deployment (and its companions) with one thing changed by ``change(pod, container)``."""
    bad = deployment()
    pod = bad["inputs"]["spec"]["template"]["spec"]
    change(pod, pod["containers"][0])
    return [bad, *companions()]


def node_role(*policies: str, inline: bool = False) -> list[dict]:
    trust = json.dumps(
        {
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ]
        }
    )
    role = res("aws:iam/role:Role", "node-role", {"assumeRolePolicy": trust})
    out = [role] + [
        res(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            f"node-role-{i}",
            {"policyArn": arn},
            dependencies=[role["urn"]],
        )
        for i, arn in enumerate(policies)
    ]
    if inline:
        out.append(
            res("aws:iam/rolePolicy:RolePolicy", "extra", {"policy": "{}"}, dependencies=[role["urn"]])
        )
    return out


NODE_POLICIES = [
    f"arn:aws:iam::aws:policy/{p}"
    for p in (
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
        "AmazonSSMManagedInstanceCore",
    )
]


def network_policy(ingress=None, egress=None) -> list[dict]:
    spec: dict[str, Any] = {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": ingress or [],
        "egress": egress or [],
    }
    return [
        res(
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "np",
            {"metadata": {"name": "np", "namespace": "apps"}, "spec": spec},
        )
    ]


def _types(policies: list[dict], types: list[str]) -> list[dict]:
    policies[0]["inputs"]["spec"]["policyTypes"] = types
    return policies


NAMED_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "front"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "picturesocial"}},
}
VPC = res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.10.0.0/16"})
KUBE_DNS = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
ACCOUNT_GUARD = {"account-guard": {"expectedAccountId": "111122223333"}}


def aws_provider(accounts: list[str]) -> list[dict]:
    return [res("pulumi:providers:aws", "aws", {"allowedAccountIds": json.dumps(accounts)})]


def canary(selector: dict) -> list[dict]:
    stable, other = deployment(), deployment("api-canary")
    stable["inputs"]["spec"]["selector"]["matchLabels"] = {"app": "api", "track": "stable"}
    other["inputs"]["spec"]["selector"]["matchLabels"] = selector
    return [stable, other]


def role_policy(statement: dict) -> list[dict]:
    return [res("aws:iam/rolePolicy:RolePolicy", "p", {"policy": json.dumps({"Statement": [statement]})})]


def sc(**values):
    return lambda pod, container: container["securityContext"].update(values)


PROTECTION = {"stateful-resources-protected": {"requireProtection": True}}
TLS_ALLOW = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": "*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
STAGE = "aws:apigatewayv2/stage:Stage"
ROUTE = "aws:apigatewayv2/route:Route"
LOGGED = {"destinationArn": "arn:aws:logs:us-east-1:111122223333:log-group:/a", "format": "{}"}
THROTTLED = {"throttlingBurstLimit": 10, "throttlingRateLimit": 5}
VPC_LINK_INTEGRATION = {"integrationType": "HTTP_PROXY", "connectionType": "VPC_LINK", "connectionId": "abc"}


def route_to(integration: dict, key: str = "ANY /x") -> list[dict]:
    target = res("aws:apigatewayv2/integration:Integration", "i", integration)
    return [target, res(ROUTE, "r", {"routeKey": key}, dependencies=[target["urn"]])]


def node_pool(limits: dict) -> dict:
    return res("kubernetes:karpenter.sh/v1:NodePool", "p", {"spec": {"limits": limits}})


def node_class(**changes) -> dict:
    spec = {
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": True}}],
        "amiSelectorTerms": [{"alias": "al2023@v20261112"}],
        **changes,
    }
    return res("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "c", {"spec": spec})


def github_role(name: str, condition: dict, role_name: str | None = None) -> dict:
    statement = {
        "Effect": "Allow",
        "Principal": {
            "Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
        },
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition,
    }
    return res(
        ROLE_TYPE,
        name,
        {
            "assumeRolePolicy": json.dumps({"Statement": [statement]}),
            "name": role_name or f"picturesocial-{name}",
        },
    )


ROLE_TYPE = "aws:iam/role:Role"
GH = "token.actions.githubusercontent.com"
AUD = {f"{GH}:aud": "sts.amazonaws.com"}
# What policy/config/bootstrap/prod.json says: the one repository, environment and deploy role of the account.
GITHUB_TRUST = {
    "github-oidc-trust-scoped": {
        "repository": "example-org/picturesocial",
        "deployEnvironment": "prod",
        "deployRole": "picturesocial-deploy",
    }
}
PREVIEW_SUB = "repo:example-org/picturesocial:pull_request:ref:refs/pull/*/merge"
DEPLOY_SUB = "repo:example-org/picturesocial:environment:prod:ref:refs/heads/main"


MORE_BAD_CASES = [
    (
        "eks-secrets-encryption",
        [res("aws:eks/cluster:Cluster", "eks", {"encryptionConfig": {"resources": ["secrets"]}})],
        {},
        "not envelope-encrypted",
    ),
    (
        "nodes-imdsv2-hop-limit-1",
        [
            res(
                "aws:ec2/launchTemplate:LaunchTemplate",
                "lt",
                {"metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 1}},
            )
        ],
        {},
        "httpTokens=optional",
    ),
    (
        "ecr-immutable-scanned",
        [
            res(
                "aws:ecr/repository:Repository",
                "r",
                {"imageTagMutability": "IMMUTABLE", "imageScanningConfiguration": {"scanOnPush": False}},
            )
        ],
        {},
        "scan on push",
    ),
    (
        "iam-mutations-scoped",
        role_policy(
            {
                "Sid": "Open",
                "Effect": "Allow",
                "Action": ["ec2:DescribeVpcs", "ec2:DeleteVpc"],
                "Resource": "*",
            }
        ),
        {},
        "allows ['ec2:DeleteVpc'] on every resource",
    ),
    (
        "s3-tls-only",
        [res("aws:s3/bucketPolicy:BucketPolicy", "b", {"policy": json.dumps({"Statement": [TLS_ALLOW]})})],
        {},
        "must deny every s3 action without TLS",
    ),
    (
        "dynamodb-encrypted",
        [res("aws:dynamodb/table:Table", "t", {"serverSideEncryption": {"enabled": False}})],
        {},
        "must be encrypted",
    ),
    (
        "network-policy-rules-name-peers-and-ports",
        network_policy(ingress=[{"ports": [{"port": 80}]}]),
        {},
        "ingress rule 0 names no peers",
    ),
    (
        "network-policy-rules-name-peers-and-ports",
        network_policy(egress=[{"to": [KUBE_DNS]}]),
        {},
        "egress rule 0 names no ports",
    ),
    (
        "network-policy-rules-name-peers-and-ports",
        network_policy(
            egress=[{"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "UDP", "port": 53}]}]
        ),
        {},
        "opens DNS (53) to more than kube-dns",
    ),
    (
        "pods-restricted-profile",
        pod_with(lambda pod, c: pod["securityContext"].pop("runAsNonRoot")),
        {},
        "pod securityContext.runAsNonRoot must be true",
    ),
    (
        "pods-restricted-profile",
        pod_with(lambda pod, c: pod["securityContext"].pop("seccompProfile")),
        {},
        "pod securityContext.seccompProfile.type must be RuntimeDefault",
    ),
    (
        "pods-restricted-profile",
        pod_with(lambda pod, c: pod["securityContext"].update(runAsUser=0)),
        {},
        "pod securityContext.runAsUser must not be 0",
    ),
    (
        "pods-restricted-profile",
        pod_with(sc(runAsNonRoot=False)),
        {},
        "runAsNonRoot is false, overriding the pod's",
    ),
    (
        "pods-restricted-profile",
        pod_with(sc(runAsUser=0)),
        {},
        "container api: securityContext.runAsUser must not",
    ),
    (
        "pods-restricted-profile",
        pod_with(sc(seccompProfile={"type": "Unconfined"})),
        {},
        "container api: securityContext.seccompProfile.type must be RuntimeDefault",
    ),
    ("pods-restricted-profile", pod_with(sc(allowPrivilegeEscalation=True)), {}, "allowPrivilegeEscalation"),
    ("pods-restricted-profile", pod_with(sc(readOnlyRootFilesystem=False)), {}, "readOnlyRootFilesystem"),
    (
        "pods-restricted-profile",
        pod_with(sc(capabilities={"drop": ["NET_RAW"]})),
        {},
        "capabilities must drop ALL",
    ),
    ("pods-restricted-profile", pod_with(sc(privileged=True)), {}, "must not be privileged"),
    ("pods-restricted-profile", pod_with(lambda pod, c: c["resources"].pop("limits")), {}, "limits lack"),
    (
        "pods-restricted-profile",
        pod_with(lambda pod, c: c.update(livenessProbe=c["readinessProbe"])),
        {},
        "livenessProbe uses the readiness handler /r",
    ),
    (
        "deployments-have-service-pdb-hpa",
        [deployment(), *companions()[::2]],
        {},
        "has no PodDisruptionBudget",
    ),
    (
        "deployments-have-service-pdb-hpa",
        [deployment(), *companions()[:2]],
        {},
        "has no HorizontalPodAutoscaler",
    ),
    (
        "node-groups-private-subnets",
        [res("aws:eks/nodeGroup:NodeGroup", "general", {})],
        {},
        "depends on no subnet",
    ),
    (
        "node-role-has-node-policies-only",
        node_role(*NODE_POLICIES, "arn:aws:iam::aws:policy/AdministratorAccess"),
        {},
        "not exactly",
    ),
    ("node-role-has-node-policies-only", node_role(*NODE_POLICIES[1:]), {}, "not exactly"),
    ("node-role-has-node-policies-only", node_role(*NODE_POLICIES, inline=True), {}, "has inline policies"),
    ("deployment-selectors-disjoint", canary({"app": "api"}), {}, "overlapping selectors"),
    (
        "network-policies-stay-in-the-vpc",
        [
            VPC,
            *network_policy(
                ingress=[{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 80}]}]
            ),
        ],
        {},
        "admits ipBlock 0.0.0.0/0, wider than the VPC",
    ),
    ("account-guard", aws_provider(["444455556666"]), ACCOUNT_GUARD, "not exactly ['111122223333']"),
    ("account-guard", aws_provider(["111122223333"]), {}, "no expectedAccountId is configured"),
    (
        "stateful-resources-protected",
        [res("aws:s3/bucket:Bucket", "b", {"forceDestroy": True}, protect=True)],
        PROTECTION,
        "has forceDestroy",
    ),
    (
        "api-stage-logged-and-throttled",
        [res(STAGE, "s", {"defaultRouteSettings": THROTTLED})],
        {},
        "has no access logs",
    ),
    (
        "api-stage-logged-and-throttled",
        [
            res(
                STAGE,
                "s",
                {"accessLogSettings": LOGGED, "defaultRouteSettings": {"throttlingBurstLimit": 10}},
            )
        ],
        {},
        "has no default route throttling",
    ),
    ("routes-through-vpc-link", route_to(VPC_LINK_INTEGRATION, key="$default"), {}, "$default route catches"),
    ("routes-through-vpc-link", [res(ROUTE, "r", {"routeKey": "ANY /x"})], {}, "targets no integration"),
    (
        "routes-through-vpc-link",
        route_to({"integrationType": "HTTP_PROXY", "integrationUri": "https://example.com"}),
        {},
        "outside the VPC link",
    ),
    ("karpenter-node-pools-bounded", [node_pool({"cpu": "10"})], {}, "has no memory limit"),
    (
        "karpenter-node-classes-hardened",
        [node_class(metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 2})],
        {},
        "IMDSv2 with hop limit 1",
    ),
    (
        "karpenter-node-classes-hardened",
        [node_class(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"volumeSize": "20Gi"}}])],
        {},
        "every one encrypted",
    ),
    (
        "karpenter-node-classes-hardened",
        [node_class(amiSelectorTerms=[{"alias": "al2023@latest"}])],
        {},
        "never @latest",
    ),
    # The subject template is repo, context, ref (bootstrap/repository.py): the preview's subject is
    # PREVIEW_SUB (StringLike), the deploy role's DEPLOY_SUB (StringEquals). One thing wrong in each case.
    (
        "github-oidc-trust-scoped",
        [github_role("r", {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:example-org/*"}})],
        GITHUB_TRUST,
        "one repo:<owner>/<name>:<context>:ref:<ref> subject",
    ),
    (
        "github-oidc-trust-scoped",
        [github_role("r", {"StringLike": {f"{GH}:sub": PREVIEW_SUB}})],
        GITHUB_TRUST,
        "of any audience",
    ),
    (
        "github-oidc-trust-scoped",
        [
            github_role(
                "r",
                {
                    "StringEquals": AUD,
                    "StringLike": {f"{GH}:sub": PREVIEW_SUB.replace("/picturesocial", "/*")},
                },
            )
        ],
        GITHUB_TRUST,
        "one repo:<owner>/<name>:<context>:ref:<ref> subject",
    ),
    (
        "github-oidc-trust-scoped",
        [
            github_role("a", {"StringEquals": AUD, "StringLike": {f"{GH}:sub": PREVIEW_SUB}}),
            github_role(
                "b", {"StringEquals": {**AUD, f"{GH}:sub": DEPLOY_SUB.replace("/picturesocial", "/other")}}
            ),
        ],
        GITHUB_TRUST,
        "trust several repositories",
    ),
    (
        "github-oidc-trust-scoped",
        [github_role("r", {"StringEquals": AUD, "StringLike": {f"{GH}:sub": PREVIEW_SUB}})],
        {},
        "does not name the repository, deployEnvironment and deployRole",
    ),
    (
        "github-oidc-trust-scoped",
        [
            github_role(
                "r",
                {
                    "StringEquals": AUD,
                    "StringLike": {f"{GH}:sub": PREVIEW_SUB.replace("example-org", "attacker")},
                },
            )
        ],
        GITHUB_TRUST,
        "trusts 'attacker/picturesocial', not 'example-org/picturesocial'",
    ),
    (
        "github-oidc-trust-scoped",
        [github_role("r", {"StringEquals": {**AUD, f"{GH}:sub": DEPLOY_SUB.replace(":prod:", ":dev:")}})],
        GITHUB_TRUST,
        "this account deploys environment 'prod' only",
    ),
    (
        "github-oidc-trust-scoped",
        [github_role("deploy", {"StringEquals": AUD, "StringLike": {f"{GH}:sub": PREVIEW_SUB}})],
        GITHUB_TRUST,
        "deploy role deploy trusts 'pull_request'",
    ),
    # Another branch, any branch, and the environment's subject without the ref (the default template's).
    (
        "github-oidc-trust-scoped",
        [
            github_role(
                "deploy", {"StringEquals": {**AUD, f"{GH}:sub": DEPLOY_SUB.replace("main", "release")}}
            )
        ],
        GITHUB_TRUST,
        "trusts environment:prod on 'refs/heads/release': only refs/heads/main deploys",
    ),
    (
        "github-oidc-trust-scoped",
        [
            github_role(
                "deploy", {"StringEquals": AUD, "StringLike": {f"{GH}:sub": DEPLOY_SUB.replace("main", "*")}}
            )
        ],
        GITHUB_TRUST,
        "trusts 'environment:prod' through a wildcard",
    ),
    (
        "github-oidc-trust-scoped",
        [
            github_role(
                "deploy",
                {"StringEquals": {**AUD, f"{GH}:sub": "repo:example-org/picturesocial:environment:prod"}},
            )
        ],
        GITHUB_TRUST,
        "one repo:<owner>/<name>:<context>:ref:<ref> subject",
    ),
    # A pull request's ref with more than its number wild, or a wildcard the preview does not need.
    (
        "github-oidc-trust-scoped",
        [
            github_role(
                "r",
                {
                    "StringEquals": AUD,
                    "StringLike": {f"{GH}:sub": "repo:example-org/picturesocial:pull_request:ref:*"},
                },
            )
        ],
        GITHUB_TRUST,
        "StringLike 'refs/pull/*/merge', the number the only wildcard",
    ),
    (
        "github-oidc-trust-scoped",
        [
            github_role(
                "r", {"StringEquals": AUD, "StringLike": {f"{GH}:sub": "repo:example-org/picturesocial:*"}}
            )
        ],
        GITHUB_TRUST,
        "one repo:<owner>/<name>:<context>:ref:<ref> subject",
    ),
    (
        "github-oidc-trust-scoped",
        [
            github_role(
                "r",
                {
                    "StringEquals": AUD,
                    "StringLike": {f"{GH}:sub": PREVIEW_SUB},
                    "ForAnyValue:StringLike": {f"{GH}:sub": "*"},
                },
            )
        ],
        GITHUB_TRUST,
        "trusts GitHub under ['ForAnyValue:StringLike']",
    ),
    (
        "github-oidc-trust-scoped",
        [
            github_role(
                "deploy",
                {
                    "StringEquals": {
                        **AUD,
                        f"{GH}:sub": "repo:example-org/picturesocial:ref:refs/heads/main:ref:refs/heads/main",
                    }
                },
            )
        ],
        GITHUB_TRUST,
        "deploy role deploy trusts 'ref:refs/heads/main'",
    ),
    (
        "github-oidc-trust-scoped",
        [
            github_role(
                "preview",
                {
                    "StringEquals": {
                        **AUD,
                        f"{GH}:sub": "repo:example-org/picturesocial:ref:refs/heads/dev:ref:refs/heads/dev",
                    }
                },
            )
        ],
        GITHUB_TRUST,
        "a job without environment is admitted only as the drift check on refs/heads/main",
    ),
    (
        "github-oidc-trust-scoped",
        [
            github_role(
                "r",
                {
                    "StringLike": {
                        f"{GH}:sub": "repo:example-org/picturesocial:ref:refs/heads/*:ref:refs/heads/*"
                    },
                    "StringEquals": AUD,
                },
            )
        ],
        GITHUB_TRUST,
        "one repo:<owner>/<name>:<context>:ref:<ref> subject",
    ),
    (
        "log-groups-have-retention",
        [res("aws:cloudwatch/logGroup:LogGroup", "g", {})],
        {},
        "keeps every event",
    ),
    ("alarms-notify", [res("aws:cloudwatch/metricAlarm:MetricAlarm", "a", {})], {}, "nobody is told"),
    ("sns-topics-encrypted", [res("aws:sns/topic:Topic", "t", {})], {}, "kmsMasterKeyId"),
    ("observability-addon-present", [res("eks:index:Cluster", "eks", {})], {}, "has no amazon-cloudwatch"),
    (
        "observability-addon-present",
        [
            res("eks:index:Cluster", "eks", {}),
            res(
                "aws:eks/addon:Addon",
                "o",
                {"addonName": "amazon-cloudwatch-observability", "addonVersion": "v6"},
            ),
        ],
        {},
        "has no serviceAccountRoleArn",
    ),
    (
        "observability-addon-present",
        [
            res("eks:index:Cluster", "eks", {}),
            res(
                "aws:eks/addon:Addon",
                "o",
                {
                    "addonName": "amazon-cloudwatch-observability",
                    "serviceAccountRoleArn": "arn:aws:iam::1:role/r",
                },
            ),
        ],
        {},
        "has no pinned addonVersion",
    ),
    (
        "iam-roles-bounded",
        [res(ROLE_TYPE, "irsa", {"name": "api-role", "assumeRolePolicy": "{}"})],
        {},
        "IAM role api-role has no permissions boundary",
    ),
    (
        "iam-roles-bounded",
        [
            res(
                ROLE_TYPE,
                "irsa",
                {
                    "assumeRolePolicy": "{}",
                    "permissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess",
                },
            )
        ],
        {},
        "IAM role irsa has permissions boundary 'arn:aws:iam::aws:policy/AdministratorAccess', not one of",
    ),
    # -- infrastructure invariants, one instance of several wrong --
    (
        "vpc-dns-support-and-hostnames",
        [
            res("aws:ec2/vpc:Vpc", "a", {"enableDnsSupport": True, "enableDnsHostnames": True}),
            res("aws:ec2/vpc:Vpc", "b", {"enableDnsSupport": True}),
        ],
        {},
        "must enable DNS hostnames",
    ),
    (
        "vpc-dns-support-and-hostnames",
        [res("aws:ec2/vpc:Vpc", "a", {"enableDnsSupport": False, "enableDnsHostnames": True})],
        {},
        "turns DNS support off",
    ),
    (
        "stores-encrypted-at-rest",
        [
            res("aws:sqs/queue:Queue", "a", {"sqsManagedSseEnabled": True}),
            res("aws:sqs/queue:Queue", "b", {"sqsManagedSseEnabled": False}),
        ],
        {},
        "the queue stores messages unencrypted",
    ),
    (
        "stores-encrypted-at-rest",
        [
            res(
                "aws:ec2/launchTemplate:LaunchTemplate",
                "lt",
                {
                    "blockDeviceMappings": [
                        {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}},
                        {"deviceName": "/dev/xvdb", "ebs": {"encrypted": "false"}},
                    ]
                },
            )
        ],
        {},
        "must be encrypted (blockDeviceMappings[].ebs.encrypted): ['/dev/xvdb']",
    ),
    (
        "deletion-protection-where-protected",
        [
            res("aws:dynamodb/table:Table", "a", {"deletionProtectionEnabled": True}, protect=True),
            res("aws:dynamodb/table:Table", "b", {"deletionProtectionEnabled": False}, protect=True),
            res("aws:dynamodb/table:Table", "c", {}, protect=False),
        ],
        {},
        "aws:dynamodb/table:Table b is protected in the stack but deletionProtectionEnabled is not true",
    ),
    (  # left unset is as bad as false
        "deletion-protection-where-protected",
        [
            res("aws:dynamodb/table:Table", "a", {"deletionProtectionEnabled": True}, protect=True),
            res("aws:dynamodb/table:Table", "b", {}, protect=True),
        ],
        {},
        "aws:dynamodb/table:Table b is protected in the stack but deletionProtectionEnabled is not true",
    ),
    # -- network-policy-peers-named: one peer, rule or direction of several is wrong --
    (
        "network-policy-peers-named",
        network_policy(
            ingress=[
                {
                    "from": [NAMED_PEER, NAMED_PEER, {"namespaceSelector": NAMED_PEER["namespaceSelector"]}],
                    "ports": [{"port": 80}],
                }
            ]
        ),
        {},
        "ingress rule 0 peer 2 names no pods",
    ),
    (  # an empty podSelector is every pod of the namespace, as a missing one
        "network-policy-peers-named",
        network_policy(
            ingress=[
                {
                    "from": [
                        NAMED_PEER,
                        NAMED_PEER,
                        {"namespaceSelector": NAMED_PEER["namespaceSelector"], "podSelector": {}},
                    ],
                    "ports": [{"port": 80}],
                }
            ]
        ),
        {},
        "ingress rule 0 peer 2 names no pods (an empty or missing podSelector",
    ),
    (
        "network-policy-peers-named",
        network_policy(
            egress=[
                {"to": [KUBE_DNS], "ports": [{"protocol": "UDP", "port": 53}]},
                {"ports": [{"port": 443, "protocol": "TCP"}, {"port": 80, "protocol": "TCP"}]},
            ]
        ),
        {},
        "egress rule 1 names no peers beyond HTTPS to AWS",
    ),
    (
        "network-policy-peers-named",
        _types(
            network_policy(egress=[{"to": [KUBE_DNS], "ports": [{"protocol": "UDP", "port": 53}]}]),
            ["Ingress"],
        ),
        {},
        "does not declare Egress: they silently stop applying",
    ),
]

OWN = "444455556666.dkr.ecr.us-east-1.amazonaws.com"
DIGEST = "@sha256:" + "ab" * 32


def lifecycle(repository, rules):
    return res(
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        repository.replace("/", "-"),
        {"repository": repository, "policy": json.dumps({"rules": rules})},
    )


KEEP_1 = {
    "rulePriority": 1,
    "selection": {
        "tagStatus": "tagged",
        "tagPatternList": ["1.0.0"],
        "countType": "imageCountMoreThan",
        "countNumber": 1,
    },
    "action": {"type": "expire"},
}
KEEP_LAST_5 = {
    "rulePriority": 2,
    "description": "keep the last 5 tagged images",
    "selection": {
        "tagStatus": "tagged",
        "tagPatternList": ["*"],
        "countType": "imageCountMoreThan",
        "countNumber": 5,
    },
    "action": {"type": "expire"},
}

# Two Deployments, one right and one wrong: the rule must name the wrong one.
PROMOTION_BAD_CASES = [
    (
        "images-pinned-from-own-registry",
        [
            deployment("a", image=f"{OWN}/p/a:1.0.0{DIGEST}"),
            deployment("b", image=f"111122223333.dkr.ecr.us-east-1.amazonaws.com/p/b:1.0.0{DIGEST}"),
        ],
        {"images-pinned-from-own-registry": {"registry": OWN}},
        "Deployment apps/b container b: image '111122223333.dkr.ecr.us-east-1.amazonaws.com/p/b:1.0.0@sha256",
    ),
    (
        "images-pinned-from-own-registry",
        [deployment("a", image=f"{OWN}/p/a:1.0.0{DIGEST}"), deployment("b", image=f"{OWN}/p/b:1.0.0")],
        {"images-pinned-from-own-registry": {"registry": OWN, "requireDigest": True}},
        f"Deployment apps/b container b: image '{OWN}/p/b:1.0.0' is not pinned by digest",
    ),
    (
        "lifecycle-keeps-deployed-images",
        [
            deployment("a", image=f"{OWN}/p/a:1.0.0{DIGEST}"),
            deployment("b", image=f"{OWN}/p/b:1.0.0{DIGEST}"),
            lifecycle("p/a", [KEEP_1, KEEP_LAST_5]),
            lifecycle("p/b", [{**KEEP_1, "rulePriority": 3}, KEEP_LAST_5]),
        ],
        {},
        "the lifecycle policy of p/b can expire 1.0.0, which Deployment b runs: rule 2",
    ),
    (  # a keep-last-N rule over every image (tagStatus any) ranked before the deployed tag's keep rule
        "lifecycle-keeps-deployed-images",
        [
            deployment("a", image=f"{OWN}/p/a:1.0.0{DIGEST}"),
            deployment("b", image=f"{OWN}/p/b:1.0.0{DIGEST}"),
            lifecycle("p/a", [KEEP_1, KEEP_LAST_5]),
            lifecycle(
                "p/b",
                [
                    {
                        "rulePriority": 1,
                        "selection": {
                            "tagStatus": "any",
                            "countType": "imageCountMoreThan",
                            "countNumber": 5,
                        },
                        "action": {"type": "expire"},
                    },
                    {**KEEP_1, "rulePriority": 2},
                ],
            ),
        ],
        {},
        "the lifecycle policy of p/b can expire 1.0.0, which Deployment b runs: rule 1",
    ),
]


def test_the_promotion_policies_pass_when_every_deployment_is_right():
    good = [
        deployment("a", image=f"{OWN}/p/a:1.0.0{DIGEST}"),
        deployment("b", image=f"{OWN}/p/b:1.0.0{DIGEST}"),
        lifecycle("p/a", [KEEP_1, KEEP_LAST_5]),
        # an untagged-expiry rule first cannot select a tagged image
        lifecycle(
            "p/b",
            [
                {"rulePriority": 1, "selection": {"tagStatus": "untagged"}, "action": {"type": "expire"}},
                {**KEEP_1, "rulePriority": 2},
                {**KEEP_LAST_5, "rulePriority": 3},
            ],
        ),
    ]
    config = {"images-pinned-from-own-registry": {"registry": OWN, "requireDigest": True}}
    graph = Graph("picturesocial", "good", good, {})
    assert run(graph, [BY_NAME["images-pinned-from-own-registry"]], config) == []
    assert run(graph, [BY_NAME["lifecycle-keeps-deployed-images"]], {}) == []


WORKLOAD_BOUNDARY = "arn:aws:iam::123456789012:policy/boundaries/picturesocial-workload-boundary"


@pytest.mark.parametrize("unbounded", ["service-role", "node-role", "controller"])
def test_the_one_role_of_several_without_a_boundary_is_the_one_named(unbounded):
    roles = [
        res(
            ROLE_TYPE,
            name,
            {
                "assumeRolePolicy": "{}",
                **({} if name == unbounded else {"permissionsBoundary": WORKLOAD_BOUNDARY}),
            },
        )
        for name in ("service-role", "node-role", "controller")
    ]
    violations = run(Graph("picturesocial", "bad", roles, {}), [BY_NAME["iam-roles-bounded"]], {})
    assert [v.message for v in violations] == [
        f"IAM role {unbounded} has no permissions boundary; give it the account's workload boundary"
    ]


def _two_containers(change) -> list[dict]:
    """A good Deployment with a second container (a copy of the first) changed by ``change(container)``."""
    import copy

    bad = deployment()
    pod = bad["inputs"]["spec"]["template"]["spec"]
    second = copy.deepcopy(pod["containers"][0]) | {"name": "sidecar"}
    change(second)
    pod["containers"].append(second)
    return [bad, *companions()]


def _statements(*statements: dict) -> list[dict]:
    return [
        res("aws:iam/rolePolicy:RolePolicy", "p", {"policy": json.dumps({"Statement": list(statements)})})
    ]


READ = {"Sid": "Read", "Effect": "Allow", "Action": ["ec2:DescribeVpcs"], "Resource": "*"}
SCOPED = {"Sid": "Scoped", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::b/*"}
ENCRYPTED = {"deviceName": "/dev/xvda", "ebs": {"encrypted": True}}

# Each rule at its boundary: one instance of several violates it (the second volume, the third peer, the last
# statement, the second container), so a rule that checks "any" where it must check "all" is found.
BOUNDARY_CASES: list[tuple[str, list[dict], dict, str]] = [
    (
        "karpenter-node-classes-hardened",
        [
            node_class(
                blockDeviceMappings=[ENCRYPTED, {"deviceName": "/dev/xvdb", "ebs": {"encrypted": False}}]
            )
        ],
        {},
        "every one encrypted",
    ),
    (
        "karpenter-node-classes-hardened",
        [node_class(amiSelectorTerms=[{"alias": "al2023@v20261112"}, {"alias": "bottlerocket@latest"}])],
        {},
        "never @latest",
    ),
    (
        "network-policy-rules-name-peers-and-ports",
        network_policy(
            egress=[
                {
                    "to": [KUBE_DNS, KUBE_DNS, {"namespaceSelector": {}}],
                    "ports": [{"protocol": "UDP", "port": 53}],
                }
            ]
        ),
        {},
        "opens DNS (53) to more than kube-dns",
    ),
    (
        "network-policy-rules-name-peers-and-ports",
        network_policy(
            ingress=[{"from": [NAMED_PEER], "ports": [{"port": 80}]}] * 2 + [{"ports": [{"port": 80}]}]
        ),
        {},
        "ingress rule 2 names no peers",
    ),
    (
        "network-policy-rules-name-peers-and-ports",
        network_policy(
            egress=[{"to": [KUBE_DNS], "ports": [{"protocol": "UDP", "port": 53}]}, {"to": [NAMED_PEER]}]
        ),
        {},
        "egress rule 1 names no ports",
    ),
    (
        "network-policies-stay-in-the-vpc",
        [
            VPC,
            *network_policy(
                ingress=[
                    {
                        "from": [
                            {"ipBlock": {"cidr": "10.10.0.0/16"}},
                            {"ipBlock": {"cidr": "10.10.1.0/24"}},
                            {"ipBlock": {"cidr": "10.0.0.0/8"}},
                        ]
                    }
                ]
            ),
        ],
        {},
        "admits ipBlock 10.0.0.0/8",
    ),
    ("iam-no-wildcard-actions", _statements(READ, SCOPED, {**SCOPED, "Action": ["s3:*"]}), {}, "'s3:*'"),
    (
        "iam-mutations-scoped",
        _statements(READ, SCOPED, {**SCOPED, "Sid": "Last", "Resource": "*"}),
        {},
        "IAM statement 'Last' allows ['s3:PutObject'] on every resource",
    ),
    (
        "pods-restricted-profile",
        _two_containers(lambda c: c["securityContext"].update(allowPrivilegeEscalation=True)),
        {},
        "container sidecar: allowPrivilegeEscalation must be false",
    ),
    (
        "images-from-ecr-tagged",
        _two_containers(lambda c: c.update(image="docker.io/library/busybox:1.36")),
        {},
        "container sidecar: image 'docker.io/library/busybox:1.36' is not from ECR",
    ),
]

ALL_BAD_CASES = BAD_CASES + MORE_BAD_CASES + PROMOTION_BAD_CASES + BOUNDARY_CASES


@pytest.mark.parametrize(
    "policy, resources, config, message",
    ALL_BAD_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(ALL_BAD_CASES)],
)
def test_each_policy_reports_its_bad_case(policy, resources, config, message):
    violations = run(Graph("picturesocial", "bad", resources, {}), [BY_NAME[policy]], config)
    assert violations, f"{policy} stayed silent"
    assert any(message in v.message for v in violations), [v.message for v in violations]


# Each policy's rule, by name: the test below counts its branches (each `yield` or `report(` call site) and
# wants a bad case per branch, each reporting a different message.
RULES = {
    "eks-endpoint-private": "_endpoint",
    "eks-control-plane-logging": "_logging",
    "eks-secrets-encryption": "_secrets_encryption",
    "nodes-imdsv2-hop-limit-1": "_imds",
    "ecr-immutable-scanned": "_ecr",
    "s3-public-access-blocked": "_public_access_block",
    "s3-encrypted": "_bucket_encryption",
    "dynamodb-pitr": "_pitr",
    "iam-no-wildcard-actions": "_iam_wildcards",
    "iam-mutations-scoped": "_iam_mutations_scoped",
    "s3-tls-only": "_tls_only",
    "dynamodb-encrypted": "_dynamodb_encryption",
    "network-policy-rules-name-peers-and-ports": "_network_policy_rules",
    "network-policy-peers-named": "_network_policy_peers_and_types",
    "vpc-dns-support-and-hostnames": "_vpc_dns",
    "stores-encrypted-at-rest": "_encrypted_at_rest",
    "deletion-protection-where-protected": "_deletion_protection",
    "pods-restricted-profile": "_restricted_pod",
    "no-default-namespace": "_no_default_namespace",
    "load-balancers-internal": "_internal_load_balancer",
    "load-balancer-services-nlb-class": "_nlb_class",
    "images-from-ecr-tagged": "_ecr_images",
    "deployments-have-service-pdb-hpa": "_deployment_companions",
    "hpa-owns-replicas": "_hpa_owns_replicas",
    "namespaces-default-deny": "_default_deny",
    "graceful-target-deregistration": "_graceful_deregistration",
    "node-groups-private-subnets": "_node_groups_private",
    "node-role-has-node-policies-only": "_node_role_policies",
    "iam-roles-bounded": "_role_bounded",
    "deployment-selectors-disjoint": "_selectors_disjoint",
    "network-policies-stay-in-the-vpc": "_network_policies_in_the_vpc",
    "account-guard": "_account_guard",
    "stateful-resources-protected": "_protected_in_prod",
    "log-groups-have-retention": "_log_retention",
    "github-oidc-trust-scoped": "_github_trust",
    "karpenter-node-pools-bounded": "_node_pool_bounded",
    "karpenter-node-classes-hardened": "_node_class_hardened",
    "api-stage-logged-and-throttled": "_stage_guarded",
    "routes-through-vpc-link": "_routes_through_vpc_link",
    "alarms-notify": "_alarm_actions",
    "sns-topics-encrypted": "_topic_encrypted",
    "observability-addon-present": "_observability",
    "images-pinned-from-own-registry": "_pinned_from_own_registry",
    "lifecycle-keeps-deployed-images": "_lifecycle_keeps_deployed",
}


def branches(function: str) -> int:
    trees = [ast.parse(path.read_text()) for path in sorted((ROOT / "policy" / "baseline").glob("*.py"))]
    node = next(
        n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function
    )
    return sum(
        isinstance(n, ast.Yield) or (isinstance(n, ast.Call) and getattr(n.func, "id", "") == "report")
        for n in ast.walk(node)
    )


def test_every_branch_of_every_policy_has_a_bad_case_of_its_own():
    assert set(RULES) == set(BY_NAME)
    for policy, function in RULES.items():
        messages = {message for name, _, _, message in ALL_BAD_CASES if name == policy}
        assert len(messages) >= branches(function), (policy, branches(function), messages)


def test_a_good_resource_passes_the_same_policies():
    good = [deployment(), *companions()]
    assert run(Graph("picturesocial", "good", good, {}), POLICIES, ACCOUNT_GUARD) == []
    drained = behind_an_nlb()  # the bad cases above, each with one knob turned from this
    assert (
        run(Graph("picturesocial", "good", drained, {}), [BY_NAME["graceful-target-deregistration"]], {})
        == []
    )


# -- removing a safeguard from the program --------------------------------------------------------------


def test_dropping_the_probes_from_the_program_fails_with_the_policys_message(monkeypatch):
    """The program's readiness probe taken out, as an edit of workloads/api.py would (`readiness_probe=None`):
    the program runs in this process, so its helper is replaced for the run instead of its source edited."""
    source = inspect.getsource(workloads.api)
    assert source.count("readiness_probe=probe(") == 1  # the one call site this stands in for
    real_probe = workloads.api.probe
    monkeypatch.setattr(
        workloads.api,
        "probe",
        lambda spec, kind, *rest: None if kind == "readiness" else real_probe(spec, kind, *rest),
    )
    body = json.loads(synthesize("large", root=FIXTURE).to_json())
    graph = Graph(body["project"], body["stack"], body["resources"], body["outputs"])
    messages = {v.message for v in run(graph, POLICIES, FIXTURE_CONFIG["large"])}
    assert messages == {
        f"container {name}: readinessProbe is missing" for name in ("greeter", "photos", "thumbs")
    }


def test_opening_the_endpoint_in_the_graph_fails_with_the_policys_message(fixture_graphs):
    body = json.loads(fixture_graphs["large"].to_json())
    eks = next(r for r in body["resources"] if r["type"] == "eks:index:Cluster")
    eks["inputs"] |= {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}
    violations = run(
        Graph("picturesocial", "large", body["resources"], {}), POLICIES, FIXTURE_CONFIG["large"]
    )
    assert [v.policy for v in violations] == ["eks-endpoint-private"]
    assert "open to 0.0.0.0/0" in violations[0].message
