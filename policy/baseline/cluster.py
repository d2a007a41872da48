"""The control plane and the nodes: endpoint, logs, secrets encryption, IMDS, private node subnets,
Karpenter's pools and node classes, the CloudWatch observability add-on."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import (
    EKS_CLUSTER,
    EKS_COMPONENT,
    MANDATORY,
    _get,
    _objects,
    _resource_policy,
)

DOCUMENTATION_RANGES = [
    ipaddress.IPv4Network(c) for c in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
]


WIDEST_PUBLIC_CIDR = 16


def _endpoint(args: ResourceValidationArgs) -> Iterable[str]:
    props = args.props.get("vpcConfig") or {}
    if not props.get("endpointPublicAccess", True):  # EKS's default is a public endpoint
        return
    cidrs = props.get("publicAccessCidrs") or []
    if not cidrs or any(ipaddress.ip_network(c).prefixlen == 0 for c in cidrs):
        yield (
            f"the public API endpoint is open to 0.0.0.0/0 ({cidrs or 'no allow-list'}); make it private "
            "or list the CIDRs that must reach it"
        )
        return
    for cidr in map(ipaddress.IPv4Network, cidrs):
        if any(cidr.subnet_of(doc) for doc in DOCUMENTATION_RANGES):
            yield (
                f"public endpoint CIDR {cidr} is a documentation range (RFC 5737): no client has such "
                "an address"
            )
        elif cidr.prefixlen < WIDEST_PUBLIC_CIDR:
            yield f"public endpoint CIDR {cidr} is wider than /{WIDEST_PUBLIC_CIDR}: it fences almost nothing"


def _logging(args: ResourceValidationArgs) -> Iterable[str]:
    missing = {"audit", "authenticator"} - set(args.props.get("enabledClusterLogTypes") or [])
    if missing:
        yield f"control-plane logging lacks {sorted(missing)} (CIS 2.1.1)"


def _secrets_encryption(args: ResourceValidationArgs) -> Iterable[str]:
    config = args.props.get("encryptionConfig") or {}
    if "secrets" not in (config.get("resources") or []) or not _get(config, "provider.keyArn"):
        yield "Kubernetes secrets are not envelope-encrypted with a KMS key (CIS 5.3.1)"


def _imds(args: ResourceValidationArgs) -> Iterable[str]:
    options = args.props.get("metadataOptions") or {}
    if options.get("httpTokens") != "required" or options.get("httpPutResponseHopLimit") != 1:
        yield (
            f"instances must require IMDSv2 with hop limit 1 (httpTokens={options.get('httpTokens')}, "
            f"hop limit={options.get('httpPutResponseHopLimit')}): pods could borrow the node role"
        )


def _node_pool_bounded(args: ResourceValidationArgs) -> Iterable[str]:
    limits = _get(args.props, "spec.limits") or {}
    missing = [kind for kind in ("cpu", "memory") if not limits.get(kind)]
    if missing:
        yield f"NodePool has no {' or '.join(missing)} limit: it could launch nodes without end"


def _node_class_hardened(args: ResourceValidationArgs) -> Iterable[str]:
    spec = args.props.get("spec") or {}
    metadata = spec.get("metadataOptions") or {}
    if metadata.get("httpTokens") != "required" or metadata.get("httpPutResponseHopLimit") != 1:
        yield "EC2NodeClass must require IMDSv2 with hop limit 1 (metadataOptions)"
    devices = spec.get("blockDeviceMappings") or []
    if not devices or not all(_get(d, "ebs.encrypted") is True for d in devices):
        yield (
            "EC2NodeClass must declare its volumes, every one encrypted (blockDeviceMappings[].ebs.encrypted)"
        )
    aliases = [term.get("alias", "") for term in spec.get("amiSelectorTerms") or []]
    if not aliases or any(not alias or alias.endswith("@latest") for alias in aliases):
        yield "EC2NodeClass must pin its AMI with an alias such as al2023@v20261112, never @latest"


def _node_groups_private(args: StackValidationArgs, report: ReportViolation) -> None:
    for group in _objects(args, "aws:eks/nodeGroup:NodeGroup"):
        subnets = [d for d in group.dependencies if d.resource_type == "aws:ec2/subnet:Subnet"]
        if not subnets:
            report(f"node group {group.name} depends on no subnet the policy can check", group.urn)
        for subnet in subnets:
            tags = subnet.props.get("tags") or {}
            if subnet.props.get("mapPublicIpOnLaunch") or tags.get("kubernetes.io/role/internal-elb") != "1":
                report(f"node group {group.name} uses subnet {subnet.name}, which is not private", group.urn)


OBSERVABILITY_ADDON = "amazon-cloudwatch-observability"


def _observability(args: StackValidationArgs, report: ReportViolation) -> None:
    clusters = _objects(args, EKS_COMPONENT) + _objects(args, EKS_CLUSTER)
    if not clusters:
        return
    found = [
        a for a in _objects(args, "aws:eks/addon:Addon") if a.props.get("addonName") == OBSERVABILITY_ADDON
    ]
    if not found:
        report(
            f"the cluster has no {OBSERVABILITY_ADDON} add-on: no container metrics, logs or alarms",
            clusters[0].urn,
        )
    for addon in found:
        if not addon.props.get("serviceAccountRoleArn"):
            report(
                f"{OBSERVABILITY_ADDON} has no serviceAccountRoleArn: its agent would run with the node role",
                addon.urn,
            )
        if not addon.props.get("addonVersion"):
            report(f"{OBSERVABILITY_ADDON} has no pinned addonVersion", addon.urn)


POLICIES = [
    _resource_policy(
        "eks-endpoint-private",
        "EKS API endpoint is private, or public only for a narrow allow-list",
        [EKS_CLUSTER],
        _endpoint,
    ),
    _resource_policy(
        "eks-control-plane-logging",
        "Control-plane logs include audit and authenticator",
        [EKS_CLUSTER],
        _logging,
    ),
    _resource_policy(
        "eks-secrets-encryption",
        "Kubernetes secrets are encrypted with a KMS key",
        [EKS_CLUSTER],
        _secrets_encryption,
    ),
    _resource_policy(
        "nodes-imdsv2-hop-limit-1",
        "Node launch templates require IMDSv2 with hop limit 1",
        ["aws:ec2/launchTemplate:LaunchTemplate"],
        _imds,
    ),
    _resource_policy(
        "karpenter-node-pools-bounded",
        "Every Karpenter NodePool limits its cpu and memory",
        ["kubernetes:karpenter.sh/v1:NodePool"],
        _node_pool_bounded,
    ),
    _resource_policy(
        "karpenter-node-classes-hardened",
        "Every EC2NodeClass requires IMDSv2 hop 1, encrypts its volumes and pins its AMI",
        ["kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"],
        _node_class_hardened,
    ),
    StackValidationPolicy(
        name="node-groups-private-subnets",
        description="Node groups run only in private subnets",
        validate=_node_groups_private,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="observability-addon-present",
        description="The cluster runs the CloudWatch observability add-on, pinned, with its own IAM role",
        validate=_observability,
        enforcement_level=MANDATORY,
    ),
]
