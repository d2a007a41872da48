"""EKS managed add-ons that need running nodes, created after the node groups."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


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
