"""Typed settings of one stack: the public contract of this repository.

Every ``picturesocial:*`` stack config key maps to one field of ``StackSettings``; nested objects are
pydantic models that reject unknown keys, so a typo (``nodeGroup``, ``minsize``) is an error, not a
silently ignored value. Pure Python: nothing here creates a Pulumi resource.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from settings import addons, kubernetes
from settings.base import LABEL_KEY, LABEL_VALUE, Cidr, Model, Name, matching
from settings.catalog import Resources
from settings.cost import CostSettings
from settings.errors import rule, rules
from settings.karpenter import KarpenterSettings
from settings.kubernetes import SupportType
from settings.names import PhysicalNames

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


def _retention_period(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise rule(
            f"{days} is not a CloudWatch Logs retention period; use one of "
            f"{', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    return days


SMALLEST_SUBNET = 28  # AWS's smallest subnet netmask (Amazon VPC User Guide, "Subnet CIDR blocks")
PUBLIC_SUBNET_BELOW_VPC = 6  # infra/network.py: 1/8 of the VPC, cut in 8 public subnets


class NetworkSettings(Model):
    cidr: Cidr = Field(
        ipaddress.IPv4Network("10.0.0.0/16"),
        description="VPC range, private, /16 to /22; every subnet is derived from it",
    )
    availability_zones: int = Field(
        3,
        ge=2,
        le=6,
        description="zones used (by zone ID, never one EKS refuses), a public and a private subnet each",
    )
    nat_gateways: Literal["single", "perAz"] = Field(
        "single", description="one NAT gateway for the VPC, or one per zone"
    )
    vpc_endpoints: bool = Field(True, description="S3 gateway and ECR api/dkr, STS, Logs interface endpoints")

    @field_validator("cidr")
    @classmethod
    def _room_for_subnets(cls, cidr: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        # infra/network.py carves 8 equal blocks (6 private, 1 split into public /+6, 1 spare):
        # a /22 VPC still gives /28 public subnets, the smallest AWS allows (Amazon VPC User Guide, "Subnet
        # CIDR blocks": "between a /28 netmask and /16 netmask").
        public = cidr.prefixlen + PUBLIC_SUBNET_BELOW_VPC
        if public > SMALLEST_SUBNET:
            raise rule(
                f'"{cidr}" would give /{public} public subnets; AWS\'s smallest subnet is /{SMALLEST_SUBNET} '
                f"(use /{SMALLEST_SUBNET - PUBLIC_SUBNET_BELOW_VPC} or larger)"
            )
        if not 16 <= cidr.prefixlen <= 22:
            raise rule(
                f'"{cidr}" must have a prefix length between /16 and /22 '
                "(room for 6 private and 6 public subnets)"
            )
        if not cidr.is_private:
            raise rule(f'"{cidr}" must be a private (RFC 1918) range')
        return cidr


# RFC 5737 sets these apart for documentation: no real client ever has such an address.
DOCUMENTATION_RANGES = tuple(
    map(ipaddress.IPv4Network, ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
)
WIDEST_ALLOWED = 16  # an allow-list entry wider than /16 fences almost nothing


class EndpointSettings(Model):
    """The API server endpoint. Private access is always on (nodes and pods use it); the public endpoint is on
    and fenced to the deploy runner's fixed egress address (picturesocial:ci.runner, always allowed:
    docs/decisions/0009) and to these operators' CIDRs."""

    public_cidrs: list[Cidr] = Field(
        [],
        description="operators allowed to reach the public endpoint besides the deploy runner (always "
        "allowed); public, /16 or narrower, no documentation range",
    )

    @field_validator("public_cidrs")
    @classmethod
    def _fenced_to_real_public_ranges(cls, cidrs: list[ipaddress.IPv4Network]) -> list[ipaddress.IPv4Network]:
        problems: list[tuple[str | None, str]] = []
        for i, cidr in enumerate(cidrs):
            where = f"[{i}]"
            if any(cidr.subnet_of(doc) for doc in DOCUMENTATION_RANGES):
                problems.append(
                    (
                        where,
                        f'"{cidr}" is a documentation range (RFC 5737): no client has such an '
                        "address; list the operators' real public CIDRs",
                    )
                )
            elif cidr.prefixlen == 0:
                problems.append(
                    (
                        where,
                        f'"{cidr}" opens the API server to the whole internet; list the '
                        "operators' CIDRs instead",
                    )
                )
            elif cidr.prefixlen < WIDEST_ALLOWED:
                problems.append(
                    (
                        where,
                        f'"{cidr}" opens the API server to a large part of the internet; list '
                        f"ranges of /{WIDEST_ALLOWED} or narrower",
                    )
                )
            elif not cidr.is_global:
                problems.append(
                    (
                        where,
                        f'"{cidr}" is not a public range: the public endpoint never sees such '
                        "an address (private networks reach the private endpoint)",
                    )
                )
        if problems:
            raise rules(problems)
        return cidrs


