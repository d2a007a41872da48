"""Network properties over every NetworkPolicy the stacks render, and who may reach whom as a table.

Every peer names its namespace and pods (or an address block short of every address), every policy declares
the policyTypes whose rules it carries, DNS goes only to kube-dns. The reachability table is computed from the
rendered policies by a small evaluator of NetworkPolicy semantics (tests/netpol_eval.py) and compared with the
table the catalog declares (`allowFrom`, `exposed`, `aws`), read from the catalog file, not from the program:
a widening anywhere shows up as a changed row.
"""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml
from graphq import DEPLOYMENT, NETPOL, inputs
from netpol_eval import Endpoint, allowed

from tools import ROOT

NAME = "kubernetes.io/metadata.name"
KUBE_DNS = Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, {"dns": 53})
KUBE_SYSTEM_OTHER = Endpoint("other@kube-system", "kube-system", {"app": "other"})
# An API-labelled pod of a namespace no API lets in: reachable only if a peer is widened to every namespace.
INTRUDER = Endpoint(
    "intruder", "elsewhere", {"app.kubernetes.io/part-of": "picturesocial", "app.kubernetes.io/name": "x"}
)
OTHER_PORT = 9999  # a port no API listens on: never reachable
AWS_ENDPOINT = "52.94.0.10"  # an address outside the VPC, as AWS's regional API endpoints are


# -- properties of every policy ---------------------------------------------------------------------------


def peer_problems(policy: dict[str, Any]) -> list[str]:
    spec = policy["spec"]
    problems = []
    for direction, key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            peers = rule.get(key) or []
            if not peers and not (
                direction == "egress" and rule.get("ports") == [{"port": 443, "protocol": "TCP"}]
            ):
                problems.append(f"{direction}[{i}] has no peers")
            for j, peer in enumerate(peers):
                if "ipBlock" in peer:
                    if ipaddress.ip_network(peer["ipBlock"]["cidr"]).prefixlen == 0:
                        problems.append(f"{direction}[{i}].{key}[{j}] is every address")
                    continue
                if not ((peer.get("namespaceSelector") or {}).get("matchLabels") or {}).get(NAME):
                    problems.append(f"{direction}[{i}].{key}[{j}] names no namespace")
                if not (peer.get("podSelector") or {}).get("matchLabels"):
                    problems.append(f"{direction}[{i}].{key}[{j}] names no pods")
    return problems


def type_problems(policy: dict[str, Any]) -> list[str]:
    spec = policy["spec"]
    declared = spec.get("policyTypes")
    if declared is None:
        return ["declares no policyTypes"]
    return [
        f"has {direction} rules without {kind} in policyTypes"
        for direction, kind in (("ingress", "Ingress"), ("egress", "Egress"))
        if spec.get(direction) and kind not in declared
    ]


def dns_problems(policy: dict[str, Any]) -> list[str]:
    problems = []
    for i, rule in enumerate(policy["spec"].get("egress") or []):
        if any(p.get("port") == 53 for p in rule.get("ports") or []):
            for peer in rule.get("to") or [{}]:
                if (peer.get("namespaceSelector") or {}).get("matchLabels") != {NAME: "kube-system"} or (
                    peer.get("podSelector") or {}
                ).get("matchLabels") != {"k8s-app": "kube-dns"}:
                    problems.append(f"egress[{i}] opens DNS to {peer}")
    return problems


PROPERTIES = [peer_problems, type_problems, dns_problems]


def _policies(graph) -> list[dict[str, Any]]:
    return inputs(graph, NETPOL)


@pytest.mark.parametrize("check", PROPERTIES, ids=lambda f: f.__name__)
def test_every_fixture_policy_has_the_property(fixture_graph, check):
    policies = _policies(fixture_graph)
    assert len(policies) >= 4
    found = {f"{p['metadata']['namespace']}/{p['metadata']['name']}": check(p) for p in policies}
    assert {k: v for k, v in found.items() if v} == {}


