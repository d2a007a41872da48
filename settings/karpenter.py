"""Karpenter: the stack's settings (``picturesocial:karpenter``) and typed models of the v1 API objects the
program renders from them (``NodePool``, ``EC2NodeClass``), with the validation the CRDs apply at admission.

The API rules are those of the CRDs (aws/karpenter-provider-aws pkg/apis/crds/karpenter.sh_nodepools.yaml and
karpenter.k8s.aws_ec2nodeclasses.yaml, v1): an object they would refuse is refused here, offline, with the key
of the stack setting it came from.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from settings.base import LABEL_KEY, LABEL_VALUE, Model, matching
from settings.errors import rule
from settings.quantity import parse_quantity

# Karpenter's own (the controller and both charts), with the Kubernetes versions it supports: the stack's
# `version` must support the cluster's. Source: karpenter.sh v1.15 "Compatibility" matrix
# (website/content/en/v1.15/upgrading/compatibility.md @ d77d1a3a): 1.36 needs >= 1.13, 1.37 needs 1.15.x.
VERSION = "1.15.0"  # karpenter.sh v1.15 docs, "chore: Release v1.15.0 (#9719)" (6d1426c, 2026-10-10)
MINIMUM_FOR_KUBERNETES = {"1.35": (1, 9), "1.36": (1, 13), "1.37": (1, 15)}

# Pinned AMI aliases per family, resolved by Karpenter through SSM for the cluster's version:
# al2023: awslabs/amazon-eks-ami release v20261112 (the newest found; its source AMIs cover Kubernetes
# 1.36-1.37); bottlerocket: bottlerocket-os/bottlerocket 1.68.1 (Kubernetes 1.36 variants since 1.61.0).
# `make preflight` checks that each alias in use has an image for the cluster's version.
AmiFamily = Literal["al2023", "bottlerocket"]
AMI_ALIASES: dict[AmiFamily, str] = {"al2023": "al2023@v20261112", "bottlerocket": "bottlerocket@v1.68.1"}
CapacityType = Literal["spot", "on-demand"]
Architecture = Literal["amd64", "arm64"]
# EC2 instance categories (the letters before the generation: c in c7i, inf in inf2), as Karpenter's
# karpenter.k8s.aws/instance-category label carries them.
InstanceCategory = Literal[
    "a", "c", "d", "dl", "f", "g", "gr", "h", "hpc", "i", "im", "inf", "is", "m", "mac", "p", "r", "t", "trn",
    "u", "vt", "x", "z",
]  # fmt: skip

DURATION = r"([0-9]+(s|m|h))+"
Duration = Annotated[str, matching(DURATION, "a duration such as 30s, 5m or 1h30m")]
DurationOrNever = Annotated[
    str, matching(rf"{DURATION}|Never", "a duration such as 30s, 5m or 720h, or Never")
]
BUDGET_NODES = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")


def _nodes(value: object) -> object:
    """A budget's node count: an integer, or a percentage up to 100% (the CRD stores it as a string)."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not BUDGET_NODES.match(text):
        raise rule(f"{_show(value)} must be a number of nodes such as 2, or a percentage from 0% to 100%")
    return text


def _show(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


class Budget(Model):
    """How many nodes of the pool Karpenter may disrupt at once (during ``schedule`` for ``duration``)."""

    nodes: Annotated[
        str,
        BeforeValidator(_nodes),
        WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]}),
    ] = Field(description="a count such as 2, or 10%")
    schedule: (
        Annotated[
            str,
            matching(
                r"@(annually|yearly|monthly|weekly|daily|midnight|hourly)|\S+ \S+ \S+ \S+ \S+",
                "a cron schedule such as '0 9 * * mon-fri' (UTC) or @daily",
            ),
        ]
        | None
    ) = Field(None, description="when the budget applies (cron, UTC)")
    duration: (
        Annotated[str, matching(r"([0-9]+(h|m))|([0-9]+h[0-9]+m)", "a duration such as 8h or 1h30m")] | None
    ) = Field(None, description="how long the budget applies from each scheduled start")

    @model_validator(mode="after")
    def _schedule_with_duration(self) -> Budget:
        if (self.schedule is None) != (self.duration is None):
            raise rule("schedule and duration go together: set both or neither", field="schedule")
        return self