ClusterName = Annotated[
    str,
    matching(
        r"[a-z][a-z0-9-]*",
        "a cluster name: lowercase letters, digits and '-', "
        "starting with a letter (it prefixes ECR repository and S3 bucket names)",
    ),
]


RoleArn = Annotated[
    str,
    matching(
        r"arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]+",
        "an IAM role ARN: arn:aws:iam::<12-digit account>:role/<name>",
    ),
]
# The workload boundary the bootstrap creates (bootstrap/boundaries.py): a customer managed policy under the
# /boundaries/ path, the only boundary the deploy role may give a role (docs/decisions/0018).
BoundaryArn = Annotated[
    str,
    matching(
        r"arn:aws(-[a-z]+)*:iam::\d{12}:policy/boundaries/[\w+=,.@-]+",
        "an IAM policy ARN under /boundaries/: arn:aws:iam::<12-digit account>:policy/boundaries/<name>",
    ),
]
# bootstrap/config.py names the runner `picturesocial-runner-<environment>`; a CodeBuild project name.
RunnerName = Annotated[
    str,
    matching(
        r"[A-Za-z0-9][A-Za-z0-9_-]{1,140}",
        "the bootstrap runner's CodeBuild project name (letters, digits, '-' and '_'; 2-141 characters), "
        "picturesocial-runner-<environment>",
    ),
]


class CiSettings(Model):
    """Who and what deploys this stack (``picturesocial:ci``): the identities the workflows assume and the
    runner they run on, all created by this account's bootstrap (bootstrap/). The runner's fixed egress
    address (its Elastic IP, tagged ``<runner>-egress``) may reach the API server."""

    runner: RunnerName = Field(
        description="the bootstrap runner of this account (bootstrap/, picturesocial-runner-<environment>); "
        "its Elastic IP `<runner>-egress` may reach the API server"
    )
    # EKS makes the cluster's creator its admin (pulumi-eks sets bootstrapClusterCreatorAdminPermissions), so
    # this role, and only it, must create the cluster: tools.preflight checks the caller is this role.
    deploy_role_arn: RoleArn = Field(
        description="the role that runs `pulumi up` (cluster admin as its creator; never in adminRoleArns)"
    )
    preview_role_arn: RoleArn = Field(
        description="the role of pull-request previews: read-only in AWS, AmazonEKSViewPolicy in the cluster"
    )
    # Required, no default: the deploy role's own boundary refuses to create a role without it
    # (docs/decisions/0018), so a stack that forgot it would fail at `pulumi up`, after half a deploy.
    permissions_boundary_arn: BoundaryArn = Field(
        description="the boundary every role of this stack carries: the bootstrap's workload boundary "
        "(its output workloadBoundaryArn, .../policy/boundaries/picturesocial-workload-boundary)"
    )


