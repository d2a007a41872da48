"""Kubernetes workloads: the restricted Pod Security profile, images from ECR by tag (from the stack's own
registry, by digest where required), a Service, PDB and HPA per Deployment, disjoint selectors, no default
namespace."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
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

ECR_IMAGE = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9._/-]+:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"
    r"(@sha256:[a-f0-9]{64})?$"
)


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


def _no_default_namespace(args: ResourceValidationArgs) -> Iterable[str]:
    if _get(args.props, "metadata.namespace") == "default":
        yield "objects must live in their domain's namespace, never `default` (CKV_K8S_21)"


def _ecr_images(args: ResourceValidationArgs) -> Iterable[str]:
    spec = pod_spec(args.props) or {}
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        image = container.get("image", "")
        match = ECR_IMAGE.match(image)
        if not match:
            yield f"container {container.get('name')}: image {image!r} is not from ECR with an explicit tag"
        elif match.group("tag") == "latest":
            yield f"container {container.get('name')}: image tag `latest` is mutable"


PINNED = re.compile(
    r"^(?P<host>[^/]+)/(?P<repository>[^:@]+):(?P<tag>[^@]+)(@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


def _pinned_from_own_registry(args: StackValidationArgs, report: ReportViolation) -> None:
    """Where the stack's policy config asks (staging and prod): every Deployment's image comes from the
    stack's own registry (images reach it by replication, docs/decisions/0033) and, with requireDigest, by
    digest."""
    config = args.get_config()
    registry, require_digest = config.get("registry"), config.get("requireDigest")
    for deployment in _objects(args, DEPLOYMENT):
        spec = pod_spec(deployment.props) or {}
        where = f"{_get(deployment.props, 'metadata.namespace')}/{_get(deployment.props, 'metadata.name')}"
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            image = container.get("image")
            if not isinstance(image, str):  # unknown until the repository exists: nothing to judge yet
                continue
            match = PINNED.match(image)
            name = container.get("name")
            if registry and (match is None or match.group("host") != registry):
                report(
                    f"Deployment {where} container {name}: image {image!r} is not from this stack's registry "
                    f"{registry}",
                    deployment.urn,
                )
            if require_digest and (match is None or match.group("digest") is None):
                report(
                    f"Deployment {where} container {name}: image {image!r} is not pinned by digest "
                    "(<repo>:<tag>@sha256:<64 hex>)",
                    deployment.urn,
                )


POD_TYPES = [
    DEPLOYMENT,
    "kubernetes:core/v1:Pod",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
]


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


POLICIES = [
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
        "images-from-ecr-tagged",
        "Images come from ECR with an explicit tag, never latest",
        POD_TYPES,
        _ecr_images,
    ),
    StackValidationPolicy(
        name="images-pinned-from-own-registry",
        description="Deployments run images from the stack's own registry, by digest where the stack "
        "requires "
        "it (staging, prod)",
        validate=_pinned_from_own_registry,
        enforcement_level=MANDATORY,
        config_schema=PolicyConfigSchema(
            properties={
                "registry": {"type": "string", "default": ""},
                "requireDigest": {"type": "boolean", "default": False},
            }
        ),
    ),
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
        name="deployment-selectors-disjoint",
        description="No two Deployments of a namespace select the same pods",
        validate=_selectors_disjoint,
        enforcement_level=MANDATORY,
    ),
]