class Limits(Model):
    """The most the pool may run in total: no pool is unbounded."""

    cpu: str = Field(description="total vCPUs, a Kubernetes quantity such as 100")
    memory: str = Field(description="total memory, a Kubernetes quantity such as 400Gi")

    @field_validator("cpu", "memory", mode="before")
    @classmethod
    def _positive(cls, value: object) -> str:
        text = str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        try:
            amount: Decimal = parse_quantity(text)
        except (ValueError, TypeError):
            raise rule(f"{_show(value)} is not a Kubernetes quantity such as 100 or 400Gi") from None
        if amount <= 0:
            raise rule(f"{_show(value)} must be positive: a pool without a limit can grow without end")
        return str(text)


KarpenterLabelKey = Annotated[
    str, matching(LABEL_KEY.pattern, "a Kubernetes label key such as team or example.com/team")
]


class Taint(Model):
    key: KarpenterLabelKey = Field(description="taint key, such as nvidia.com/gpu")
    value: Annotated[str, matching(LABEL_VALUE.pattern, "a Kubernetes label value")] | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field(description="taint effect")


class NodePoolSettings(Model):
    """One Karpenter NodePool: what it may launch, how far it may grow, when it gives nodes back."""

    capacity_types: list[CapacityType] = Field(min_length=1, description="spot, on-demand")
    instance_categories: list[InstanceCategory] = Field(
        min_length=1, description="EC2 instance categories such as c, m, r"
    )
    min_generation: int = Field(5, ge=1, le=20, description="lowest instance generation (c5 is generation 5)")
    architectures: list[Architecture] = Field(["amd64"], min_length=1, description="amd64, arm64")
    ami_family: AmiFamily = Field("al2023", description="the EC2NodeClass (AMI family) its nodes boot")
    limits: Limits = Field(description="total cpu and memory the pool may run")
    consolidate_after: DurationOrNever = Field(
        "1m", description="how long a node stays empty or underused before Karpenter consolidates it"
    )
    expire_after: DurationOrNever = Field("720h", description="node lifetime before replacement, or Never")
    disruption_budgets: list[Budget] = Field(
        [Budget(nodes="10%")], min_length=1, max_length=50, description="disruption budgets"
    )
    labels: dict[
        KarpenterLabelKey, Annotated[str, matching(LABEL_VALUE.pattern, "a Kubernetes label value")]
    ] = Field({}, description="labels on the pool's nodes")
    taints: list[Taint] = Field([], description="taints on the pool's nodes")
    weight: int | None = Field(None, ge=1, le=100, description="priority among pools (higher first)")

    @field_validator("labels")
    @classmethod
    def _unrestricted_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        # The CRD reserves these label domains for Karpenter itself.
        for key in labels:
            domain = key.split("/", 1)[0] if "/" in key else ""
            if domain.endswith(("karpenter.sh", "karpenter.k8s.aws")) or key == "kubernetes.io/hostname":
                raise rule(f'"{key}" is a label Karpenter sets itself; choose another key')
        return labels


