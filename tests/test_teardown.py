"""`pulumi destroy` rehearsed offline: every controller-created AWS object goes before its controller, the
controller's permissions and its nodes; workloads go before the CNI. A missing edge is a hung destroy and
resources left behind (tools/offline/teardown.py)."""

from __future__ import annotations

import copy

import pytest
from conftest import FIXTURE, fixture_config
from graphq import one

from tools import destroy as destroy_tool
from tools.offline import Graph
from tools.offline.teardown import deletion_order, hazards

HANG_LB = "finalizer service.k8s.aws/resources"
HANG_KARPENTER = "Karpenter's finalizers"
HANG_CNI = "the VPC CNI releases the pods' network interfaces"


def test_every_fixture_stack_tears_down_in_an_order_that_leaves_nothing(fixture_graph):
    assert list(hazards(fixture_graph)) == []


@pytest.mark.live
def test_every_live_stack_tears_down_in_an_order_that_leaves_nothing(graphs):
    for stack, graph in graphs.items():
        assert [str(h) for h in hazards(graph)] == [], stack


def test_the_rehearsal_sees_what_it_must_order(fixture_graphs):
    # The large stack has every kind of controller-made object: without them the test above proves nothing.
    graph = fixture_graphs["large"]
    kinds = {r["type"] for r in graph.resources}
    assert {"kubernetes:karpenter.sh/v1:NodePool", "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"} <= kinds
    assert any(
        s["inputs"]["spec"].get("type") == "LoadBalancer" for s in graph.of_type("kubernetes:core/v1:Service")
    )


def test_the_deletion_order_puts_each_balancer_before_its_controller(fixture_graphs):
    graph = fixture_graphs["large"]
    order = deletion_order(graph)
    assert sorted(order) == sorted(r["urn"] for r in graph.resources)
    release = one(graph, "kubernetes:helm.sh/v3:Release", "aws-load-balancer-controller")["urn"]
    for service in graph.of_type("kubernetes:core/v1:Service"):
        if service["inputs"]["spec"].get("type") == "LoadBalancer":
            assert order.index(service["urn"]) < order.index(release), service["name"]
    # The stack goes last: everything is its child.
    assert graph.by_urn()[order[-1]]["type"] == "pulumi:pulumi:Stack"


def without_edge(graph: Graph, typ: str, name: str, *dropped: str) -> Graph:
    """A copy of ``graph`` where the one resource ``typ``/``name`` no longer depends on anything of the
    ``dropped`` types: as if its depends_on had been left out."""
    resources = copy.deepcopy(graph.resources)
    by_urn = {r["urn"]: r for r in resources}
    (target,) = [r for r in resources if r["type"] == typ and r["name"] == name]
    before = len(target["dependencies"])
    target["dependencies"] = [d for d in target["dependencies"] if by_urn[d]["type"] not in dropped]
    assert len(target["dependencies"]) < before, f"{name} had no dependency on a {dropped}"
    return Graph(graph.project, graph.stack, resources, graph.outputs)


def only(found, name):
    return [str(h) for h in found if h.obj.endswith(f" {name}")]


def test_a_balancer_without_its_controller_edge_names_the_hang(fixture_graphs):
    graph = fixture_graphs["large"]
    services = [
        s
        for s in graph.of_type("kubernetes:core/v1:Service")
        if s["inputs"]["spec"].get("type") == "LoadBalancer"
    ]
    assert len(services) >= 2  # one broken among several
    broken, intact = services[0]["name"], services[1]["name"]
    found = list(
        hazards(without_edge(graph, "kubernetes:core/v1:Service", broken, "kubernetes:helm.sh/v3:Release"))
    )
    messages = only(found, broken)
    assert any("Release aws-load-balancer-controller" in m and HANG_LB in m for m in messages), messages
    # Its role, the role's policy and the node groups are no longer certain to outlive it either.
    assert any("Role load-balancer-controller" in m for m in messages)
    assert any("RolePolicy load-balancer-controller" in m for m in messages)
    assert any("NodeGroup " in m for m in messages)
    assert only(found, intact) == [] and len(messages) == len(found)