class ClusterSettings(Model):
    name: ClusterName | None = Field(
        None, description="the EKS cluster's name (default `<project>-<stack>`); prefixes every physical name"
    )
    version: str = Field(
        description="Kubernetes version: in the EKS calendar (settings/data/eks_versions.yaml), in support, "
        "with pinned add-ons (settings/addons.py)"
    )
    endpoint: EndpointSettings = Field(EndpointSettings(), description="who may reach the API server")
    log_types: list[Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]] = Field(
        ["api", "audit", "authenticator"], description="control-plane log types"
    )
    log_retention_days: int = Field(
        30, description="retention of `/aws/eks/<cluster>/cluster`, a CloudWatch period"
    )
    admin_role_arns: list[RoleArn] = Field([], description="roles given the cluster-admin access policy")
    deletion_protection: bool = Field(False, description="EKS deletion protection")
    support_type: SupportType = Field(
        "STANDARD",
        description="the cluster's upgrade policy: STANDARD refuses a version past its end of standard "
        "support (settings/data/eks_versions.yaml); EXTENDED runs on at the extended-support rate",
    )
    addon_versions: dict[str, str] = Field(
        {},
        description="override a pinned EKS add-on version (a patch release before settings/addons.py has it)",
    )

    @model_validator(mode="after")
    def _supported_version(self, info: ValidationInfo) -> ClusterSettings:
        """Released on EKS, in support on the day the settings are checked (context ``today``, when given),
        and with pinned add-ons: checked in that order, so a retired version is reported with its date."""
        calendar = kubernetes.calendar()
        if self.version not in calendar:
            raise rule(
                f'"{self.version}" is not a Kubernetes version of the EKS release calendar: '
                f"{', '.join(calendar)} (settings/data/eks_versions.yaml)",
                field="version",
            )
        today = (info.context or {}).get("today")
        if today is not None:
            problem, _ = kubernetes.support(
                self.version, self.support_type, today, addons.kubernetes_versions()
            )
            if problem:
                raise rule(problem, field="version")
        if self.version not in addons.kubernetes_versions():
            raise rule(
                f'"{self.version}" has no pinned add-on versions; this project runs '
                f"{', '.join(addons.kubernetes_versions())} (settings/addons.py)",
                field="version",
            )
        return self

    @field_validator("addon_versions")
    @classmethod
    def _known_addons(cls, overrides: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(overrides) - set(addons.MANAGED))
        if unknown:
            raise rule(
                f"{unknown} are not EKS add-ons of this platform ({', '.join(sorted(addons.MANAGED))})"
            )
        return overrides

    @field_validator("log_retention_days")
    @classmethod
    def _cloudwatch_period(cls, days: int) -> int:
        return _retention_period(days)

    @property
    def addons(self) -> dict[str, str]:
        """The version of every EKS managed add-on in this stack: the pin for its Kubernetes version, or the
        stack's override."""
        return {
            name: self.addon_versions.get(name, addon.versions[self.version])
            for name, addon in addons.MANAGED.items()
        }


class Taint(Model):
    key: Annotated[
        str, matching(LABEL_KEY.pattern, "a Kubernetes label key such as team or example.com/team")
    ] = Field(description="taint key")
    value: Annotated[
        str,
        matching(
            LABEL_VALUE.pattern, "a Kubernetes label value (letters, digits, '-', '_', '.'; at most 63)"
        ),
    ] = Field("", description="taint value")
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"] = Field(description="taint effect")


InstanceType = Annotated[
    str, matching(r"[a-z][a-z0-9-]*\.[a-z0-9]+", "an EC2 instance type such as m6i.large")
]


def architecture(instance_type: str) -> str:
    """arm64 or x86_64, from AWS's instance type naming (EC2 user guide, "Amazon EC2 instance type naming
    conventions"): after the generation number, the attribute letter "g" marks AWS Graviton processors (m7g,
    c6gn, r8gd, t4g, im4gn, g5g); a1, the first Graviton family, predates the convention."""
    family = instance_type.split(".")[0]
    match = re.fullmatch(r"[a-z]+\d+([a-z0-9-]*)", family)
    return "arm64" if family == "a1" or (match and "g" in match.group(1).split("-")[0]) else "x86_64"


def ami_architecture(ami_type: str) -> str:
    return "arm64" if "ARM_64" in ami_type else "x86_64"


