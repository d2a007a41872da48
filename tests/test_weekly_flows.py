"""The two changes app teams make every week, done as the README says in a copy of the repository: after `make
snapshot` (python -m tools.snapshot), the tests that read the live files pass. And a bad stack value stops the
suite with its one line before any test runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import ROOT
from tools.offline.stacks import discover
from tools.snapshot import snapshot

pytestmark = pytest.mark.slow

NEW_API = """
  comments:
    namespace: social
    port: 5400
    probes:
      readiness: {tcp: {}}
      liveness: {tcp: {}}
    resources:
      requests: {cpu: 100m, memory: 128Mi}
      limits: {cpu: 200m, memory: 256Mi}
    allowFrom: [hello]
"""


def copy_of_repository(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        copy,
        symlinks=True,
        ignore=shutil.ignore_patterns(".venv*", "build", ".git", "__pycache__", ".pytest_cache"),
    )
    return copy


def run(copy: Path, *args: str) -> subprocess.CompletedProcess:
    # Only the live stacks are synthesized before the tests: the ones these runs need read nothing else.
    return subprocess.run(
        [sys.executable, *args],
        cwd=copy,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(copy), "PICTURESOCIAL_PRESYNTH": "live"},
    )


def live_test_files(copy: Path) -> list[str]:
    """The test files holding tests marked `live` (what reads the live files): the run collects only them."""
    return sorted(
        str(path.relative_to(copy))
        for path in (copy / "tests").glob("test_*.py")
        if "mark.live" in path.read_text()
    )


def add_an_api(copy: Path) -> None:
    """A catalog entry, and a tag in every stack file (README, "The APIs")."""
    catalog = copy / "workloads" / "catalog.yaml"
    catalog.write_text(catalog.read_text().rstrip("\n") + "\n" + NEW_API)
    for stack in discover(copy):
        path = copy / f"Pulumi.{stack}.yaml"
        text = path.read_text()
        assert "  picturesocial:apis:\n" in text
        path.write_text(
            text.replace("  picturesocial:apis:\n", '  picturesocial:apis:\n    comments: {tag: "0.1.0"}\n')
        )


def bump_a_tag(copy: Path) -> None:
    path = copy / "Pulumi.dev.yaml"
    text, count = re.subn(r'(\n    pictures: \{tag: ")[^"]+"', r'\g<1>9.9.9"', path.read_text())
    assert count == 1
    path.write_text(text)


@pytest.mark.parametrize(
    "change, stale",
    [(add_an_api, ["dev", "prod", "staging"]), (bump_a_tag, ["dev"])],
    ids=["add-an-api", "bump-a-tag"],
)
def test_the_weekly_change_keeps_the_suite_green_after_make_snapshot(tmp_path, capsys, change, stale):
    copy = copy_of_repository(tmp_path)
    change(copy)
    # The step `make snapshot` runs (python -m tools.snapshot), in this process: the program is the same code,
    # only the copy's catalog and stack files differ. It rewrites exactly the snapshots the change touches.
    assert snapshot(copy) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote tests/snapshots/{stack}.yaml" for stack in stale]
    live = live_test_files(copy)
    result = run(copy, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "live and not slow", *live)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


def test_a_bad_stack_value_stops_the_suite_with_its_one_line(tmp_path):
    copy = copy_of_repository(tmp_path)
    path = copy / "Pulumi.staging.yaml"
    text, count = re.subn(r"(\n      minSize: )\d+", r"\g<1>7", path.read_text())
    assert count == 1  # the general node group's minimum, whatever it was
    path.write_text(text)
    # Not the slow tests, in case the change ever stopped failing: they run the suite in a copy again.
    result = run(copy, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        "error: Pulumi.staging.yaml: picturesocial:nodeGroups.general.minSize: 7 is greater than maxSize "
    )
    assert lines[-1] == "Exit: stack staging does not synthesize; no test ran"
    assert result.stdout.strip() == ""