def test_a_node_pool_without_its_controller_edge_names_the_hang(fixture_graphs):
    graph = fixture_graphs["large"]
    (pool, *_) = graph.of_type("kubernetes:karpenter.sh/v1:NodePool")
    broken = without_edge(graph, pool["type"], pool["name"], "kubernetes:helm.sh/v3:Release")
    # The pool still reaches the controller through its EC2NodeClass: drop that edge too, as a pull request
    # removing the pool's depends_on would.
    broken = without_edge(broken, pool["type"], pool["name"], "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    messages = only(hazards(broken), pool["name"])
    assert any("Release karpenter" in m and HANG_KARPENTER in m and "NodePool" in m for m in messages), (
        messages
    )
    for needed in ("Queue interruptions", "EventRule ", "RolePolicy controller"):
        assert any(needed in m for m in messages), needed


def test_a_controller_whose_policy_may_go_first_names_the_hang(fixture_graphs):
    graph = fixture_graphs["large"]
    broken = without_edge(
        graph,
        "kubernetes:helm.sh/v3:Release",
        "aws-load-balancer-controller",
        "aws:iam/rolePolicy:RolePolicy",
    )
    messages = [str(h) for h in hazards(broken)]
    assert messages and all("RolePolicy load-balancer-controller" in m and HANG_LB in m for m in messages)


def test_interruption_rules_removed_before_the_node_pools_are_named(fixture_graphs):
    graph = fixture_graphs["large"]
    broken = without_edge(
        graph,
        "kubernetes:helm.sh/v3:Release",
        "karpenter",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
    )
    messages = [str(h) for h in hazards(broken)]
    assert messages and all(" Event" in m and HANG_KARPENTER in m for m in messages)


def test_a_workload_that_may_outlive_the_cni_names_the_hang(fixture_graphs):
    graph = fixture_graphs["large"]
    resources = copy.deepcopy(graph.resources)
    (deployment, *_) = [r for r in resources if r["type"] == "kubernetes:apps/v1:Deployment"]
    # No path to the cluster (and its vpc-cni add-on) any more: not through its provider, what it needs, or
    # its component's namespace.
    stack = next(r["urn"] for r in resources if r["type"] == "pulumi:pulumi:Stack")
    deployment["provider"], deployment["dependencies"], deployment["parent"] = None, [], stack
    messages = [str(h) for h in hazards(Graph(graph.project, graph.stack, resources, graph.outputs))]
    assert messages == [
        f"Deployment {deployment['name']} is not deleted before Cluster eks: " + messages[0].split(": ", 1)[1]
    ]
    assert HANG_CNI in messages[0]


def fake_pulumi(tmp_path):
    """A `pulumi` on the PATH that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "args"}\n')
    script.chmod(0o755)
    return bin_dir


def destroy(tmp_path, monkeypatch, capsys, *argv):
    """`python -m tools.destroy ...` in this process (the tool's own imports are the slow part), with a
    recording `pulumi` first on the PATH: its exit code, stdout and stderr."""
    monkeypatch.setenv("PATH", f"{fake_pulumi(tmp_path)}:/usr/bin:/bin")
    code = destroy_tool.main([*argv, "--project", str(FIXTURE)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_protected_stack_refuses_destroy_in_one_line(tmp_path, monkeypatch, capsys):
    code, _, err = destroy(tmp_path, monkeypatch, capsys, "large")
    assert code == 1
    assert err.splitlines() == [
        "error: Pulumi.large.yaml: picturesocial:protect is true (the default): stack large keeps its "
        "stateful resources and is not destroyed; only a stack whose file sets it to false (dev) is"
    ]
    assert not (tmp_path / "args").exists()  # Pulumi never started


def test_a_stack_with_a_protected_cluster_refuses_destroy(tmp_path, monkeypatch, capsys, write_stack):
    config = write_stack(
        {
            "picturesocial:cluster": {
                **fixture_config("small")["picturesocial:cluster"],
                "deletionProtection": True,
            }
        }
    )
    code, _, err = destroy(tmp_path, monkeypatch, capsys, "small", "--config", str(config))
    assert code == 1 and len(err.splitlines()) == 1
    assert "picturesocial:cluster.deletionProtection is true" in err
    assert not (tmp_path / "args").exists()


def test_an_unprotected_stack_is_destroyed(tmp_path, monkeypatch, capsys):
    code, out, err = destroy(tmp_path, monkeypatch, capsys, "small", "--yes")
    assert code == 0, err
    assert (tmp_path / "args").read_text().split() == ["destroy", "--stack", "small", "--yes"]
    assert "make leftovers STACK=small" in out