class NodeGroupSettings(Model):
    instance_types: list[InstanceType] = Field(
        min_length=1, description="EC2 instance types, of the AMI's architecture"
    )
    capacity_type: Literal["ON_DEMAND", "SPOT"] = Field(
        "ON_DEMAND", description="on-demand or spot instances"
    )
    ami_type: Literal[
        "AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD", "BOTTLEROCKET_x86_64", "BOTTLEROCKET_ARM_64"
    ] = Field("AL2023_x86_64_STANDARD", description="node image family")
    min_size: int = Field(ge=0, description="fewest nodes")
    max_size: int = Field(ge=1, le=450, description="most nodes")
    desired_size: int | None = Field(None, description="nodes at creation (default minSize)")
    disk_size_gib: int = Field(
        30, ge=20, le=16384, alias="diskSizeGiB", description="encrypted gp3 root volume, GiB"
    )
    max_unavailable: int = Field(1, ge=1, le=100, description="nodes replaced at once in a rolling update")
    labels: dict[str, str] = Field({}, description="Kubernetes labels of the nodes")
    taints: list[Taint] = Field([], description="Kubernetes taints of the nodes ({key, value, effect})")

    @model_validator(mode="after")
    def _consistent(self) -> NodeGroupSettings:
        problems: list[tuple[str | None, str]] = []
        if self.min_size > self.max_size:
            problems.append(("minSize", f"{self.min_size} is greater than maxSize {self.max_size}"))
        if self.desired_size is not None and not self.min_size <= self.desired_size <= self.max_size:
            problems.append(
                (
                    "desiredSize",
                    f"{self.desired_size} must lie between minSize {self.min_size} and "
                    f"maxSize {self.max_size}",
                )
            )
        for key, value in self.labels.items():
            if not LABEL_KEY.match(key) or not LABEL_VALUE.match(value) or len(value) > 63:
                problems.append(("labels", f'"{key}": "{value}" is not a valid Kubernetes label'))
        wanted = ami_architecture(self.ami_type)
        mismatched = [t for t in self.instance_types if architecture(t) != wanted]
        if mismatched:
            # EKS accepts the group; its instances then never boot the image and never join.
            problems.append(
                (
                    "instanceTypes",
                    f"{mismatched} are not {wanted} instances, but amiType "
                    f"{self.ami_type} is {wanted}: the nodes would never join",
                )
            )
        if problems:
            raise rules(problems)
        return self

    @property
    def desired(self) -> int:
        return self.min_size if self.desired_size is None else self.desired_size


def _immutable(tag: str) -> str:
    if tag == "latest":
        raise rule('"latest" is a moving tag; deploy an immutable version tag such as "1.4.2"')
    return tag


ImageTag = Annotated[
    str,
    matching(
        r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
        "an image tag: letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-'",
    ),
    AfterValidator(_immutable),
]
Digest = Annotated[str, matching(r"sha256:[a-f0-9]{64}", "an image digest: sha256: and 64 hex digits")]


class Canary(Model):
    tag: ImageTag = Field(description="the canary's image tag")
    digest: Digest | None = Field(
        None, description="the canary image's digest (required with picturesocial:registry.requireDigest)"
    )
    replicas: int = Field(1, ge=1, le=10, description="fixed replicas of the canary Deployment")


class ReplicaBounds(Model):
    min_replicas: int | None = Field(None, ge=1, le=100, description="HPA minimum in this stack")
    max_replicas: int | None = Field(None, ge=1, le=500, description="HPA maximum in this stack")


class ApiStackSettings(Model):
    """The per-environment values of one API (``picturesocial:apis.<name>``)."""

    tag: ImageTag = Field(description="the API's image tag in this stack, never latest")
    digest: Digest | None = Field(None, description="pin the image by digest too (tools.preflight --pin)")
    replicas: ReplicaBounds | None = Field(
        None, description="HPA bounds in this stack (default: the catalog's)"
    )
    resources: Resources | None = Field(
        None, description="requests and limits in this stack (default: the catalog's)"
    )
    canary: Canary | None = Field(
        None, description="a second Deployment `<name>-canary` behind the same Service"
    )


AccountId = Annotated[str, matching(r"\d{12}", "a 12-digit AWS account id (quote it in YAML)")]


class ReplicationSource(Model):
    """Where a destination registry's images come from (ECR keeps the source repository's name)."""

    account_id: AccountId = Field(description="the source registry's account (its stack sets replicateTo)")
    repository_prefix: ClusterName = Field(
        description="the source stack's repository prefix, its cluster name (`picturesocial-dev`)"
    )


