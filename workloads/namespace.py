"""A business-domain namespace: restricted Pod Security, default-deny traffic, DNS allowed."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

PART_OF = "picturesocial"


class ApiNamespace(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    name: str

    def __init__(self, name: str, *, egress_to: list[tuple[str, int]], protect: bool,
                 opts: pulumi.ResourceOptions | None = None):
        """``egress_to``: (namespace, port) pairs of APIs elsewhere that allow calls from this namespace."""
        super().__init__("picturesocial:workloads:ApiNamespace", name, None, opts)
        self.name = name
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels={
                "app.kubernetes.io/part-of": PART_OF,
                **{f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")},
            }),
            # Deleting a namespace deletes everything in it.
            opts=pulumi.ResourceOptions(parent=self, protect=protect))
        inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny", namespace=name),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector={}, policy_types=["Ingress", "Egress"]),
            opts=inside)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-dns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="allow-dns", namespace=name),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector={}, policy_types=["Egress"],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                        namespace_selector={"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        pod_selector={"matchLabels": {"k8s-app": "kube-dns"}})],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol=p, port=53) for p in ("UDP", "TCP")])]),
            opts=inside)
        if egress_to:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-api-calls",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="allow-api-calls", namespace=name),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector={}, policy_types=["Egress"],
                    egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[k8s.networking.v1.NetworkPolicyPeerArgs(namespace_selector={
                            "matchLabels": {"kubernetes.io/metadata.name": target}})],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=port)])
                        for target, port in egress_to]),
                opts=inside)
        self.register_outputs({"name": name})
