"""Rewrites the committed desired state of every stack: tests/snapshots/<stack>.yaml.

    python -m tools.snapshot [--check] [--graphs DIR]

One process synthesizes every stack (tools/offline/stacks.py). YAML, in the component-tree order of the graph:
an added API is one block of inserted lines in `git diff`, no neighbouring line changes. With --check nothing
is written; exit 1 lists the stale files (the test suite does the same comparison, with the diff). With
--graphs, each stack's graph is also saved where a test run seeded with DIR (PICTURESOCIAL_TEST_GRAPHS) loads
it instead of synthesizing the stack again (`make mutate`'s runs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from tools import ROOT
from tools.offline import Graph, SynthError, synthesize
from tools.offline.stacks import PROJECTS, discover


def render(body: dict[str, Any]) -> str:
    return yaml.dump(
        body,
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        sort_keys=False,
        width=1_000_000,
        allow_unicode=True,
        default_flow_style=False,
    )


def path_of(stack: str, repository: Path = ROOT, folder: str = "") -> Path:
    """tests/snapshots/<stack>.yaml for the platform, tests/snapshots/<project folder>/<stack>.yaml for the
    repository's other projects."""
    return repository / "tests" / "snapshots" / folder / f"{stack}.yaml"


def snapshot(
    repository: Path = ROOT, check: bool = False, keep: dict[tuple[str, str], Graph] | None = None
) -> int:
    """Writes (or with ``check`` only compares) the snapshot of every stack of every project; the exit
    code. ``keep`` receives each graph, keyed by (project folder, stack), for a caller that needs them too."""
    stale, orphans = [], []
    for folder in PROJECTS.values():
        project_dir = repository / folder
        stacks = discover(project_dir)
        for stack in stacks:
            try:
                graph = synthesize(stack, root=project_dir)
                text = render(graph.body())
            except SynthError as exc:
                where = f" ({folder}/)" if folder else ""
                for line in str(exc).splitlines():
                    print(f"error: {line}{where}", file=sys.stderr)
                return 2
            if keep is not None:
                keep[(folder, stack)] = graph
            path = path_of(stack, repository, folder)
            if path.exists() and path.read_text() == text:
                continue
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        known = {path_of(stack, repository, folder) for stack in stacks}
        folder_path = repository / "tests" / "snapshots" / folder
        orphans += sorted(set(folder_path.glob("*.yaml")) - known)  # a stack file was removed
    for path in stale:
        print(f"{'stale' if check else 'wrote'} {path.relative_to(repository)}")
    for orphan in orphans:
        print(f"{'orphan' if check else 'removed'} {orphan.relative_to(repository)}")
        if not check:
            orphan.unlink()
    return 1 if check and (stale or orphans) else 0


def save_graphs(graphs: dict[tuple[str, str], Graph], folder: Path) -> Path:
    """``snapshot``'s graphs (its ``keep``) saved where the test suite's run looks for them (conftest):
    live/<stack>.json for the platform, bootstrap/<stack>.json for the bootstrap project; the folder."""
    for (project_folder, stack), graph in graphs.items():
        graph.save(folder / (project_folder or "live") / f"{stack}.json")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.snapshot", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale snapshots (exit 1)")
    parser.add_argument("--graphs", type=Path, metavar="DIR", help="also save every stack's graph under DIR")
    args = parser.parse_args(argv)
    graphs: dict[tuple[str, str], Graph] = {}
    code = snapshot(ROOT, args.check, keep=graphs)
    if args.graphs is not None and code != 2:
        save_graphs(graphs, args.graphs)
    return code


if __name__ == "__main__":
    sys.exit(main())