class RegistrySettings(Model):
    # Deleting a repository that still holds images must fail outside dev.
    force_delete: bool = Field(
        False, description="let `destroy` delete repositories holding images (dev only)"
    )
    keep_tagged_images: int = Field(
        30,
        ge=1,
        le=1000,
        description="tagged images kept per repository, besides the deployed tags (never expired)",
    )
    untagged_expiry_days: int = Field(7, ge=1, le=365, description="days after which untagged images expire")
    require_digest: bool = Field(
        False,
        description="every API (and canary) names its image by tag and digest, `<repo>:<tag>@sha256:...`: "
        "what runs is byte for byte what was promoted (staging and prod; docs/decisions/0033)",
    )
    replicate_to: list[AccountId] = Field(
        [],
        description="the source registry only: accounts whose registries receive every image pushed to this "
        "stack's repositories (ECR cross-account replication, same region)",
    )
    replicated_from: ReplicationSource | None = Field(
        None,
        description="a destination registry only: the account and repository prefix images are replicated "
        "from; this stack creates `<repositoryPrefix>/<api>` and runs its images from there",
    )
    scan_block_severity: Literal["CRITICAL", "HIGH", "MEDIUM", "LOW"] = Field(
        "HIGH",
        description="tools.preflight fails a pinned image whose scan has a finding at or above this severity",
    )

    @model_validator(mode="after")
    def _one_direction(self) -> RegistrySettings:
        if self.replicate_to and self.replicated_from is not None:
            raise rule(
                "a registry is either the source (replicateTo) or a destination (replicatedFrom), not both: "
                "images enter in one place (docs/decisions/0033)",
                field="replicatedFrom",
            )
        duplicates = sorted({a for a in self.replicate_to if self.replicate_to.count(a) > 1})
        if duplicates:
            raise rule(f"{duplicates} listed twice", field="replicateTo")
        return self


class Throttling(Model):
    burst_limit: int = Field(
        gt=0, le=5000, description="requests a route may take at once (API Gateway burst)"
    )
    rate_limit: float = Field(gt=0, le=10000, description="steady requests per second per route")


HttpsUrl = Annotated[
    str,
    matching(
        r"https://[^\s/]+(/[^\s]*)?",
        "an https:// URL such as https://cognito-idp.us-east-1.amazonaws.com/pool",
    ),
]
CertificateArn = Annotated[
    str,
    matching(
        r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+",
        "an ACM certificate ARN such as arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-...",
    ),
]
HostedZoneId = Annotated[
    str, matching(r"Z[A-Z0-9]{1,31}", "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ")
]
DomainName = Annotated[
    str,
    matching(
        r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
        "a lowercase DNS name such as api.example.com",
    ),
]


class Cors(Model):
    allow_origins: list[
        Annotated[str, matching(r"\*|https?://[^\s/]+", "an origin such as https://app.example.com, or *")]
    ] = Field(min_length=1, description="origins browsers may call the API from")


class CustomDomain(Model):
    name: DomainName = Field(description="the API's public host name")
    certificate_arn: CertificateArn = Field(description="ACM certificate for the name, in the stack's region")
    hosted_zone_id: HostedZoneId = Field(description="Route 53 zone the alias record goes into")


class Jwt(Model):
    issuer: HttpsUrl = Field(description="the token issuer (an OIDC provider's https URL)")
    audiences: list[str] = Field(min_length=1, description="accepted `aud` values")


class EdgeSettings(Model):
    """The public edge: one API Gateway HTTP API per stack, a VPC link to the APIs' internal NLBs
    (infra/edge.py)."""

    throttling: Throttling = Field(description="default route throttling of the stage")
    access_log_retention_days: int = Field(
        30, description="retention of the stage's access log group, a CloudWatch period"
    )
    cors: Cors | None = Field(None, description="CORS for browser clients")
    domain: CustomDomain | None = Field(
        None, description="custom domain (name, ACM certificate, Route 53 zone)"
    )
    jwt: Jwt | None = Field(
        None, description="JWT authorizer on every route but the catalog's anonymous ones"
    )

    @field_validator("access_log_retention_days")
    @classmethod
    def _cloudwatch_period(cls, days: int) -> int:
        return _retention_period(days)


