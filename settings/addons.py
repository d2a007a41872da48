"""Every add-on of the cluster, in one place: what it is, its pinned version and where that pin was read, the
identity it runs as, and when it is created. infra/ builds them (infra/cluster.py for the ones the control
plane needs, infra/addons.py for the rest, through one Helm helper); tools.smoke checks the same list.

"Latest for this cluster version" drifts between two `pulumi up` runs; a pin does not. Supporting a Kubernetes
version means a version here for every EKS managed add-on, reviewed like any other change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# When an add-on is created:
# - control-plane: with the cluster, before any node (nodes need them to become Ready): the VPC CNI and
#   kube-proxy;
# - compute: once nodes exist (a Deployment created before any node stays DEGRADED, its create times out);
#   Helm releases also wait for CoreDNS, which their webhooks and SDKs need to resolve names.
Phase = Literal["control-plane", "compute"]


@dataclass(frozen=True)
class ManagedAddon:
    """An EKS managed add-on (aws.eks.Addon, or the options pulumi-eks creates one from)."""

    name: str
    phase: Phase
    versions: dict[str, str]  # Kubernetes minor version -> add-on version
    source: str


@dataclass(frozen=True)
class Chart:
    """A Helm chart installed as a release (kubernetes.helm.v3.Release)."""

    name: str  # the release's name
    chart: str
    version: str
    repository: str
    namespace: str
    source: str
    # The Kubernetes service account that gets an IAM role (IRSA, docs/decisions/0007), and that role's inline
    # policy (a file in infra/policies/); None: the add-on calls no AWS API.
    service_account: str | None = None
    policy_file: str | None = None
    phase: Phase = "compute"
    values: dict = field(
        default_factory=dict
    )  # fixed values; the stack-dependent ones come from infra/addons.py


VPC_CNI = ManagedAddon(
    "vpc-cni",
    "control-plane",
    versions={"1.32": "v1.20.1-eksbuild.3", "1.33": "v1.20.1-eksbuild.3"},
    source="EKS user guide, managing-vpc-cni, version table (2025)",
)
KUBE_PROXY = ManagedAddon(
    "kube-proxy",
    "control-plane",
    versions={"1.32": "v1.32.9-eksbuild.2", "1.33": "v1.33.5-eksbuild.2"},
    source="EKS user guide, managing-kube-proxy, version table (2025)",
)
COREDNS = ManagedAddon(
    "coredns",
    "compute",
    versions={"1.32": "v1.11.4-eksbuild.24", "1.33": "v1.12.4-eksbuild.1"},
    source="EKS user guide, managing-coredns, version table (2025)",
)

MANAGED: dict[str, ManagedAddon] = {addon.name: addon for addon in (VPC_CNI, KUBE_PROXY, COREDNS)}

METRICS_SERVER = Chart(
    "metrics-server",
    chart="metrics-server",
    version="3.13.1",
    repository="https://kubernetes-sigs.github.io/metrics-server/",
    namespace="kube-system",
    source="kubernetes-sigs/metrics-server tag metrics-server-helm-chart-3.13.1 (2026-06-11), app v0.8.1",
    values={"replicas": 2, "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1}},
)
LOAD_BALANCER_CONTROLLER = Chart(
    "aws-load-balancer-controller",
    chart="aws-load-balancer-controller",
    version="3.5.0",
    repository="https://aws.github.io/eks-charts",
    namespace="kube-system",
    source="kubernetes-sigs/aws-load-balancer-controller tag v3.5.0 (2026-08-03); aws/eks-charts 3.5.0",
    service_account="aws-load-balancer-controller",
    policy_file="load-balancer-controller-nlb.json",
)

CHARTS: dict[str, Chart] = {chart.name: chart for chart in (METRICS_SERVER, LOAD_BALANCER_CONTROLLER)}


def kubernetes_versions() -> list[str]:
    """The Kubernetes versions every managed add-on has a pin for: the ones a stack may run."""
    supported = set.intersection(*(set(addon.versions) for addon in MANAGED.values()))
    return sorted(supported, key=lambda v: tuple(map(int, v.split("."))))
