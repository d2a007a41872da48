"""A small evaluator of Kubernetes NetworkPolicy semantics, for the tests' reachability tables.

Semantics (Kubernetes docs, "Network Policies", and the networking.k8s.io/v1 API reference):
- a pod is isolated for a direction when some policy of its namespace selects it (``podSelector``, the empty
  selector selecting every pod) and lists that direction in ``policyTypes``; an isolated pod admits only what
  some such policy's rules allow, the union of them; a pod no policy isolates admits everything;
- ``policyTypes`` left out means Ingress, plus Egress when the policy has egress rules; listed, it is taken as
  written (egress rules of a policy that does not list Egress do not apply);
- a connection needs both the source's egress and the destination's ingress;
- a rule without peers (``from``/``to``) matches every peer; without ports, every port; a peer with only
  ``podSelector`` means pods of the policy's own namespace, with ``namespaceSelector`` pods of the selected
  namespaces (every pod there without a ``podSelector``), ``ipBlock`` addresses (``except`` excluded);
- a named port is the destination container's port of that name; protocol defaults to TCP.
Not modelled (refused rather than guessed): ``matchExpressions``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace and labels, named ports) or an address outside the cluster's pods."""

    name: str
    namespace: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)  # named container ports
    address: str | None = None

    def __hash__(self) -> int:
        return hash(self.name)


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    if selector.get("matchExpressions"):
        raise ValueError(f"matchExpressions are not modelled: {selector}")
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _types(spec: dict[str, Any]) -> set[str]:
    if "policyTypes" in spec and spec["policyTypes"] is not None:
        return set(spec["policyTypes"])
    return {"Ingress", *(["Egress"] if spec.get("egress") else [])}


def _peer_matches(peer: dict[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        if other.address is None:
            return False  # pod-to-pod traffic is matched by selectors (pod addresses are not modelled)
        address = ipaddress.ip_address(other.address)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except") or []
        )
    if other.namespace is None:
        return False
    if "namespaceSelector" in peer and peer["namespaceSelector"] is not None:
        namespace_labels = {"kubernetes.io/metadata.name": other.namespace}
        if not selects(peer["namespaceSelector"], namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector"), other.labels) if "podSelector" in peer else True


def _port_matches(
    ports: list[dict[str, Any]] | None, port: int, protocol: str, destination: Endpoint
) -> bool:
    if not ports:
        return True
    for p in ports:
        if (p.get("protocol") or "TCP") != protocol:
            continue
        value = p.get("port")
        if value is None:
            return True
        if isinstance(value, str):
            if destination.ports.get(value) == port:
                return True
            continue
        if value <= port <= (p.get("endPort") or value):
            return True
    return False


def _direction_allows(
    policies: list[dict[str, Any]],
    subject: Endpoint,
    other: Endpoint,
    direction: str,
    port: int,
    protocol: str,
    destination: Endpoint,
) -> bool:
    kind, peers_key = ("Ingress", "from") if direction == "ingress" else ("Egress", "to")
    if subject.namespace is None:
        return True  # an address outside the pods: no NetworkPolicy governs it
    isolating = [
        p
        for p in policies
        if p["metadata"].get("namespace") == subject.namespace
        and selects(p["spec"].get("podSelector") or {}, subject.labels)
        and kind in _types(p["spec"])
    ]
    if not isolating:
        return True
    for policy in isolating:
        for rule in policy["spec"].get(direction) or []:
            peers = rule.get(peers_key)
            if (not peers or any(_peer_matches(peer, subject.namespace, other) for peer in peers)) and (
                _port_matches(rule.get("ports"), port, protocol, destination)
            ):
                return True
    return False


def allowed(
    policies: list[dict[str, Any]], source: Endpoint, destination: Endpoint, port: int, protocol="TCP"
):
    """Whether ``source`` may open a connection to ``destination`` on ``port``."""
    return _direction_allows(
        policies, source, destination, "egress", port, protocol, destination
    ) and _direction_allows(policies, destination, source, "ingress", port, protocol, destination)