class KarpenterSettings(Model):
    """Karpenter v1: just-in-time nodes for the APIs (infra/karpenter.py); the managed node groups keep the
    system pods."""

    enabled: bool = Field(False, description="install Karpenter and its node pools")
    version: Annotated[str, matching(r"1\.\d+\.\d+", "a pinned Karpenter release such as 1.15.0")] = Field(
        VERSION, description="controller and chart version (settings/karpenter.py names the source)"
    )
    ami_aliases: dict[AmiFamily, str] = Field(
        dict(AMI_ALIASES), description="pinned AMI alias per family, such as al2023@v20261112"
    )
    disk_size_gib: int = Field(
        50,
        ge=20,
        le=16384,
        alias="diskSizeGiB",
        description="root (al2023) or data (bottlerocket) volume (GiB)",
    )
    node_pools: dict[
        Annotated[str, matching(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", "a DNS label such as general")],
        NodePoolSettings,
    ] = Field({}, description="NodePools by name")

    @field_validator("ami_aliases")
    @classmethod
    def _pinned_aliases(cls, aliases: dict[AmiFamily, str]) -> dict[AmiFamily, str]:
        for family, alias in aliases.items():
            if not re.fullmatch(rf"{family}@v[0-9][0-9.]*", alias):
                if alias.endswith("@latest"):
                    raise rule(f'"{alias}" is a moving target: pin a release such as {AMI_ALIASES[family]}')
                raise rule(f'"{alias}" must be {family}@<release>, such as {AMI_ALIASES[family]}')
            if len(alias) > 30:  # the CRD's maxLength for an alias
                raise rule(f'"{alias}" is {len(alias)} characters long; Karpenter allows at most 30')
        return aliases

    @model_validator(mode="after")
    def _pools_when_enabled(self) -> KarpenterSettings:
        if self.enabled and not self.node_pools:
            raise rule("Karpenter is enabled with no node pool: add one under nodePools", field="nodePools")
        for name, pool in self.node_pools.items():
            if pool.ami_family not in self.ami_aliases:
                raise rule(
                    f'"{pool.ami_family}" has no pinned alias under amiAliases',
                    field=f"nodePools.{name}.amiFamily",
                )
        return self

    @property
    def families(self) -> list[AmiFamily]:
        """The AMI families the pools use: one EC2NodeClass each."""
        return sorted({pool.ami_family for pool in self.node_pools.values()})

    def supports(self, kubernetes_version: str) -> bool:
        minimum = MINIMUM_FOR_KUBERNETES.get(kubernetes_version)
        major, minor, _ = (int(part) for part in self.version.split("."))
        return minimum is not None and (major, minor) >= minimum


# -- the v1 API, as rendered ------------------------------------------------------------------------------


class _Api(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)

    def render(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class Requirement(_Api):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    values: list[
        Annotated[str, Field(max_length=63, pattern=r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
    ]

    @model_validator(mode="after")
    def _values_fit_the_operator(self) -> Requirement:
        if self.operator == "In" and not self.values:
            raise ValueError("requirements with operator 'In' must have a value defined")
        if self.operator in ("Gt", "Lt") and not (len(self.values) == 1 and self.values[0].isdigit()):
            raise ValueError("requirements operator 'Gt' or 'Lt' must have a single positive integer value")
        return self


class NodeClassRef(_Api):
    group: Literal["karpenter.k8s.aws"] = "karpenter.k8s.aws"
    kind: Literal["EC2NodeClass"] = "EC2NodeClass"
    name: str = Field(min_length=1)


class NodeClaimSpec(_Api):
    node_class_ref: NodeClassRef
    requirements: list[Requirement] = Field(min_length=1, max_length=100)
    taints: list[dict[str, str]] | None = None
    expire_after: str = Field(pattern=rf"^({DURATION}|Never)$")


class NodeClaimTemplate(_Api):
    metadata: dict[str, dict[str, str]] | None = None
    spec: NodeClaimSpec


class Disruption(_Api):
    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"]
    consolidate_after: str = Field(pattern=rf"^({DURATION}|Never)$")
    budgets: list[dict[str, str]] = Field(max_length=50)


class NodePoolSpec(_Api):
    """karpenter.sh/v1 NodePool spec."""

    template: NodeClaimTemplate
    limits: dict[str, str]
    disruption: Disruption
    weight: int | None = Field(None, ge=1, le=100)


class MetadataOptions(_Api):
    http_endpoint: Literal["enabled", "disabled"]
    http_protocol_i_pv6: Literal["enabled", "disabled"] = Field(alias="httpProtocolIPv6")
    http_put_response_hop_limit: int = Field(ge=1, le=64)
    http_tokens: Literal["required", "optional"]


class Ebs(_Api):
    volume_size: str = Field(pattern=r"^[1-9][0-9]{0,4}Gi$")
    volume_type: Literal["gp3"]
    encrypted: bool
    delete_on_termination: bool


class BlockDeviceMapping(_Api):
    device_name: str
    root_volume: bool | None = None
    ebs: Ebs


class SelectorTerm(_Api):
    tags: dict[str, str] = Field(min_length=1)


class AmiSelectorTerm(_Api):
    alias: str = Field(max_length=30, pattern=r"^[a-zA-Z0-9]+@.+$")


class EC2NodeClassSpec(_Api):
    """karpenter.k8s.aws/v1 EC2NodeClass spec."""

    role: str = Field(min_length=1)
    ami_selector_terms: list[AmiSelectorTerm] = Field(min_length=1, max_length=1)
    subnet_selector_terms: list[SelectorTerm] = Field(min_length=1)
    security_group_selector_terms: list[SelectorTerm] = Field(min_length=1)
    metadata_options: MetadataOptions
    block_device_mappings: list[BlockDeviceMapping] = Field(min_length=1)
    tags: dict[str, str]

    @field_validator("tags")
    @classmethod
    def _unreserved_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        reserved = (
            "eks:eks-cluster-name",
            "karpenter.sh/nodepool",
            "karpenter.sh/nodeclaim",
            "karpenter.k8s.aws/ec2nodeclass",
        )
        for key in tags:
            if key in reserved or key.startswith("kubernetes.io/cluster"):
                raise ValueError(f"tag {key} is reserved for Karpenter")
        return tags


DISCOVERY_TAG = "karpenter.sh/discovery"


def node_pool_spec(pool: NodePoolSettings) -> dict[str, Any]:
    """The NodePool spec of a configured pool (validated by the v1 models above)."""
    requirements = [
        Requirement(key="karpenter.sh/capacity-type", operator="In", values=list(pool.capacity_types)),
        Requirement(
            key="karpenter.k8s.aws/instance-category", operator="In", values=list(pool.instance_categories)
        ),
        # Gt with min - 1: the same set as Gte min. Gte is in the NodePool CRD since Karpenter v1.9.0
        # (karpenter-provider-aws pkg/apis/crds/karpenter.sh_nodepools.yaml, commit c9aa1e9a5); Gt reads the
        # same on every version and leaves the rendered spec unchanged.
        Requirement(
            key="karpenter.k8s.aws/instance-generation", operator="Gt", values=[str(pool.min_generation - 1)]
        ),
        Requirement(key="kubernetes.io/arch", operator="In", values=list(pool.architectures)),
        Requirement(key="kubernetes.io/os", operator="In", values=["linux"]),
    ]
    spec = NodePoolSpec(
        template=NodeClaimTemplate(
            metadata={"labels": dict(pool.labels)} if pool.labels else None,
            spec=NodeClaimSpec(
                node_class_ref=NodeClassRef(name=pool.ami_family),
                requirements=requirements,
                taints=[t.model_dump(exclude_none=True) for t in pool.taints] or None,
                expire_after=pool.expire_after,
            ),
        ),
        limits={"cpu": pool.limits.cpu, "memory": pool.limits.memory},
        disruption=Disruption(
            consolidation_policy="WhenEmptyOrUnderutilized",
            consolidate_after=pool.consolidate_after,
            budgets=[b.model_dump(by_alias=True, exclude_none=True) for b in pool.disruption_budgets],
        ),
        weight=pool.weight,
    )
    return spec.render()


def ec2_node_class_spec(
    family: AmiFamily, alias: str, *, role: str, cluster: str, tags: dict[str, str], disk_size_gib: int
) -> dict[str, Any]:
    """The EC2NodeClass of one AMI family: the node role, the pinned alias, the subnets and security group
    tagged for discovery, IMDSv2 with hop limit 1, encrypted gp3 volumes, the stack's tags."""
    disk = Ebs(
        volume_size=f"{disk_size_gib}Gi", volume_type="gp3", encrypted=True, delete_on_termination=True
    )
    if family == "bottlerocket":
        # Bottlerocket boots from a small OS volume (/dev/xvda) and keeps images and pods on the data volume
        # (/dev/xvdb, its EphemeralBlockDevice: karpenter-provider-aws
        # pkg/providers/amifamily/bottlerocket.go). Karpenter takes the size of the mapping marked rootVolume
        # as the node's ephemeral-storage (pkg/providers/instancetype/types.go, ephemeralStorage, read at
        # v1.14.1): marking the 4 GiB OS volume would schedule pods as if the node had 4 GiB of it.
        os_volume = Ebs(volume_size="4Gi", volume_type="gp3", encrypted=True, delete_on_termination=True)
        devices = [
            BlockDeviceMapping(device_name="/dev/xvda", ebs=os_volume),
            BlockDeviceMapping(device_name="/dev/xvdb", root_volume=True, ebs=disk),
        ]
    else:
        devices = [BlockDeviceMapping(device_name="/dev/xvda", root_volume=True, ebs=disk)]
    discovery = SelectorTerm(tags={DISCOVERY_TAG: cluster})
    spec = EC2NodeClassSpec(
        role=role,
        ami_selector_terms=[AmiSelectorTerm(alias=alias)],
        subnet_selector_terms=[discovery],
        security_group_selector_terms=[discovery],
        metadata_options=MetadataOptions(
            http_endpoint="enabled",
            http_protocol_i_pv6="disabled",
            http_put_response_hop_limit=1,
            http_tokens="required",
        ),
        block_device_mappings=devices,
        tags=tags,
    )
    return spec.render()
