"""The API catalog (workloads/catalog.yaml): what each API is, independent of the environment."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from settings.base import Model, Name, matching
from settings.errors import rule, rules
from settings.quantity import parse_quantity


def quantity(value: str, kind: str, example: str) -> Decimal:
    """A Kubernetes quantity as the API server reads it (the kubernetes client's own parser)."""
    try:
        return parse_quantity(value)
    except ValueError:
        raise rule(
            f'"{value}" is not a Kubernetes {kind} quantity (a number with an optional suffix such as '
            f"{example}; the suffixes are Ki Mi Gi Ti Pi Ei, k M G T P E, m)"
        ) from None


class Quantities(Model):
    cpu: str
    memory: str

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str) -> str:
        quantity(value, "CPU", "250m or 0.5")
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        if quantity(value, "memory", "256Mi or 0.5Gi") < 1:
            raise rule(f'"{value}" is less than one byte: memory has no millibytes (write 256Mi, not 256m)')
        return value


class Resources(Model):
    requests: Quantities
    limits: Quantities

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> Resources:
        problems = [
            (
                f"limits.{kind}",
                f'"{getattr(self.limits, kind)}" is below the request "{getattr(self.requests, kind)}"',
            )
            for kind in ("cpu", "memory")
            if parse_quantity(getattr(self.limits, kind)) < parse_quantity(getattr(self.requests, kind))
        ]
        if problems:
            raise rules(problems)
        return self


class Autoscaling(Model):
    min_replicas: int = Field(2, ge=1, le=100)
    max_replicas: int = Field(10, ge=1, le=500)
    cpu_utilization: int = Field(70, ge=10, le=100)

    @model_validator(mode="after")
    def _bounds_in_order(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise rule(
                f"{self.min_replicas} is greater than maxReplicas {self.max_replicas}", field="minReplicas"
            )
        return self


class HttpCheck(Model):
    """An HTTP GET on the container's ``http`` port; 200-399 counts as success."""

    path: str = Field(pattern=r"^/[^\s]*$")


class TcpCheck(Model):
    """A TCP connect on the container's ``http`` port: the process listens, nothing more."""


class Probe(Model):
    """One probe: exactly one of ``http`` or ``tcp``, and optional timing (Kubernetes' own field names).
    Timing left out takes the defaults of its kind (workloads/api.py PROBE_TIMING)."""

    http: HttpCheck | None = None
    tcp: TcpCheck | None = None
    initial_delay_seconds: int | None = Field(None, ge=0, le=3600)
    period_seconds: int | None = Field(None, ge=1, le=300)
    timeout_seconds: int | None = Field(None, ge=1, le=60)
    failure_threshold: int | None = Field(None, ge=1, le=120)

    @model_validator(mode="after")
    def _one_kind(self) -> Probe:
        if (self.http is None) == (self.tcp is None):
            raise rule(
                "must be exactly one of http: {path: ...} or tcp: {}", field="http" if self.http else None
            )
        return self

    @property
    def timing(self) -> dict[str, int]:
        fields = ("initial_delay_seconds", "period_seconds", "timeout_seconds", "failure_threshold")
        return {name: getattr(self, name) for name in fields if getattr(self, name) is not None}


class Probes(Model):
    readiness: Probe
    liveness: Probe
    # For slow starters (.NET): liveness and readiness wait until it succeeds once.
    startup: Probe | None = None

    @model_validator(mode="after")
    def _liveness_checks_only_the_process(self) -> Probes:
        # Readiness may check dependencies; a liveness probe that does restarts every pod whenever a
        # dependency is down, which never fixes the dependency.
        if self.liveness.http and self.readiness.http and self.liveness.http.path == self.readiness.http.path:
            raise rule(
                f'"{self.liveness.http.path}" is also the readiness path; liveness must check only that '
                "the process is alive (tcp: {} or a route that calls nothing outside the pod)",
                field="liveness.http.path",
            )
        return self


DynamoAction = Literal[
    "GetItem",
    "BatchGetItem",
    "Query",
    "Scan",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "ConditionCheckItem",
]


class AwsAccess(Model):
    rekognition: list[Literal["DetectLabels", "DetectText", "DetectFaces", "DetectModerationLabels"]] = []
    s3_read: list[Name] = []
    dynamodb: dict[Name, list[DynamoAction]] = {}

    @property
    def any(self) -> bool:
        return bool(self.rekognition or self.s3_read or self.dynamodb)


PublicPath = Annotated[
    str,
    matching(
        r"/[^\s{}]*[^\s{}/]",
        "a path such as /api/Picture: starting with '/', not ending with '/', without spaces, '{' or '}' "
        "(the routes add /{proxy+} themselves)",
    ),
]


class Public(Model):
    """Routes on the stack's HTTP API (infra/edge.py): each path is ``ANY <path>`` and ``ANY
    <path>/{proxy+}``, to this API's internal NLB through the VPC link. Route keys are case-sensitive."""

    paths: list[PublicPath] = Field(min_length=1, description="the public paths of this API")
    anonymous: list[PublicPath] = Field(
        [], description="paths among `paths` that skip the stack's JWT authorizer (when it has one)"
    )

    @model_validator(mode="after")
    def _anonymous_are_own_paths(self) -> Public:
        problems: list[tuple[str | None, str]] = []
        for i, path in enumerate(self.paths):
            if path in self.paths[:i]:
                problems.append((f"paths[{i}]", f'"{path}" is listed twice'))
        for i, path in enumerate(self.anonymous):
            if path not in self.paths:
                problems.append((f"anonymous[{i}]", f'"{path}" is not one of this API\'s paths'))
        if problems:
            raise rules(problems)
        return self


class ApiSpec(Model):
    namespace: Name
    port: int = Field(ge=1024, le=65535)  # non-root containers cannot bind below 1024
    probes: Probes
    resources: Resources
    autoscaling: Autoscaling = Autoscaling()
    exposed: bool = False
    public: Public | None = None
    allow_from: list[Name] = []
    aws: AwsAccess = AwsAccess()

    @model_validator(mode="after")
    def _public_needs_a_load_balancer(self) -> ApiSpec:
        if self.public is not None and not self.exposed:
            raise rule(
                "requires exposed: true: public routes reach the API through its internal NLB", field="public"
            )
        return self


@dataclass(frozen=True)
class NamespaceSpec:
    """What a namespace's APIs imply for it."""

    apis: list[str]
    egress_to: list[tuple[str, int]]  # (namespace, port) of the APIs elsewhere its pods may call
    load_balanced: bool  # an API here has an NLB: its target health gates the pods' readiness


def _route_conflicts(apis: dict[str, ApiSpec]) -> list[tuple[str | None, str]]:
    """Two APIs may not claim the same path, nor one a path below another's on a segment boundary: the
    second would answer part of the first one's ``{proxy+}`` route."""
    owners: list[tuple[str, int, str]] = [
        (name, i, path)
        for name, api in sorted(apis.items())
        if api.public
        for i, path in enumerate(api.public.paths)
    ]
    problems: list[tuple[str | None, str]] = []
    for name, i, path in owners:
        for other, _, claimed in owners:
            if other == name:
                continue
            if path == claimed and other < name:  # reported once, on the second owner
                problems.append((f"apis.{name}.public.paths[{i}]", f'"{path}" is also a path of {other}'))
            elif path.startswith(claimed + "/"):
                problems.append(
                    (
                        f"apis.{name}.public.paths[{i}]",
                        f'"{path}" lies under {other}\'s "{claimed}", whose {claimed}/{{proxy+}} route it '
                        "would shadow",
                    )
                )
    return problems


class Table(Model):
    hash_key: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,255}$")


