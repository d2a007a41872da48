"""The Picturesocial security and reliability baseline (EKS Best Practices Guide, CIS Amazon EKS Benchmark) as
CrossGuard policies. The rules live here once: `pulumi preview --policy-pack policy` runs them on the real
plan and the tests run them on the offline graph of every stack (tools/offline/policy_run.py).

Self-contained on purpose (imports only pulumi_policy and the standard library): the CLI loads this
module from policy/, the tests as policy.baseline.

The EKS rules check the cluster pulumi-eks creates (aws:eks/cluster:Cluster), the shape a real preview's
analyzer sees; the offline policy run hands them that shape too (tools/offline/remote.py).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

MANDATORY = EnforcementLevel.MANDATORY
EKS_COMPONENT = "eks:index:Cluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NLB_CLASS = "service.k8s.aws/nlb"
DEREGISTRATION_DELAY = re.compile(r"deregistration_delay\.timeout_seconds=(\d+)")
DEFAULT_DEREGISTRATION_DELAY = 300  # ELB's default when the Service does not set it
DOCUMENTATION_RANGES = [
    ipaddress.IPv4Network(c) for c in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
]
WIDEST_PUBLIC_CIDR = 16
ECR_IMAGE = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9._/-]+:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"
    r"(@sha256:[a-f0-9]{64})?$"
)
# Deleting any of these loses data or the platform (eks-baseline "Keeping data and resources").
STATEFUL = {
    "aws:kms/key:Key",
    EKS_COMPONENT,
    EKS_CLUSTER,
    "aws:ec2/vpc:Vpc",
    "aws:ecr/repository:Repository",
    "aws:s3/bucket:Bucket",
    "aws:dynamodb/table:Table",
    "kubernetes:core/v1:Namespace",
}


def _get(props: Any, path: str, default: Any = None) -> Any:
    for part in path.split("."):
        if not isinstance(props, dict) or part not in props:
            return default
        props = props[part]
    return props


def _resource_policy(
    name: str,
    description: str,
    types: Iterable[str] | Callable[[str], bool],
    check: Callable[[ResourceValidationArgs], Iterable[str]],
    config_schema: PolicyConfigSchema | None = None,
) -> ResourceValidationPolicy:
    applies = types if callable(types) else set(types).__contains__

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if applies(args.resource_type):
            for message in check(args):
                report(message, None)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=MANDATORY,
        config_schema=config_schema,
    )


# -- control plane -----------------------------------------------------------------------------------


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


# -- nodes, registry, data -----------------------------------------------------------------------------


def _imds(args: ResourceValidationArgs) -> Iterable[str]:
    options = args.props.get("metadataOptions") or {}
    if options.get("httpTokens") != "required" or options.get("httpPutResponseHopLimit") != 1:
        yield (
            f"instances must require IMDSv2 with hop limit 1 (httpTokens={options.get('httpTokens')}, "
            f"hop limit={options.get('httpPutResponseHopLimit')}): pods could borrow the node role"
        )


def _ecr(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("imageTagMutability") != "IMMUTABLE":
        yield "ECR tags must be IMMUTABLE: a pushed tag must always mean the same image"
    if not _get(args.props, "imageScanningConfiguration.scanOnPush"):
        yield "ECR repositories must scan on push"


def _public_access_block(args: ResourceValidationArgs) -> Iterable[str]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    off = [flag for flag in flags if args.props.get(flag) is not True]
    if off:
        yield f"S3 public access is not fully blocked: {off} not true"


def _bucket_encryption(args: ResourceValidationArgs) -> Iterable[str]:
    rules = args.props.get("rules") or []
    algorithms = {_get(r, "applyServerSideEncryptionByDefault.sseAlgorithm") for r in rules}
    if not algorithms & {"aws:kms", "aws:kms:dsse", "AES256"}:
        yield "S3 default encryption is not configured"


def _tls_only(args: ResourceValidationArgs) -> Iterable[str]:
    document = args.props.get("policy")
    statements = json.loads(document).get("Statement", []) if isinstance(document, str) else []
    denies_plain_http = [
        s
        for s in statements
        if s.get("Effect") == "Deny"
        and _get(s, "Condition.Bool", {}).get("aws:SecureTransport") in ("false", False)
        and s.get("Action") in ("s3:*", ["s3:*"])
        and s.get("Principal") in ("*", {"AWS": "*"})
    ]
    if not denies_plain_http:
        yield "the bucket policy must deny every s3 action without TLS (Deny if aws:SecureTransport is false)"


def _dynamodb_encryption(args: ResourceValidationArgs) -> Iterable[str]:
    if not _get(args.props, "serverSideEncryption.enabled"):
        yield "DynamoDB tables must be encrypted with a KMS key (serverSideEncryption.enabled)"


def _pitr(args: ResourceValidationArgs) -> Iterable[str]:
    if not _get(args.props, "pointInTimeRecovery.enabled"):
        yield "DynamoDB tables must have point-in-time recovery"


# Permissions boundaries cap what a role's policies allow and grant nothing themselves (bootstrap/github.py);
# they live under this IAM path and are read as caps, not grants.
BOUNDARY_PATH = "/boundaries/"


def _grants(args: ResourceValidationArgs) -> bool:
    return args.props.get("path") != BOUNDARY_PATH


def _allow_statements(args: ResourceValidationArgs) -> Iterable[dict[str, Any]]:
    """The Allow statements of an IAM policy resource that grants (not a permissions boundary)."""
    document = args.props.get("policy")
    if not _grants(args) or not isinstance(document, str):
        return
    statements = json.loads(document).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") == "Allow":
            yield statement


def _iam_wildcards(args: ResourceValidationArgs) -> Iterable[str]:
    for statement in _allow_statements(args):
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            if "*" in action:
                yield f"IAM policy grants wildcard action {action!r}; list the actions"


# Verbs that read; any other action changes something (IAM service authorization reference naming).
READ_ONLY_VERBS = (
    "Describe",
    "Get",
    "List",
    "Detect",
    "Search",
    "Lookup",
    "BatchGet",
    "Query",
    "Scan",
    "View",
)


def _iam_mutations_scoped(args: ResourceValidationArgs) -> Iterable[str]:
    for statement in _allow_statements(args):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if "*" not in resources or statement.get("Condition"):
            continue
        actions = statement.get("Action", [])
        mutating = [
            a
            for a in ([actions] if isinstance(actions, str) else actions)
            if not a.split(":")[-1].startswith(READ_ONLY_VERBS)
        ]
        if mutating:
            yield (
                f'IAM statement {statement.get("Sid", "")!r} allows {mutating} on every resource ("*") '
                "with no condition; name the resources or add a condition"
            )


def _log_retention(args: ResourceValidationArgs) -> Iterable[str]:
    days = args.props.get("retentionInDays")
    if not isinstance(days, (int, float)) or days <= 0:
        yield "log groups must set retentionInDays: without it CloudWatch keeps every event forever"


def _stage_guarded(args: ResourceValidationArgs) -> Iterable[str]:
    logs = args.props.get("accessLogSettings") or {}
    if not (logs.get("destinationArn") and logs.get("format")):
        yield "the stage has no access logs (accessLogSettings with a destination and a format)"
    route = args.props.get("defaultRouteSettings") or {}
    burst, rate = route.get("throttlingBurstLimit"), route.get("throttlingRateLimit")
    if not (isinstance(burst, (int, float)) and burst > 0 and isinstance(rate, (int, float)) and rate > 0):
        yield "the stage has no default route throttling (throttlingBurstLimit and throttlingRateLimit > 0)"


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


def _alarm_actions(args: ResourceValidationArgs) -> Iterable[str]:
    if not args.props.get("alarmActions"):
        yield "the alarm has no alarmActions: it changes state and nobody is told"


def _topic_encrypted(args: ResourceValidationArgs) -> Iterable[str]:
    if not args.props.get("kmsMasterKeyId"):
        yield "SNS topics must be encrypted with a KMS key (kmsMasterKeyId)"


# -- Kubernetes workloads ----------------------------------------------------------------------------


def pod_spec(props: Mapping[str, Any]) -> dict | None:
    if props.get("kind") == "Pod":
        return props.get("spec")
    return _get(props, "spec.template.spec")


def _restricted_pod(args: ResourceValidationArgs) -> Iterable[str]:
    spec = pod_spec(args.props)
    if not spec:
        return
    pod = spec.get("securityContext") or {}
    if pod.get("runAsNonRoot") is not True:
        yield "pod securityContext.runAsNonRoot must be true"
    if _get(pod, "seccompProfile.type") != "RuntimeDefault":
        yield "pod securityContext.seccompProfile.type must be RuntimeDefault"
    if pod.get("runAsUser") == 0:
        yield "pod securityContext.runAsUser must not be 0 (root)"
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        name = container.get("name")
        sc = container.get("securityContext") or {}
        # A container's own settings override the pod's: checked the same way.
        if sc.get("runAsNonRoot") is False:
            yield f"container {name}: securityContext.runAsNonRoot is false, overriding the pod's"
        if sc.get("runAsUser") == 0:
            yield f"container {name}: securityContext.runAsUser must not be 0 (root)"
        if "seccompProfile" in sc and _get(sc, "seccompProfile.type") != "RuntimeDefault":
            yield f"container {name}: securityContext.seccompProfile.type must be RuntimeDefault"
        if sc.get("allowPrivilegeEscalation") is not False:
            yield f"container {name}: allowPrivilegeEscalation must be false"
        if sc.get("readOnlyRootFilesystem") is not True:
            yield f"container {name}: readOnlyRootFilesystem must be true"
        if "ALL" not in (_get(sc, "capabilities.drop") or []):
            yield f"container {name}: capabilities must drop ALL"
        if sc.get("privileged"):
            yield f"container {name}: must not be privileged"
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            missing = {"cpu", "memory"} - set(resources.get(kind) or {})
            if missing:
                yield f"container {name}: {kind} lack {sorted(missing)}"
        for probe in ("readinessProbe", "livenessProbe"):
            if not container.get(probe):
                yield f"container {name}: {probe} is missing"
        readiness, liveness = container.get("readinessProbe") or {}, container.get("livenessProbe") or {}
        if "httpGet" in liveness and _get(liveness, "httpGet.path") == _get(readiness, "httpGet.path"):
            # Readiness may check dependencies; liveness on the same handler restarts pods when one is down.
            path = _get(liveness, "httpGet.path")
            yield f"container {name}: livenessProbe uses the readiness handler {path}"


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


def _no_default_namespace(args: ResourceValidationArgs) -> Iterable[str]:
    if _get(args.props, "metadata.namespace") == "default":
        yield "objects must live in their domain's namespace, never `default` (CKV_K8S_21)"


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


def _ecr_images(args: ResourceValidationArgs) -> Iterable[str]:
    spec = pod_spec(args.props) or {}
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        image = container.get("image", "")
        match = ECR_IMAGE.match(image)
        if not match:
            yield f"container {container.get('name')}: image {image!r} is not from ECR with an explicit tag"
        elif match.group("tag") == "latest":
            yield f"container {container.get('name')}: image tag `latest` is mutable"


POD_TYPES = [
    DEPLOYMENT,
    "kubernetes:core/v1:Pod",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
]

RESOURCE_POLICIES = [
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
        "ecr-immutable-scanned",
        "ECR repositories have immutable tags and scan on push",
        ["aws:ecr/repository:Repository"],
        _ecr,
    ),
    _resource_policy(
        "s3-public-access-blocked",
        "S3 public access is fully blocked",
        ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
        _public_access_block,
    ),
    _resource_policy(
        "s3-encrypted",
        "S3 default encryption is on",
        ["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"],
        _bucket_encryption,
    ),
    _resource_policy(
        "dynamodb-pitr", "DynamoDB tables have point-in-time recovery", ["aws:dynamodb/table:Table"], _pitr
    ),
    _resource_policy(
        "iam-no-wildcard-actions",
        "IAM policies grant no wildcard actions",
        ["aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"],
        _iam_wildcards,
    ),
    _resource_policy(
        "iam-mutations-scoped",
        'IAM statements that change something on every resource ("*") carry a condition',
        ["aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"],
        _iam_mutations_scoped,
    ),
    _resource_policy(
        "s3-tls-only",
        "Bucket policies deny every request without TLS",
        ["aws:s3/bucketPolicy:BucketPolicy"],
        _tls_only,
    ),
    _resource_policy(
        "dynamodb-encrypted",
        "DynamoDB tables are encrypted with a KMS key",
        ["aws:dynamodb/table:Table"],
        _dynamodb_encryption,
    ),
    _resource_policy(
        "log-groups-have-retention",
        "Every CloudWatch log group expires its events",
        ["aws:cloudwatch/logGroup:LogGroup"],
        _log_retention,
    ),
    _resource_policy(
        "api-stage-logged-and-throttled",
        "The HTTP API's stage writes access logs and throttles every route",
        ["aws:apigatewayv2/stage:Stage"],
        _stage_guarded,
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
    _resource_policy(
        "alarms-notify",
        "Every CloudWatch alarm notifies someone",
        ["aws:cloudwatch/metricAlarm:MetricAlarm"],
        _alarm_actions,
    ),
    _resource_policy(
        "sns-topics-encrypted",
        "SNS topics are encrypted with a KMS key",
        ["aws:sns/topic:Topic"],
        _topic_encrypted,
    ),
    _resource_policy(
        "network-policy-rules-name-peers-and-ports",
        "Ingress rules name peers, egress rules name ports, DNS goes to kube-dns only",
        ["kubernetes:networking.k8s.io/v1:NetworkPolicy"],
        _network_policy_rules,
    ),
    _resource_policy(
        "pods-restricted-profile",
        "Containers meet the restricted Pod Security profile, with requests, limits and probes",
        POD_TYPES,
        _restricted_pod,
    ),
    _resource_policy(
        "no-default-namespace",
        "No object in the default namespace",
        lambda typ: typ.startswith("kubernetes:"),
        _no_default_namespace,
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
    _resource_policy(
        "images-from-ecr-tagged",
        "Images come from ECR with an explicit tag, never latest",
        POD_TYPES,
        _ecr_images,
    ),
]


# -- stack policies ------------------------------------------------------------------------------------


def _objects(args: StackValidationArgs, typ: str) -> list:
    return [r for r in args.resources if r.resource_type == typ]


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _deployment_companions(args: StackValidationArgs, report: ReportViolation) -> None:
    services = _objects(args, "kubernetes:core/v1:Service")
    pdbs = _objects(args, "kubernetes:policy/v1:PodDisruptionBudget")
    hpas = _objects(args, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    for deployment in _objects(args, DEPLOYMENT):
        props = deployment.props
        namespace, name = _get(props, "metadata.namespace"), _get(props, "metadata.name")
        labels = _get(props, "spec.template.metadata.labels") or {}

        def same_ns(objs: list, namespace: str = namespace) -> list:
            return [o for o in objs if _get(o.props, "metadata.namespace") == namespace]

        if not any(_selects(_get(s.props, "spec.selector") or {}, labels) for s in same_ns(services)):
            report(f"Deployment {namespace}/{name} has no Service selecting its pods", deployment.urn)
        if not any(_selects(_get(p.props, "spec.selector.matchLabels") or {}, labels) for p in same_ns(pdbs)):
            report(f"Deployment {namespace}/{name} has no PodDisruptionBudget", deployment.urn)
        targeted = any(_get(h.props, "spec.scaleTargetRef.name") == name for h in same_ns(hpas))
        # A canary runs a fixed, small replica count beside its HPA-scaled stable Deployment.
        fixed_canary = (
            _get(props, "spec.selector.matchLabels.track") == "canary"
            and _get(props, "spec.replicas") is not None
        )
        if not targeted and not fixed_canary:
            report(f"Deployment {namespace}/{name} has no HorizontalPodAutoscaler", deployment.urn)


def _hpa_owns_replicas(args: StackValidationArgs, report: ReportViolation) -> None:
    for hpa in _objects(args, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"):
        namespace, target = _get(hpa.props, "metadata.namespace"), _get(hpa.props, "spec.scaleTargetRef.name")
        for deployment in _objects(args, DEPLOYMENT):
            if (_get(deployment.props, "metadata.namespace"), _get(deployment.props, "metadata.name")) == (
                namespace,
                target,
            ) and _get(deployment.props, "spec.replicas") is not None:
                report(
                    f"Deployment {namespace}/{target} pins spec.replicas but is scaled by an HPA: every "
                    "deployment would reset the scale",
                    deployment.urn,
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


def _node_groups_private(args: StackValidationArgs, report: ReportViolation) -> None:
    for group in _objects(args, "aws:eks/nodeGroup:NodeGroup"):
        subnets = [d for d in group.dependencies if d.resource_type == "aws:ec2/subnet:Subnet"]
        if not subnets:
            report(f"node group {group.name} depends on no subnet the policy can check", group.urn)
        for subnet in subnets:
            tags = subnet.props.get("tags") or {}
            if subnet.props.get("mapPublicIpOnLaunch") or tags.get("kubernetes.io/role/internal-elb") != "1":
                report(f"node group {group.name} uses subnet {subnet.name}, which is not private", group.urn)


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


GITHUB_OIDC = "token.actions.githubusercontent.com"
GITHUB_SUBJECT = re.compile(r"^repo:([^/*?]+/[^:*?]+):(pull_request|environment:[A-Za-z0-9_.-]+)$")


def _github_trust(args: StackValidationArgs, report: ReportViolation) -> None:
    """Roles GitHub's OIDC tokens may assume admit one exact subject of one repository: a pull request of it,
    or one of its environments; never a wildcard (`repo:org/*` lets every repository of the organization
    in). The stack's policy config names the repository, the one environment that may deploy, and the deploy
    role, which admits that environment and nothing else."""
    config = args.get_config()
    repository, environment, deploy_role = (
        config.get("repository"),
        config.get("deployEnvironment"),
        config.get("deployRole"),
    )
    repositories: set[str] = set()
    for role in _objects(args, "aws:iam/role:Role"):
        document = role.props.get("assumeRolePolicy")
        if not isinstance(document, str) or GITHUB_OIDC not in document:
            continue
        if not (repository and environment and deploy_role):
            report(
                f"role {role.name} trusts GitHub, and the policy config does not name the repository, "
                "deployEnvironment and deployRole it may trust (policy/config/bootstrap/<stack>.json)",
                role.urn,
            )
            return
        for statement in json.loads(document).get("Statement", []):
            condition = statement.get("Condition") or {}
            equals = condition.get("StringEquals") or {}
            if set(condition) - {"StringEquals"}:
                report(
                    f"role {role.name} trusts GitHub under {sorted(set(condition) - {'StringEquals'})}",
                    role.urn,
                )
            if equals.get(f"{GITHUB_OIDC}:aud") != "sts.amazonaws.com":
                report(f"role {role.name} trusts GitHub tokens of any audience", role.urn)
            subject = equals.get(f"{GITHUB_OIDC}:sub")
            match = GITHUB_SUBJECT.match(subject) if isinstance(subject, str) else None
            if match is None:
                report(
                    f"role {role.name} trusts GitHub subject {subject!r}: one repo:<owner>/<name> subject",
                    role.urn,
                )
            else:
                repositories.add(match.group(1))
                if match.group(1) != repository:
                    report(f"role {role.name} trusts {match.group(1)!r}, not {repository!r}", role.urn)
                if (
                    match.group(2).startswith("environment:")
                    and match.group(2) != f"environment:{environment}"
                ):
                    report(
                        f"role {role.name} trusts GitHub {match.group(2)!r}; this account deploys "
                        f"environment {environment!r} only",
                        role.urn,
                    )
                if role.props.get("name") == deploy_role and match.group(2) != f"environment:{environment}":
                    report(
                        f"deploy role {role.name} trusts {match.group(2)!r}: it admits the environment "
                        f"{environment!r} only",
                        role.urn,
                    )
    if len(repositories) > 1:
        report(f"GitHub roles of this stack trust several repositories: {sorted(repositories)}", None)


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


def _protected_in_prod(args: StackValidationArgs, report: ReportViolation) -> None:
    if not args.get_config().get("requireProtection"):
        return
    for resource in args.resources:
        if resource.resource_type in STATEFUL and not resource.opts.protect:
            report(
                f"{resource.resource_type} {resource.name} holds state and must be protected in this stack",
                resource.urn,
            )
        if resource.resource_type == "aws:s3/bucket:Bucket" and resource.props.get("forceDestroy"):
            report(
                f"bucket {resource.name} has forceDestroy: a destroy would delete its objects", resource.urn
            )


# The node role's managed policies (infra/node_groups.py): kubelet, VPC CNI, read-only ECR, SSM instead of
# SSH.
NODE_ROLE_POLICIES = {
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
}


def _trusts(role: Any, service: str) -> bool:
    document = role.props.get("assumeRolePolicy")
    statements = json.loads(document).get("Statement", []) if isinstance(document, str) else []
    return any(_get(s, "Principal.Service") == service for s in statements)


def _node_role_policies(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every role EC2 instances assume (node roles) has exactly the node policies, and no inline policy: a
    broader node role is what every pod could borrow."""
    for role in (r for r in _objects(args, "aws:iam/role:Role") if _trusts(r, "ec2.amazonaws.com")):
        attached: set[str] = {
            a.props.get("policyArn", "")
            for a in args.resources
            if a.resource_type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
            and role in a.dependencies
        }
        if attached != NODE_ROLE_POLICIES:
            report(
                f"node role {role.name} has managed policies {sorted(attached)}, not exactly "
                f"{sorted(NODE_ROLE_POLICIES)}",
                role.urn,
            )
        inline = [p.name for p in _objects(args, "aws:iam/rolePolicy:RolePolicy") if role in p.dependencies]
        if inline:
            report(f"node role {role.name} has inline policies {inline}", role.urn)