@pytest.mark.live
@pytest.mark.parametrize("check", PROPERTIES, ids=lambda f: f.__name__)
def test_every_live_policy_has_the_property(graphs, check):
    for stack, graph in graphs.items():
        found = {f"{p['metadata']['namespace']}/{p['metadata']['name']}": check(p) for p in _policies(graph)}
        assert {k: v for k, v in found.items() if v} == {}, stack


def _with(policies, name, change):
    out = copy.deepcopy(policies)
    change(next(p for p in out if p["metadata"]["name"] == name and p["spec"].get("ingress")))
    return out


@pytest.mark.parametrize(
    "check, change",
    [
        # one peer of three widened: the second loses its pods, or its namespace; a fourth is every address
        (peer_problems, lambda p: p["spec"]["ingress"][0]["from"][1].pop("podSelector")),
        (peer_problems, lambda p: p["spec"]["ingress"][0]["from"][1].pop("namespaceSelector")),
        (peer_problems, lambda p: p["spec"]["ingress"][0]["from"].append({"ipBlock": {"cidr": "0.0.0.0/0"}})),
        # the policy stops declaring Egress while it keeps its egress rule
        (type_problems, lambda p: p["spec"].update(policyTypes=["Ingress"])),
        # DNS opened to one more peer besides kube-dns
        (
            dns_problems,
            lambda p: p["spec"].update(
                egress=[
                    {
                        "to": [{"namespaceSelector": {"matchLabels": {NAME: "kube-system"}}}],
                        "ports": [{"port": 53}],
                    }
                ]
            ),
        ),
    ],
    ids=["second-peer-any-pod", "second-peer-no-namespace", "every-address", "egress-undeclared", "dns"],
)
def test_one_bad_instance_among_several_is_found(fixture_graphs, check, change):
    policies = _with(_policies(fixture_graphs["small"]), "photos", change)
    assert [problem for p in policies for problem in check(p)]


# -- reachability --------------------------------------------------------------------------------------


def catalog(root: Path) -> dict[str, dict[str, Any]]:
    return yaml.safe_load((root / "workloads" / "catalog.yaml").read_text())["apis"]


def endpoints(graph) -> dict[str, Endpoint]:
    """Every API's pods (one per Deployment, by API name), and a stranger pod in every API namespace."""
    out: dict[str, Endpoint] = {}
    for d in inputs(graph, DEPLOYMENT):
        labels = d["spec"]["template"]["metadata"]["labels"]
        ports = {
            p["name"]: p["containerPort"]
            for c in d["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports") or []
        }
        out[labels["app.kubernetes.io/name"]] = Endpoint(
            labels["app.kubernetes.io/name"], d["metadata"]["namespace"], labels, ports
        )
    for namespace in sorted({str(e.namespace) for e in out.values()}):
        out[f"stranger@{namespace}"] = Endpoint(f"stranger@{namespace}", namespace, {"app": "debug"})
    return out


def vpc_address(graph) -> str:
    cidr = next(r["inputs"]["cidrBlock"] for r in graph.of_type("aws:ec2/vpc:Vpc"))
    return str(ipaddress.ip_network(cidr).network_address + 10)


def reachability(graph) -> set[tuple[str, str, int]]:
    """(source, destination, port) for every connection the rendered policies allow between the APIs,
    strangers,
    the VPC's addresses (the NLBs), kube-dns and AWS's endpoints."""
    policies = _policies(graph)
    pods = endpoints(graph)
    sources = [*pods.values(), INTRUDER, Endpoint("vpc", address=vpc_address(graph))]
    destinations = [*pods.values(), KUBE_DNS, KUBE_SYSTEM_OTHER, Endpoint("aws", address=AWS_ENDPOINT)]
    ports = sorted({p for e in pods.values() for p in e.ports.values()} | {53, 443, OTHER_PORT})
    rows = set()
    for source in sources:
        for destination in destinations:
            if source.name == destination.name:
                continue
            for port in ports:
                protocol = "UDP" if port == 53 else "TCP"
                if (source.name in pods or destination.name in pods) and allowed(
                    policies, source, destination, port, protocol
                ):
                    rows.add((source.name, destination.name, port))
    return rows


