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
    assert {p.stem for p in (ROOT / "tests" / "snapshots").glob("*.yaml")} == set(discover(ROOT))


@pytest.mark.parametrize("stack", discover(ROOT))
def test_snapshot_is_current(graphs, stack):
    path = path_of(stack)
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run `make snapshot`"
    current = render(graphs[stack].body())
    if current != path.read_text():
        out = io.StringIO()
        changes, unchanged = diff(yaml.safe_load(path.read_text()), json.loads(graphs[stack].to_json()))
        report(changes, unchanged, out=out)
        pytest.fail(
            f"{path.relative_to(ROOT)} is stale; the program now differs from it by:\n{out.getvalue()}"
            "Review the change, then run `make snapshot` and commit the snapshots.",
            pytrace=False,
        )
