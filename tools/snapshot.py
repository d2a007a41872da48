"""Rewrites the committed desired state of every stack: tests/snapshots/<stack>.yaml.

    python -m tools.snapshot [--check]

One process synthesizes every stack (tools/offline/stacks.py). YAML, in the component-tree order of the graph:
an added API is one block of inserted lines in `git diff`, no neighbouring line changes. With --check nothing
is written; exit 1 lists the stale files (the test suite does the same comparison, with the diff).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from tools import ROOT
from tools.offline import SynthError, synthesize
from tools.offline.stacks import discover


def render(body: dict[str, Any]) -> str:
    return yaml.dump(
        body,
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        sort_keys=False,
        width=1_000_000,
        allow_unicode=True,
        default_flow_style=False,
    )


def path_of(stack: str, project_dir: Path = ROOT) -> Path:
    return project_dir / "tests" / "snapshots" / f"{stack}.yaml"


def snapshot(project_dir: Path = ROOT, check: bool = False) -> int:
    """Writes (or with ``check`` only compares) every stack's snapshot; returns the exit code."""
    stale = []
    for stack in discover(project_dir):
        try:
            text = render(synthesize(stack, root=project_dir).body())
        except SynthError as exc:
            for line in str(exc).splitlines():
                print(f"error: {line}", file=sys.stderr)
            return 2
        path = path_of(stack, project_dir)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if not check:
            path.write_text(text)
    known = {path_of(stack, project_dir) for stack in discover(project_dir)}
    orphans = sorted(
        set((project_dir / "tests" / "snapshots").glob("*.yaml")) - known
    )  # a stack file was removed
    for path in stale:
        print(f"{'stale' if check else 'wrote'} {path.relative_to(project_dir)}")
    for orphan in orphans:
        print(f"{'orphan' if check else 'removed'} {orphan.relative_to(project_dir)}")
        if not check:
            orphan.unlink()
    return 1 if check and (stale or orphans) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.snapshot", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale snapshots (exit 1)")
    return snapshot(ROOT, parser.parse_args(argv).check)


if __name__ == "__main__":
    sys.exit(main())
