"""A business-domain namespace: restricted Pod Security, default-deny traffic, DNS allowed."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra.context import ClusterContext
from settings.catalog import NamespaceSpec

PART_OF = "picturesocial"


class ApiNamespace(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    name: str

    def __init__(
        self,
        name: str,
        spec: NamespaceSpec,
        context: ClusterContext,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:workloads:ApiNamespace", name, None, opts)
        protect, egress_to = context.environment.protect, spec.egress_to
        self.name = name
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name,
                labels={
                    "app.kubernetes.io/part-of": PART_OF,
                    **{
                        f"pod-security.kubernetes.io/{mode}": "restricted"
                        for mode in ("enforce", "audit", "warn")
                    },
                    # The load balancer controller injects a readiness gate (target healthy in the NLB) into
                    # pods created here (AWS Load Balancer Controller docs, "Pod readiness gate"; IP targets
                    # only).
                    **({"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"} if spec.load_balanced else {}),
                },
            ),
            # Deleting a namespace deletes everything in it.
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny", namespace=name),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]
            ),
            opts=inside,
        )
        peer, port = k8s.networking.v1.NetworkPolicyPeerArgs, k8s.networking.v1.NetworkPolicyPortArgs
        self._allow_egress(
            "allow-dns",
            [
                (
                    [
                        peer(
                            namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                match_labels={"kubernetes.io/metadata.name": "kube-system"}
                            ),
                            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
                        )
                    ],
                    [port(protocol=p, port=53) for p in ("UDP", "TCP")],
                )
            ],
            inside,
        )
        if egress_to:
            self._allow_egress(
                "allow-api-calls",
                [
                    (
                        [
                            peer(
                                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels={"kubernetes.io/metadata.name": target}
                                ),
                                pod_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels={"app.kubernetes.io/part-of": PART_OF}
                                ),
                            )
                        ],
                        [port(protocol="TCP", port=target_port)],
                    )
                    for target, target_port in egress_to
                ],
                inside,
            )
        self.register_outputs({"name": name})

    def _allow_egress(
        self, policy: str, rules: list[tuple[list, list]], opts: pulumi.ResourceOptions
    ) -> None:
        """An egress allowance for every pod of the namespace: (peers, ports) per rule."""
        k8s.networking.v1.NetworkPolicy(
            f"{self.name}-{policy}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=policy, namespace=self.name),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=peers, ports=ports)
                    for peers, ports in rules
                ],
            ),
            opts=opts,
        )
