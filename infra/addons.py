"""Add-ons that need running nodes: the coredns EKS add-on and metrics-server."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s


class NodeAddons(pulumi.ComponentResource):
    def __init__(self, name: str, *, cluster_name: str, versions: dict[str, str],
                 node_groups: list[pulumi.Resource], opts: pulumi.ResourceOptions | None = None):
        super().__init__("picturesocial:infra:NodeAddons", name, None, opts)
        # coredns is a Deployment: created before any node exists, the add-on stays DEGRADED and the
        # create times out. pulumi-eks only manages it with a default node group (eks-baseline).
        self.coredns = aws.eks.Addon(
            "coredns", cluster_name=cluster_name, addon_name="coredns", addon_version=versions["coredns"],
            resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
            opts=pulumi.ResourceOptions(parent=self, depends_on=node_groups))
        self.register_outputs({})


METRICS_SERVER_CHART = "3.12.2"  # metrics-server v0.7.2


class MetricsServer(pulumi.ComponentResource):
    """Resource metrics for the HorizontalPodAutoscalers."""

    def __init__(self, name: str, *, k8s_provider: k8s.Provider, needs: list[pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("picturesocial:infra:MetricsServer", name, None, opts)
        self.release = k8s.helm.v3.Release(
            "metrics-server", name="metrics-server", chart="metrics-server", version=METRICS_SERVER_CHART,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://kubernetes-sigs.github.io/metrics-server/"),
            namespace="kube-system",
            values={"replicas": 2, "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1}},
            atomic=True,
            # Its pods need nodes, and cluster DNS to reach the kubelets by name.
            opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=needs))
        self.register_outputs({})