def declared(apis: dict[str, dict[str, Any]], graph) -> set[tuple[str, str, int]]:
    """What the catalog allows: callers from other namespaces in `allowFrom` on the API's port, the VPC (its
    NLB)
    when `exposed`, HTTPS to AWS when it has `aws` actions, DNS to kube-dns for every pod of an API namespace.
    Within a namespace nothing is opened (default deny egress): the catalog names namespaces elsewhere."""
    pods = endpoints(graph)
    rows = set()
    for name, api in apis.items():
        for caller, other in apis.items():
            if other["namespace"] in (api.get("allowFrom") or []) and other["namespace"] != api["namespace"]:
                rows.add((caller, name, api["port"]))
        if api.get("exposed"):
            rows.add(("vpc", name, api["port"]))
        if api.get("aws"):
            # HTTPS to AWS has no peers (regional endpoints have public addresses, interface endpoints VPC
            # ones): it reaches whatever no ingress policy closes on 443, kube-system's pods included.
            rows |= {(name, other, 443) for other in ("aws", "kube-dns", "other@kube-system")}
    for pod in pods.values():
        rows.add((pod.name, "kube-dns", 53))
    return rows


def test_the_fixture_reachability_table_is_the_catalogs(fixture_graph):
    table = reachability(fixture_graph)
    expected = declared(catalog(ROOT / "tests" / "fixtures" / "project"), fixture_graph)
    assert ("greeter", "photos", 5200) in expected  # the fixture's one cross-namespace call
    assert sorted(table - expected) == [] and sorted(expected - table) == []


@pytest.mark.live
def test_every_live_reachability_table_is_the_catalogs(graphs):
    for stack, graph in graphs.items():
        table, expected = reachability(graph), declared(catalog(ROOT), graph)
        assert (sorted(table - expected), sorted(expected - table)) == ([], []), stack


class _Graph:
    """A fixture graph with its NetworkPolicies replaced."""

    def __init__(self, graph, policies):
        self._graph, self._policies = graph, policies

    def of_type(self, typ):
        if typ == NETPOL:
            return [{"inputs": p} for p in self._policies]
        return self._graph.of_type(typ)


def _widened(graph, name, change):
    policies = copy.deepcopy(_policies(graph))
    for p in policies:
        if p["metadata"]["name"] == name:
            change(p)
    return _Graph(graph, policies)


@pytest.mark.parametrize(
    "policy, change, row",
    [
        # the second peer of photos' ingress (its caller namespace, front) made any pod there, then every
        # namespace's API pods
        (
            "photos",
            lambda p: p["spec"]["ingress"][0]["from"][1].pop("podSelector"),
            ("stranger@front", "photos", 5200),
        ),
        (
            "photos",
            lambda p: p["spec"]["ingress"][0]["from"][1].update(namespaceSelector={}),
            ("intruder", "photos", 5200),
        ),
        # ingress opened to every port of the pod
        ("photos", lambda p: p["spec"]["ingress"][0].pop("ports"), ("vpc", "photos", OTHER_PORT)),
        # the namespace's API calls stop declaring Egress: its allowance silently stops applying
        ("allow-api-calls", lambda p: p["spec"].update(policyTypes=["Ingress"]), ("greeter", "photos", 5200)),
        # DNS opened to every pod of kube-system
        (
            "allow-dns",
            lambda p: p["spec"]["egress"][0]["to"][0].pop("podSelector"),
            ("greeter", "other@kube-system", 53),
        ),
    ],
    ids=["peer-any-pod", "peer-every-namespace", "every-port", "egress-undeclared", "dns-wide"],
)
def test_a_widening_or_narrowing_changes_a_row(fixture_graphs, policy, change, row):
    graph = fixture_graphs["small"]
    before, after = reachability(graph), reachability(_widened(graph, policy, change))
    assert row in before ^ after
