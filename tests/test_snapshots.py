"""The committed desired state of every stack (tests/snapshots/<stack>.yaml) matches the program.

A pull request that changes what any environment would deploy changes these files, so its file diff shows the
change to every environment without credentials. `make snapshot` rewrites them.
"""

from __future__ import annotations

import io
import json

import pytest
import yaml

from tools import ROOT
from tools.diff import diff, report
from tools.offline.stacks import discover
from tools.snapshot import path_of, render

pytestmark = pytest.mark.live


def test_every_stack_has_a_snapshot_and_every_snapshot_a_stack():
    snapshots = ROOT / "tests" / "snapshots"
    assert {p.stem for p in snapshots.glob("*.yaml")} == set(discover(ROOT))
    assert {p.stem for p in (snapshots / "bootstrap").glob("*.yaml")} == set(discover(ROOT / "bootstrap"))


CASES = [("", stack) for stack in discover(ROOT)] + [
    ("bootstrap", stack) for stack in discover(ROOT / "bootstrap")
]


@pytest.mark.parametrize("folder, stack", CASES, ids=[f"{f}/{s}" if f else s for f, s in CASES])
def test_snapshot_is_current(graphs, bootstrap_graphs, folder, stack):
    graph = (bootstrap_graphs if folder else graphs)[stack]
    path = path_of(stack, ROOT, folder)
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run `make snapshot`"
    current = render(graph.body())
    if current != path.read_text():
        out = io.StringIO()
        changes, unchanged = diff(yaml.safe_load(path.read_text()), json.loads(graph.to_json()))
        report(changes, unchanged, out=out)
        pytest.fail(
            f"{path.relative_to(ROOT)} is stale; the program now differs from it by:\n{out.getvalue()}"
            "Review the change, then run `make snapshot` and commit the snapshots.",
            pytrace=False,
        )
