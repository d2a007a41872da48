"""The committed desired state of every stack (tests/snapshots/<stack>.json) matches the program.

A pull request that changes what any environment would deploy changes these files, so its file diff
shows the change to every environment without credentials. `make snapshot` rewrites them.
"""

from __future__ import annotations

import io
import json

import pytest

from tools.diff import diff, report
from tools.offline.engine import ROOT

SNAPSHOTS = ROOT / "tests" / "snapshots"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_snapshot_is_current(graphs, stack):
    path = SNAPSHOTS / f"{stack}.json"
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run `make snapshot`"
    current = graphs[stack].to_json()
    committed = path.read_text()
    if current != committed:
        out = io.StringIO()
        changes, unchanged = diff(json.loads(committed), json.loads(current))
        report(changes, unchanged, out=out)
        pytest.fail(f"{path.relative_to(ROOT)} is stale; the program now differs from it by:\n{out.getvalue()}"
                    "Review the change, then run `make snapshot` and commit the snapshots.", pytrace=False)