Email = Annotated[str, matching(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an email address such as oncall@example.com")]


class ObservabilitySettings(Model):
    """Container Insights, container logs and the alarms of the stack (infra/observability.py)."""

    log_retention_days: int = Field(
        30,
        description="retention of the four `/aws/containerinsights/<cluster>/...` log groups, a CloudWatch "
        "period",
    )
    alarm_emails: list[Email] = Field(
        [], description="addresses subscribed to the stack's alarm topic (each confirms by email once)"
    )
    restarts_threshold: int = Field(
        3, ge=1, le=1000, description="container restarts of one API within 5 minutes that raise its alarm"
    )
    error_rate_percent: float = Field(
        5, gt=0, le=100, description="share of a public API's requests answered 5xx within 5 minutes (%)"
    )
    latency_p99_ms: int = Field(
        2000, ge=1, le=30000, description="p99 latency of a public route within 5 minutes (ms)"
    )
    unavailable_minutes: int = Field(
        5,
        ge=1,
        le=60,
        description="minutes an API runs below its HPA minimum, or a node is not Ready, before the alarm",
    )

    @field_validator("log_retention_days")
    @classmethod
    def _cloudwatch_period(cls, days: int) -> int:
        return _retention_period(days)


Region = Annotated[str, matching(r"[a-z]{2}(-gov)?-[a-z]+-\d", "an AWS region such as us-east-1")]


class StackSettings(Model):
    """Everything one stack is configured with, keyed exactly as in ``Pulumi.<stack>.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    project: str
    stack: Name
    region: Region = Field(alias="aws:region", description="the region of every resource")
    allowed_account_ids: list[AccountId] = Field(
        alias="aws:allowedAccountIds", min_length=1, description="the AWS provider refuses any other account"
    )
    network: NetworkSettings = Field(NetworkSettings(), alias="picturesocial:network", description="the VPC")
    cluster: ClusterSettings = Field(alias="picturesocial:cluster", description="the EKS control plane")
    node_groups: dict[Name, NodeGroupSettings] = Field(
        alias="picturesocial:nodeGroups", min_length=1, description="managed node groups, by name"
    )
    apis: dict[Name, ApiStackSettings] = Field(
        alias="picturesocial:apis", description="every API of the catalog, by name: its values here"
    )
    registry: RegistrySettings = Field(
        RegistrySettings(), alias="picturesocial:registry", description="the ECR repositories"
    )
    ci: CiSettings = Field(alias="picturesocial:ci", description="who deploys and previews, from where")
    edge: EdgeSettings = Field(
        alias="picturesocial:edge", description="the public API (API Gateway HTTP API)"
    )
    karpenter: KarpenterSettings = Field(
        KarpenterSettings(), alias="picturesocial:karpenter", description="just-in-time nodes (Karpenter v1)"
    )
    observability: ObservabilitySettings = Field(
        ObservabilitySettings(),
        alias="picturesocial:observability",
        description="Container Insights, container logs, alarms and dashboard",
    )
    cost: CostSettings = Field(
        CostSettings(),
        alias="picturesocial:cost",
        description="the monthly budget and the traffic `make cost` assumes (settings/cost.py)",
    )
    protect: bool = Field(
        True,
        alias="picturesocial:protect",
        description="`protect` the stateful resources (VPC, cluster and its KMS key, ECR "
        "repositories, bucket, table, namespaces); false only where losing them is "
        "harmless (dev)",
    )

    @model_validator(mode="after")
    def _identities_are_this_accounts_and_distinct(self) -> StackSettings:
        problems: list[tuple[str | None, str]] = []
        account = self.allowed_account_ids[0]
        roles = {
            "picturesocial:ci.deployRoleArn": self.ci.deploy_role_arn,
            "picturesocial:ci.previewRoleArn": self.ci.preview_role_arn,
        }
        for key, arn in roles.items():
            if arn.split(":")[4] not in self.allowed_account_ids:
                problems.append((key, f'"{arn}" is not a role of this stack\'s account {account}'))
        boundary = self.ci.permissions_boundary_arn
        if boundary.split(":")[4] not in self.allowed_account_ids:
            # IAM refuses another account's customer managed policy as a boundary; and the deploy role may
            # only set its own account's workload boundary.
            problems.append(
                (
                    "picturesocial:ci.permissionsBoundaryArn",
                    f'"{boundary}" is not a policy of this stack\'s account {account}',
                )
            )
        if self.ci.deploy_role_arn == self.ci.preview_role_arn:
            problems.append(
                (
                    "picturesocial:ci.previewRoleArn",
                    "is the deploy role: pull requests would preview with the identity that deploys",
                )
            )
        for i, arn in enumerate(self.cluster.admin_role_arns):
            if arn == self.ci.deploy_role_arn:
                # EKS already made it admin as the cluster's creator: a second access entry is a 409 on
                # CreateAccessEntry (pulumi-eks sets bootstrapClusterCreatorAdminPermissions).
                problems.append(
                    (
                        f"picturesocial:cluster.adminRoleArns[{i}]",
                        f'"{arn}" is picturesocial:ci.deployRoleArn, admin already as the cluster\'s '
                        "creator; remove it here",
                    )
                )
        if problems:
            raise rules(problems)
        return self

    @model_validator(mode="after")
    def _digests_where_required(self) -> StackSettings:
        """With requireDigest every image is named by digest too: the stack runs what was promoted."""
        if not self.registry.require_digest:
            return self
        problems: list[tuple[str | None, str]] = []
        for name, api in sorted(self.apis.items()):
            if api.digest is None:
                problems.append(
                    (
                        f"picturesocial:apis.{name}.digest",
                        "is required: picturesocial:registry.requireDigest is on, so every API names its "
                        "image by tag and digest (tools.preflight --pin, or make promote)",
                    )
                )
            if api.canary is not None and api.canary.digest is None:
                problems.append(
                    (
                        f"picturesocial:apis.{name}.canary.digest",
                        "is required: picturesocial:registry.requireDigest is on, so the canary names its "
                        "image by tag and digest too",
                    )
                )
        if problems:
            raise rules(problems)
        return self

    @model_validator(mode="after")
    def _replication_crosses_accounts(self) -> StackSettings:
        account = self.account_id
        problems: list[tuple[str | None, str]] = []
        for i, other in enumerate(self.registry.replicate_to):
            if other == account:
                problems.append(
                    (
                        f"picturesocial:registry.replicateTo[{i}]",
                        f'"{other}" is this stack\'s own account: replication goes to the other accounts',
                    )
                )
        source = self.registry.replicated_from
        if source is not None and source.account_id == account:
            problems.append(
                (
                    "picturesocial:registry.replicatedFrom.accountId",
                    f"\"{account}\" is this stack's own account: the source is another account's registry",
                )
            )
        if problems:
            raise rules(problems)
        return self

    def image_repository(self, api: str) -> str:
        """The repository the stack's Deployments pull ``api`` from: its own, or in a destination registry
        the replica of the source's (ECR replication keeps the source repository's name)."""
        source = self.registry.replicated_from
        return f"{source.repository_prefix}/{api}" if source else self.names.repository(api)

    @model_validator(mode="after")
    def _karpenter_supports_the_cluster(self) -> StackSettings:
        if self.karpenter.enabled and not self.karpenter.supports(self.cluster.version):
            raise rule(
                f'"{self.karpenter.version}" does not support Kubernetes {self.cluster.version} (Karpenter '
                "compatibility matrix; settings/karpenter.py MINIMUM_FOR_KUBERNETES)",
                field="picturesocial:karpenter.version",
            )
        return self

    @model_validator(mode="after")
    def _certificate_in_the_stack_region(self) -> StackSettings:
        domain = self.edge.domain
        if domain is not None and domain.certificate_arn.split(":")[3] != self.region:
            raise rule(
                f'"{domain.certificate_arn}" is in {domain.certificate_arn.split(":")[3]}; a regional API '
                f"Gateway domain needs its certificate in the stack's region {self.region}",
                field="picturesocial:edge.domain.certificateArn",
            )
        return self

    @property
    def cluster_name(self) -> str:
        # Physical names carry project and stack so several stacks can share one account.
        return self.cluster.name or f"{self.project}-{self.stack}"

    @property
    def names(self) -> PhysicalNames:
        return PhysicalNames(self.cluster_name)

    @property
    def account_id(self) -> str:
        # The provider refuses any other (allowedAccountIds); the first is the one this stack deploys to.
        return self.allowed_account_ids[0]

    @property
    def tags(self) -> dict[str, str]:
        return {"project": self.project, "environment": self.stack, "managed-by": "pulumi"}
