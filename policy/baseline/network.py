"""Traffic: NetworkPolicy peers and ports, default deny, ipBlocks inside the VPC, internal NLBs of the
load balancer controller that drain gracefully, and the public edge (stage, routes through the VPC link)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import (
    DEPLOYMENT,
    MANDATORY,
    _get,
    _objects,
    _resource_policy,
    _selects,
)

NLB_CLASS = "service.k8s.aws/nlb"


DEREGISTRATION_DELAY = re.compile(r"deregistration_delay\.timeout_seconds=(\d+)")


DEFAULT_DEREGISTRATION_DELAY = 300  # ELB's default when the Service does not set it


def _stage_guarded(args: ResourceValidationArgs) -> Iterable[str]:
    logs = args.props.get("accessLogSettings") or {}
    if not (logs.get("destinationArn") and logs.get("format")):
        yield "the stage has no access logs (accessLogSettings with a destination and a format)"
    route = args.props.get("defaultRouteSettings") or {}
    burst, rate = route.get("throttlingBurstLimit"), route.get("throttlingRateLimit")
    if not (isinstance(burst, (int, float)) and burst > 0 and isinstance(rate, (int, float)) and rate > 0):
        yield "the stage has no default route throttling (throttlingBurstLimit and throttlingRateLimit > 0)"


def _kube_dns(peer: dict) -> bool:
    return _get(peer, "namespaceSelector.matchLabels") == {
        "kubernetes.io/metadata.name": "kube-system"
    } and _get(peer, "podSelector.matchLabels") == {"k8s-app": "kube-dns"}


def _network_policy_rules(args: ResourceValidationArgs) -> Iterable[str]:
    spec = args.props.get("spec") or {}
    for i, rule in enumerate(spec.get("ingress") or []):
        if not rule.get("from"):
            yield f"ingress rule {i} names no peers (`from`): it admits every source"
    for i, rule in enumerate(spec.get("egress") or []):
        if not rule.get("ports"):
            yield f"egress rule {i} names no ports: it allows every port"
        if any(port.get("port") == 53 for port in rule.get("ports") or []) and not all(
            _kube_dns(peer) for peer in rule.get("to") or [{}]
        ):
            yield f"egress rule {i} opens DNS (53) to more than kube-dns in kube-system"


# The one egress without named peers: HTTPS to AWS's regional API endpoints (public addresses, reached through
# the NAT gateway), for an API the catalog grants AWS actions (workloads/api.py).
AWS_API_EGRESS = [{"port": 443, "protocol": "TCP"}]
NAMESPACE_NAME = "kubernetes.io/metadata.name"


def _unnamed_peer(peer: dict) -> str | None:
    """Why a peer admits more than named pods of a named namespace (or an address block), or None."""
    if "ipBlock" in peer:
        cidr = _get(peer, "ipBlock.cidr") or ""
        return f"ipBlock {cidr} is every address" if cidr in ("0.0.0.0/0", "::/0") else None
    namespaces = _get(peer, "namespaceSelector.matchLabels") or {}
    pods = _get(peer, "podSelector.matchLabels") or {}
    if not namespaces.get(NAMESPACE_NAME):
        return f"names no namespace (namespaceSelector.matchLabels {NAMESPACE_NAME})"
    if not pods:
        return "names no pods (an empty or missing podSelector admits every pod of the namespace)"
    return None


def _network_policy_peers_and_types(args: ResourceValidationArgs) -> Iterable[str]:
    spec = args.props.get("spec") or {}
    declared = set(spec.get("policyTypes") or [])
    for direction, kind in (("ingress", "Ingress"), ("egress", "Egress")):
        if spec.get(direction) and kind not in declared:
            yield (
                f"has {direction} rules but policyTypes {sorted(declared)} does not declare {kind}: "
                f"they silently stop applying"
            )
    for direction, key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            peers = rule.get(key)
            if not peers:
                if direction == "egress" and rule.get("ports") != AWS_API_EGRESS:
                    yield (
                        f"egress rule {i} names no peers beyond HTTPS to AWS (TCP 443): "
                        "it allows every address"
                    )
                continue  # an ingress rule without peers: network-policy-rules-name-peers-and-ports
            for j, peer in enumerate(peers):
                problem = _unnamed_peer(peer)
                if problem:
                    yield f"{direction} rule {i} peer {j} {problem}"


def _vpc_dns(args: ResourceValidationArgs) -> Iterable[str]:
    # Interface endpoints' private DNS names resolve only in a VPC with both (Amazon VPC User Guide, "DNS
    # attributes for your VPC": private DNS for interface endpoints needs enableDnsHostnames and
    # enableDnsSupport); EKS nodes need them to register with a private endpoint.
    if args.props.get("enableDnsSupport") is False:
        yield "the VPC turns DNS support off (enableDnsSupport): nodes and interface endpoints cannot resolve"
    if args.props.get("enableDnsHostnames") is not True:
        yield (
            "the VPC must enable DNS hostnames (enableDnsHostnames, off by default): "
            "interface endpoints need it"
        )


def _internal_load_balancer(args: ResourceValidationArgs) -> Iterable[str]:
    if _get(args.props, "spec.type") != "LoadBalancer":
        return
    annotations = _get(args.props, "metadata.annotations") or {}
    if annotations.get("service.beta.kubernetes.io/aws-load-balancer-scheme") != "internal":
        yield "LoadBalancer Service must carry aws-load-balancer-scheme: internal (no public load balancers)"


def _nlb_class(args: ResourceValidationArgs) -> Iterable[str]:
    # Without the class the in-tree cloud provider takes the Service and makes an internet-facing classic ELB
    # in the public subnets (unless the controller's webhook adds the class on create: not on an update that
    # turns a Service into a LoadBalancer).
    if (
        _get(args.props, "spec.type") == "LoadBalancer"
        and _get(args.props, "spec.loadBalancerClass") != NLB_CLASS
    ):
        yield (
            f"LoadBalancer Service must set spec.loadBalancerClass {NLB_CLASS} (AWS Load Balancer Controller)"
        )


def _default_deny(args: StackValidationArgs, report: ReportViolation) -> None:
    policies = _objects(args, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    for namespace in _objects(args, "kubernetes:core/v1:Namespace"):
        name = _get(namespace.props, "metadata.name")
        denies = [
            p
            for p in policies
            if _get(p.props, "metadata.namespace") == name
            and _get(p.props, "spec.podSelector") == {}
            and {"Ingress", "Egress"} <= set(_get(p.props, "spec.policyTypes") or [])
            and not _get(p.props, "spec.ingress")
            and not _get(p.props, "spec.egress")
        ]
        if not denies:
            report(
                f"namespace {name} has no default-deny NetworkPolicy for ingress and egress", namespace.urn
            )


def _graceful_deregistration(args: StackValidationArgs, report: ReportViolation) -> None:
    """Pods behind an NLB leave it without dropping requests: their namespace injects readiness gates, and
    each container sleeps in preStop at least as long as the target group drains, within the grace period."""
    namespaces = {
        _get(n.props, "metadata.name"): _get(n.props, "metadata.labels") or {}
        for n in _objects(args, "kubernetes:core/v1:Namespace")
    }
    for service in _objects(args, "kubernetes:core/v1:Service"):
        if _get(service.props, "spec.type") != "LoadBalancer":
            continue
        namespace = _get(service.props, "metadata.namespace")
        attributes = (_get(service.props, "metadata.annotations") or {}).get(
            "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes", ""
        )
        found = DEREGISTRATION_DELAY.search(attributes)
        delay = int(found.group(1)) if found else DEFAULT_DEREGISTRATION_DELAY
        if namespaces.get(namespace, {}).get("elbv2.k8s.aws/pod-readiness-gate-inject") != "enabled":
            report(
                f"namespace {namespace} has a LoadBalancer Service but no readiness-gate injection label: a "
                "rolling update can leave the NLB without a healthy target",
                service.urn,
            )
        selector = _get(service.props, "spec.selector") or {}
        for deployment in _objects(args, DEPLOYMENT):
            if _get(deployment.props, "metadata.namespace") != namespace or not _selects(
                selector, _get(deployment.props, "spec.template.metadata.labels") or {}
            ):
                continue
            spec = _get(deployment.props, "spec.template.spec") or {}
            grace = spec.get("terminationGracePeriodSeconds", 30)
            name = _get(deployment.props, "metadata.name")
            for container in spec.get("containers", []):
                sleep = _get(container, "lifecycle.preStop.sleep.seconds")
                if sleep is None or sleep < delay:
                    report(
                        f"Deployment {namespace}/{name} container {container.get('name')}: preStop sleeps "
                        f"{sleep or 0}s, less than the target group's deregistration delay {delay}s",
                        deployment.urn,
                    )
                elif grace <= sleep:
                    report(
                        f"Deployment {namespace}/{name}: terminationGracePeriodSeconds {grace} does not "
                        f"leave room after the {sleep}s preStop sleep",
                        deployment.urn,
                    )


ROUTE = "aws:apigatewayv2/route:Route"


INTEGRATION = "aws:apigatewayv2/integration:Integration"


def _routes_through_vpc_link(args: StackValidationArgs, report: ReportViolation) -> None:
    for route in _objects(args, ROUTE):
        key = route.props.get("routeKey")
        if key == "$default":
            report(
                "the $default route catches every request: routes must be the catalog's public paths",
                route.urn,
            )
        targets = [d for d in route.dependencies if d.resource_type == INTEGRATION]
        if not targets:
            report(f"route {key} targets no integration of this stack", route.urn)
        for target in targets:
            if target.props.get("connectionType") != "VPC_LINK":
                report(
                    f"route {key} reaches {target.name} outside the VPC link: public traffic goes only to "
                    "the internal NLBs",
                    route.urn,
                )


def _network_policies_in_the_vpc(args: StackValidationArgs, report: ReportViolation) -> None:
    """An ipBlock admits addresses; none may admit more than the VPC (the NLBs' addresses)."""
    vpcs = [
        ipaddress.IPv4Network(v.props["cidrBlock"])
        for v in _objects(args, "aws:ec2/vpc:Vpc")
        if v.props.get("cidrBlock")
    ]
    for policy in _objects(args, "kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        spec = policy.props.get("spec") or {}
        peers = [p for r in spec.get("ingress") or [] for p in r.get("from") or []]
        peers += [p for r in spec.get("egress") or [] for p in r.get("to") or []]
        for peer in peers:
            cidr = _get(peer, "ipBlock.cidr")
            if cidr and not any(ipaddress.IPv4Network(cidr).subnet_of(vpc) for vpc in vpcs):
                report(
                    f"NetworkPolicy {policy.name} admits ipBlock {cidr}, wider than the VPC "
                    f"{[str(v) for v in vpcs]}",
                    policy.urn,
                )


POLICIES = [
    _resource_policy(
        "api-stage-logged-and-throttled",
        "The HTTP API's stage writes access logs and throttles every route",
        ["aws:apigatewayv2/stage:Stage"],
        _stage_guarded,
    ),
    _resource_policy(
        "network-policy-rules-name-peers-and-ports",
        "Ingress rules name peers, egress rules name ports, DNS goes to kube-dns only",
        ["kubernetes:networking.k8s.io/v1:NetworkPolicy"],
        _network_policy_rules,
    ),
    _resource_policy(
        "network-policy-peers-named",
        "Every peer names its namespace and pods (or a block short of every address); every policy declares "
        "the policyTypes of the rules it carries",
        ["kubernetes:networking.k8s.io/v1:NetworkPolicy"],
        _network_policy_peers_and_types,
    ),
    _resource_policy(
        "vpc-dns-support-and-hostnames",
        "Every VPC resolves names and gives hostnames (interface endpoints and EKS nodes need both)",
        ["aws:ec2/vpc:Vpc"],
        _vpc_dns,
    ),
    _resource_policy(
        "load-balancers-internal",
        "Every LoadBalancer Service is internal",
        ["kubernetes:core/v1:Service"],
        _internal_load_balancer,
    ),
    _resource_policy(
        "load-balancer-services-nlb-class",
        "Every LoadBalancer Service is an NLB of the AWS Load Balancer Controller",
        ["kubernetes:core/v1:Service"],
        _nlb_class,
    ),
    StackValidationPolicy(
        name="namespaces-default-deny",
        description="Every namespace has a default-deny policy",
        validate=_default_deny,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="graceful-target-deregistration",
        description="Pods behind an NLB have readiness gates and drain before they stop",
        validate=_graceful_deregistration,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="network-policies-stay-in-the-vpc",
        description="No NetworkPolicy ipBlock is wider than the VPC",
        validate=_network_policies_in_the_vpc,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="routes-through-vpc-link",
        description="Every public route is a catalog path integrated through the VPC link",
        validate=_routes_through_vpc_link,
        enforcement_level=MANDATORY,
    ),
]
