"""The offline synth: what it writes, that it is reproducible, and that the program does not know
it runs under mocks."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

from tools.offline.engine import ROOT


def run_synth(stack, out):
    return subprocess.run([sys.executable, "-m", "tools.synth", stack, "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_two_runs_write_byte_identical_graphs(tmp_path):
    first, second = run_synth("prod", tmp_path / "a"), run_synth("prod", tmp_path / "b")
    assert first.returncode == second.returncode == 0, first.stderr
    assert (tmp_path / "a" / "graph.json").read_bytes() == (tmp_path / "b" / "graph.json").read_bytes()
    assert "stack outputs" in first.stdout and "protected:" in first.stdout


def test_graph_format(graphs):
    body = json.loads(graphs["dev"].to_json())
    assert set(body) == {"project", "stack", "resources", "outputs"}
    assert (body["project"], body["stack"]) == ("picturesocial", "dev")
    urns = [r["urn"] for r in body["resources"]]
    assert urns == sorted(urns) and len(urns) == len(set(urns))
    keys = {"urn", "id", "type", "name", "parent", "custom", "remote", "provider", "dependencies", "protect",
            "retainOnDelete", "deleteBeforeReplace", "ignoreChanges", "aliases", "inputs"}
    assert all(keys <= set(r) for r in body["resources"])


def test_secrets_never_reach_the_graph(graphs):
    text = graphs["dev"].to_json()
    assert "get-token" not in text  # the kubeconfig is secret, as an input and as an output
    assert json.loads(text)["outputs"]["kubeconfig"] == "[secret]"


def test_every_dependency_points_at_a_recorded_resource(graph):
    urns = set(graph.by_urn())
    for resource in graph.resources:
        assert set(resource["dependencies"]) <= urns, resource["urn"]


PROGRAM = ["__main__.py", *sorted(str(p.relative_to(ROOT)) for d in ("settings", "infra", "workloads")
                                  for p in (ROOT / d).rglob("*.py"))]


def test_the_program_never_imports_the_offline_engine_or_mocks():
    for path in PROGRAM:
        tree = ast.parse((ROOT / path).read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("tools", "tests")), f"{path} imports {name}"
                assert "mocks" not in name, f"{path} imports {name}"


def test_deploy_estimate_follows_the_longest_weighted_chain(graphs):
    from tools.offline.estimate import critical_path

    total, chain = critical_path(graphs["prod"])
    types = [r["type"] for r in chain]
    # The control plane, then a node group, dominate a from-scratch `pulumi up`.
    assert types.index("eks:index:Cluster") < types.index("aws:eks/nodeGroup:NodeGroup")
    assert 600 + 210 <= total <= 40 * 60
    # Each link of the chain really depends on the one before it.
    for earlier, later in zip(chain, chain[1:]):
        assert _reaches(graphs["prod"].by_urn(), later["urn"], earlier["urn"])


def test_estimate_weights_a_toy_graph(graphs):
    from tools.offline.engine import Graph
    from tools.offline.estimate import critical_path

    def res(urn, typ, deps=()):
        return {"urn": urn, "type": typ, "name": urn, "custom": True, "remote": False, "dependencies": list(deps)}

    toy = Graph("p", "s", [res("a", "x"), res("b", "y", ["a"]), res("c", "z", ["a"]), res("d", "x", ["b", "c"])], {})
    total, chain = critical_path(toy, {"x": 1, "y": 10, "z": 3})
    assert total == 12 and [r["urn"] for r in chain] == ["a", "b", "d"]


def _reaches(by_urn, start, target):
    seen, todo = set(), [start]
    while todo:
        urn = todo.pop()
        if urn == target:
            return True
        if urn not in seen:
            seen.add(urn)
            todo.extend(by_urn[urn]["dependencies"])
    return False