def _selectors_disjoint(args: StackValidationArgs, report: ReportViolation) -> None:
    """No two Deployments of a namespace select the same pods (stable and canary differ by `track`): an
    overlap makes each ReplicaSet fight over the other's pods."""
    deployments = _objects(args, DEPLOYMENT)
    for i, first in enumerate(deployments):
        for second in deployments[i + 1 :]:
            if _get(first.props, "metadata.namespace") != _get(second.props, "metadata.namespace"):
                continue
            a = _get(first.props, "spec.selector.matchLabels") or {}
            b = _get(second.props, "spec.selector.matchLabels") or {}
            if not any(key in b and b[key] != value for key, value in a.items()):
                report(
                    f"Deployments {first.name} and {second.name} have overlapping selectors {a} and {b}",
                    second.urn,
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


def _account_guard(args: StackValidationArgs, report: ReportViolation) -> None:
    """The AWS provider acts only in the account this stack is for (its policy config says which)."""
    expected = args.get_config().get("expectedAccountId")
    providers = [p for p in args.resources if p.resource_type == "pulumi:providers:aws"]
    if not expected:
        report("no expectedAccountId is configured for this stack (policy/config/<stack>.json)", None)
        return
    for provider in providers:
        allowed = provider.props.get("allowedAccountIds")
        allowed = json.loads(allowed) if isinstance(allowed, str) else allowed
        if allowed != [expected]:
            report(
                f"the AWS provider {provider.name} allows accounts {allowed}, not exactly [{expected!r}]",
                provider.urn,
            )


STACK_POLICIES = [
    StackValidationPolicy(
        name="deployments-have-service-pdb-hpa",
        description="Every Deployment has a Service selecting it, a PDB and an HPA",
        validate=_deployment_companions,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="hpa-owns-replicas",
        description="No HPA-targeted Deployment pins spec.replicas",
        validate=_hpa_owns_replicas,
        enforcement_level=MANDATORY,
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
        name="node-groups-private-subnets",
        description="Node groups run only in private subnets",
        validate=_node_groups_private,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="node-role-has-node-policies-only",
        description="Node roles have exactly the node managed policies and no inline policy",
        validate=_node_role_policies,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="deployment-selectors-disjoint",
        description="No two Deployments of a namespace select the same pods",
        validate=_selectors_disjoint,
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
    StackValidationPolicy(
        name="github-oidc-trust-scoped",
        description="Roles trusting GitHub admit one exact subject of the configured repository, for STS "
        "only; the deploy role admits its environment only",
        validate=_github_trust,
        enforcement_level=MANDATORY,
        config_schema=PolicyConfigSchema(
            properties={
                "repository": {"type": "string"},
                "deployEnvironment": {"type": "string"},
                "deployRole": {"type": "string"},
            }
        ),
    ),
    StackValidationPolicy(
        name="observability-addon-present",
        description="The cluster runs the CloudWatch observability add-on, pinned, with its own IAM role",
        validate=_observability,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="account-guard",
        description="The AWS provider allows exactly the stack's expected account",
        validate=_account_guard,
        enforcement_level=MANDATORY,
        config_schema=PolicyConfigSchema(properties={"expectedAccountId": {"type": "string"}}),
    ),
    StackValidationPolicy(
        name="stateful-resources-protected",
        description="Stateful resources are protected where the stack requires it (prod)",
        validate=_protected_in_prod,
        enforcement_level=MANDATORY,
        config_schema=PolicyConfigSchema(
            properties={"requireProtection": {"type": "boolean", "default": False}}
        ),
    ),
]

POLICIES = RESOURCE_POLICIES + STACK_POLICIES
