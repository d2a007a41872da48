"""Every add-on of the cluster, in one place: what it is, its pinned version and where that pin was read, the
identity it runs as, and when it is created. infra/ builds them (infra/cluster.py for the ones the control
plane needs, infra/addons.py for the rest, through one Helm helper); tools.smoke checks the same list.

"Latest for this cluster version" drifts between two `pulumi up` runs; a pin does not. Supporting a Kubernetes
version means a version here for every EKS managed add-on, reviewed like any other change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from settings import karpenter

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
    # The service account given an IAM role through the add-on's serviceAccountRoleArn (IRSA,
    # docs/decisions/0007), and that role's inline policy (a file in infra/policies/); None: no AWS identity.
    namespace: str | None = None
    service_account: str | None = None
    policy_file: str | None = None


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
    # The chart's own crds/ directory is left out: its CRDs come from a chart of their own, which Helm
    # upgrades (Helm installs a chart's crds/ once and never upgrades them).
    skip_crds: bool = False
    values: dict = field(
        default_factory=dict
    )  # fixed values; the stack-dependent ones come from infra/addons.py


# The pins for the two newest minors this project runs: the current one (every stack) and the previous one, so
# that an upgrade is rehearsed (tests/test_upgrade.py). Read from what `aws eks describe-addon-versions
# --kubernetes-version <v>` offered in October 2026, as recorded by public infrastructure code pinned against
# it; `make preflight` asks EKS whether each pin is offered for the cluster's version before every
# `pulumi up`. The EKS user guide's managing-kube-proxy table does list 1.36 (read 2026-12-03, in its ja_jp
# rendering, the only one the search showed current: 1.36 v1.36.0-eksbuild.14, 1.35 v1.35.3-eksbuild.13),
# behind the 1.36 build pinned here; no newer 1.35 kube-proxy or CoreDNS build could be confirmed from a
# source today, so those pins stay.
VPC_CNI = ManagedAddon(
    "vpc-cni",
    "control-plane",
    # One release line for every Kubernetes version. vpc-cni moves one minor version per update: a stack
    # running an older line upgrades through each minor.
    versions={"1.35": "v1.23.2-eksbuild.1", "1.36": "v1.23.2-eksbuild.1"},
    source="describe-addon-versions for 1.36 (2026-10-07) as pinned in "
    "AndreRosaLopes/eks_on_AWS_OpenSource infra/terraform/foundation/eks.tf @ecf12ec4 and two other public "
    "1.36 configurations; aws/amazon-vpc-cni-k8s v1.23 line",
)
KUBE_PROXY = ManagedAddon(
    "kube-proxy",
    "control-plane",
    versions={"1.35": "v1.35.3-eksbuild.13", "1.36": "v1.36.0-eksbuild.45"},
    source="1.35: EKS user guide, managing-kube-proxy, version table (2026); 1.36: the newest build offered "
    "(October 2026), pinned in AndreRosaLopes/eks_on_AWS_OpenSource infra/terraform/foundation/eks.tf "
    "@ecf12ec4",
)
COREDNS = ManagedAddon(
    "coredns",
    "compute",
    versions={"1.35": "v1.14.3-eksbuild.3", "1.36": "v1.14.7-eksbuild.11"},
    source="1.35: EKS user guide, managing-coredns, version table (2026); 1.36: v1.14.7 (CoreDNS CVE fixes, "
    "aws/eks-distro v1-33-eks-34 notes, 2026-10-28), build pinned in AndreRosaLopes/eks_on_AWS_OpenSource "
    "infra/terraform/foundation/eks.tf @ecf12ec4",
)

# Container Insights (enhanced) and Fluent Bit container logs (infra/observability.py). One release line for
# every Kubernetes version it supports; the same build runs 1.35 and 1.36 clusters in the configurations
# below.
CLOUDWATCH_OBSERVABILITY = ManagedAddon(
    "amazon-cloudwatch-observability",
    "compute",
    versions={"1.35": "v6.7.0-eksbuild.1", "1.36": "v6.7.0-eksbuild.1"},
    source="the newest build offered in September 2026 (aws-observability/helm-charts Release 6.x line, "
    "chart 6.4.0 @ 2026-08-07 the newest tagged upstream), as pinned by public 1.35 and 1.36 configurations; "
    "service account from the EKS user guide, workloads-add-ons-available-eks",
    namespace="amazon-cloudwatch",
    service_account="cloudwatch-agent",
    policy_file="cloudwatch-observability.json",
)

MANAGED: dict[str, ManagedAddon] = {
    addon.name: addon for addon in (VPC_CNI, KUBE_PROXY, COREDNS, CLOUDWATCH_OBSERVABILITY)
}

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

# Karpenter's CRDs and controller, from their OCI charts, at the stack's picturesocial:karpenter.version
# (default settings/karpenter.py VERSION, with its source). Namespace kube-system, as upstream installs it.
KARPENTER_CRDS = Chart(
    "karpenter-crd",
    chart="karpenter-crd",
    version=karpenter.VERSION,
    repository="oci://public.ecr.aws/karpenter",
    namespace="kube-system",
    source="aws/karpenter-provider-aws charts/karpenter-crd; upgrade guide, CRD Upgrades",
)
KARPENTER = Chart(
    "karpenter",
    chart="karpenter",
    version=karpenter.VERSION,
    repository="oci://public.ecr.aws/karpenter",
    namespace="kube-system",
    source="aws/karpenter-provider-aws charts/karpenter; karpenter.sh v1.15 getting started",
    service_account="karpenter",
    policy_file="karpenter-controller.json",
    skip_crds=True,
)

CHARTS: dict[str, Chart] = {
    chart.name: chart for chart in (METRICS_SERVER, LOAD_BALANCER_CONTROLLER, KARPENTER_CRDS, KARPENTER)
}


def kubernetes_versions() -> list[str]:
    """The Kubernetes versions every managed add-on has a pin for: the ones a stack may run."""
    supported = set.intersection(*(set(addon.versions) for addon in MANAGED.values()))
    return sorted(supported, key=lambda v: tuple(map(int, v.split("."))))
