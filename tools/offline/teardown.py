"""`pulumi destroy` rehearsed on the offline graph: what goes first, and which controller-created AWS objects
would be left (and the destroy hung) because their controller, its permissions or its nodes went before them.

Pulumi deletes a resource only after everything that depends on it: its dependents through `dependencies`,
property dependencies, `deletedWith`, its provider and its parent (pulumi pkg/resource/graph/
dependency_graph.go, DependenciesOf: "the resource's provider, parent, any resources in the Dependencies
list, any resources in the PropertyDependencies map, and any resource referenced by the DeletedWith ...
fields"); the deployment deletes in the reverse topological order of that graph. Resources with no path
between them are deleted in parallel, in no fixed order: only a dependency path makes "X before Y" certain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tools.offline.engine import Graph

SERVICE = "kubernetes:core/v1:Service"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ROLE = "aws:iam/role:Role"
GRANTS = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
QUEUE = "aws:sqs/queue:Queue"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
# pulumi-eks installs the VPC CNI (vpc-cni add-on, vpcCniOptions) inside its Cluster component.
EKS = "eks:index:Cluster"
WORKLOADS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
)

# The charts (Helm release names, settings/addons.py) whose controllers create AWS objects.
LOAD_BALANCER_CONTROLLER = "aws-load-balancer-controller"
KARPENTER = "karpenter"

HANG_LB = (
    "the Service's finalizer service.k8s.aws/resources waits for a load balancer controller that can no "
    "longer act: `pulumi destroy` hangs on the Service, and its NLB, target groups and security groups stay "
    "in the VPC, whose deletion then fails (DependencyViolation)"
)
HANG_KARPENTER = (
    "Karpenter's finalizers (karpenter.sh/termination on its NodeClaims, karpenter.k8s.aws/termination on "
    "the EC2NodeClass) wait for a controller that can no longer act: `pulumi destroy` hangs on the {kind}, "
    "and its instances, launch templates and instance profile stay, holding the subnets and security groups"
)
HANG_CNI = (
    "the VPC CNI releases the pods' network interfaces and addresses: removed first, the interfaces stay in "
    "the subnets and the VPC's deletion fails (DependencyViolation)"
)


def _urn_of_provider(reference: str) -> str:
    # A provider reference is "<urn>::<id>" (the offline graph records the URN alone); a URN is
    # urn:pulumi:<stack>::<project>::<type>::<name>, three "::" of its own.
    return reference.rsplit("::", 1)[0] if reference.count("::") > 3 else reference


def dependencies_of(resource: dict[str, Any]) -> set[str]:
    """What Pulumi deletes only after ``resource``: its dependencies, provider and parent."""
    found = set(resource.get("dependencies") or ())
    for values in (resource.get("propertyDependencies") or {}).values():
        found.update(values)
    if resource.get("deletedWith"):
        found.add(resource["deletedWith"])
    if resource.get("provider"):
        found.add(_urn_of_provider(resource["provider"]))
    if resource.get("parent"):
        found.add(resource["parent"])
    return found


def deletion_order(graph: Graph) -> list[str]:
    """The URNs in one order `pulumi destroy` may delete them: every resource after all its dependents."""
    by_urn = graph.by_urn()
    edges = {urn: dependencies_of(r) & by_urn.keys() for urn, r in by_urn.items()}
    dependents: dict[str, int] = dict.fromkeys(by_urn, 0)
    for deps in edges.values():
        for dep in deps:
            dependents[dep] += 1
    ready = [urn for urn, n in dependents.items() if n == 0]
    order: list[str] = []
    while ready:
        urn = ready.pop(0)
        order.append(urn)
        for dep in sorted(edges[urn]):
            dependents[dep] -= 1
            if dependents[dep] == 0:
                ready.append(dep)
    if len(order) != len(by_urn):
        raise ValueError(f"the graph of {graph.stack} has a cycle: no deletion order")
    return order


def _closure(graph: Graph, urn: str) -> set[str]:
    by_urn = graph.by_urn()
    seen: set[str] = set()
    todo = [urn]
    while todo:
        current = todo.pop()
        if current in seen or current not in by_urn:
            continue
        seen.add(current)
        todo.extend(dependencies_of(by_urn[current]))
    return seen - {urn}


@dataclass(frozen=True)
class Hazard:
    """A controller-created object whose deletion is not certain to come before ``needed``."""

    obj: str
    needed: str
    hang: str

    def __str__(self) -> str:
        return f"{self.obj} is not deleted before {self.needed}: {self.hang}"


def _label(resource: dict[str, Any]) -> str:
    return f"{resource['type'].rsplit(':', 1)[-1]} {resource['name']}"


def controller_needs(graph: Graph, chart: str) -> list[dict[str, Any]]:
    """What a chart's controller needs to clean up: its release, the IAM roles the release uses and their
    policies, and the managed node groups it runs on."""
    by_urn = graph.by_urn()
    releases = [r for r in graph.of_type(RELEASE) if r["inputs"].get("name") == chart]
    needed: list[dict[str, Any]] = []
    for release in releases:
        needed.append(release)
        roles = {d for d in release["dependencies"] if by_urn.get(d, {}).get("type") == ROLE}
        needed += [by_urn[r] for r in sorted(roles)]
        needed += [g for t in GRANTS for g in graph.of_type(t) if roles & set(g["dependencies"])]
    needed += graph.of_type(NODE_GROUP)
    return needed


def hazards(graph: Graph) -> Iterator[Hazard]:
    """Every controller-created object and every thing its controller needs that may go before it."""
    checks: list[tuple[list[dict[str, Any]], list[dict[str, Any]], str]] = []
    balancers = [
        s for s in graph.of_type(SERVICE) if s["inputs"].get("spec", {}).get("type") == "LoadBalancer"
    ]
    if balancers:
        checks.append((balancers, controller_needs(graph, LOAD_BALANCER_CONTROLLER), HANG_LB))
    karpenter = [*graph.of_type(NODE_POOL), *graph.of_type(NODE_CLASS)]
    if karpenter:
        needs = controller_needs(graph, KARPENTER)
        # Its interruption queue and the rules feeding it: the children of the release's component.
        components = {n["parent"] for n in needs if n["type"] == RELEASE}
        needs += [
            r
            for t in (QUEUE, EVENT_RULE, EVENT_TARGET)
            for r in graph.of_type(t)
            if r["parent"] in components
        ]
        for obj in karpenter:
            kind = obj["type"].rsplit(":", 1)[-1]
            checks.append(([obj], needs, HANG_KARPENTER.format(kind=kind)))
    workloads = [w for t in WORKLOADS for w in graph.of_type(t)]
    if workloads:
        checks.append((workloads, graph.of_type(EKS), HANG_CNI))
    for objects, needs, hang in checks:
        if not any(n["type"] == RELEASE for n in needs) and hang != HANG_CNI:
            for obj in objects:
                yield Hazard(_label(obj), "its controller's release, which the graph does not have", hang)
            continue
        for obj in objects:
            before = _closure(graph, obj["urn"])
            for need in needs:
                if need["urn"] not in before:
                    yield Hazard(_label(obj), _label(need), hang)