class Catalog(Model):
    buckets: dict[Name, dict] = {}
    tables: dict[Name, Table] = {}
    apis: dict[Name, ApiSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalog:
        namespaces = {api.namespace for api in self.apis.values()}
        problems: list[tuple[str | None, str]] = []
        for name, api in self.apis.items():
            for i, namespace in enumerate(api.allow_from):
                if namespace not in namespaces:
                    problems.append(
                        (
                            f"apis.{name}.allowFrom[{i}]",
                            f'"{namespace}" is not the namespace of any API '
                            f"({', '.join(sorted(namespaces))})",
                        )
                    )
            for i, bucket in enumerate(api.aws.s3_read):
                if bucket not in self.buckets:
                    problems.append(
                        (f"apis.{name}.aws.s3Read[{i}]", f'"{bucket}" is not a bucket declared under buckets')
                    )
            for table in api.aws.dynamodb:
                if table not in self.tables:
                    problems.append(
                        (
                            f"apis.{name}.aws.dynamodb.{table}",
                            f'"{table}" is not a table declared under tables',
                        )
                    )
        problems += _route_conflicts(self.apis)
        if problems:
            raise rules(problems)
        return self

    @property
    def namespaces(self) -> dict[str, NamespaceSpec]:
        """Every business-domain namespace, with what its APIs imply for it."""
        out = {}
        for namespace in sorted({api.namespace for api in self.apis.values()}):
            apis = sorted(name for name, api in self.apis.items() if api.namespace == namespace)
            # Calls out: to every API elsewhere that lists this namespace in allowFrom, on that API's port.
            egress = sorted(
                {
                    (api.namespace, api.port)
                    for api in self.apis.values()
                    if namespace in api.allow_from and api.namespace != namespace
                }
            )
            out[namespace] = NamespaceSpec(
                apis=apis, egress_to=egress, load_balanced=any(self.apis[name].exposed for name in apis)
            )
        return out


__all__ = ["Catalog", "ApiSpec", "Resources", "Autoscaling", "Quantities", "Probe", "Probes"]
