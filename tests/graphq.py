"""Small queries over a desired-state graph, shared by the tests (one helper module, no `from conftest`)."""

from __future__ import annotations

from typing import Any

from tools.offline import Graph

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
HELM = "kubernetes:helm.sh/v3:Release"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SUBNET = "aws:ec2/subnet:Subnet"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS = "eks:index:Cluster"


def one(graph: Graph, typ: str, name: str) -> dict[str, Any]:
    """The one resource of ``typ`` with logical name ``name`` (fails if there are none or several)."""
    matches = [r for r in graph.of_type(typ) if r["name"] == name]
    assert len(matches) == 1, f"expected one {typ} named {name}, found {len(matches)}"
    return matches[0]


def inputs(graph: Graph, typ: str) -> list[dict[str, Any]]:
    """The inputs (for Kubernetes: the manifests) of every resource of ``typ``."""
    return [r["inputs"] for r in graph.of_type(typ)]


def k8s(graph: Graph, typ: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    """The manifest of the Kubernetes object ``namespace/name`` of ``typ``."""
    found = [
        m
        for m in inputs(graph, typ)
        if m["metadata"]["name"] == name
        and (namespace is None or m["metadata"].get("namespace") == namespace)
    ]
    assert len(found) == 1, f"expected one {typ} {namespace}/{name}, found {len(found)}"
    return found[0]


def containers(graph: Graph) -> dict[str, dict[str, Any]]:
    """The first container of every Deployment, by Deployment name."""
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]
        for d in inputs(graph, DEPLOYMENT)
    }


def reaches(graph: Graph, start: str, target: str) -> bool:
    """Whether ``start`` depends on ``target``, directly or through other resources."""
    by_urn = graph.by_urn()
    seen, todo = set(), [start]
    while todo:
        urn = todo.pop()
        if urn == target:
            return True
        if urn not in seen and urn in by_urn:
            seen.add(urn)
            todo.extend(by_urn[urn]["dependencies"])
    return False


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def resource(
    typ: str,
    name: str,
    inputs: dict[str, Any],
    *,
    protect: bool = False,
    dependencies: tuple[str, ...] | list[str] = (),
) -> dict[str, Any]:
    """A hand-built graph record, for feeding a policy a case the program never produces."""
    return {
        "urn": f"urn:pulumi:bad::picturesocial::{typ}::{name}",
        "type": typ,
        "name": name,
        "inputs": inputs,
        "protect": protect,
        "parent": None,
        "custom": True,
        "remote": False,
        "ignoreChanges": [],
        "deleteBeforeReplace": False,
        "aliases": [],
        "dependencies": list(dependencies),
    }
