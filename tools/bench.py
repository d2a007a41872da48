"""Synth benchmark: prints figures as ratios, never asserts a time.

    python -m tools.bench [--repeat N]

1. floor: a process that imports the same packages and runs an empty program under the mock engine;
2. `python -m tools.synth <stack>` per stack, as a ratio to the floor;
3. in-process synth of generated catalogs of 2, 25 and 100 APIs of one public path each, and of 100 APIs
   of three: time, resources, cost per resource, and the ratio to the 2-API catalog, so growth can be read
   directly.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from tools import ROOT
from tools.offline import synthesize
from tools.offline.stacks import discover

# Imports exactly the modules a synth imports (pulumi-aws loads submodules lazily: importing the
# top-level packages alone would understate the floor), then runs an empty program.
FLOOR_PROGRAM = """
import asyncio, importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:  # a module only importable as a side effect of another (aliases, platform shims)
        pass
import pulumi
from pulumi.runtime import mocks
from pulumi.runtime.stack import wait_for_rpcs
class Empty(pulumi.runtime.Mocks):
    def new_resource(self, args): return "", {}
    def call(self, args): return {}
loop = asyncio.new_event_loop(); asyncio.set_event_loop(loop)
mocks.set_mocks(Empty(), project="bench", stack="bench", preview=False)
loop.run_until_complete(wait_for_rpcs())
"""


OWN = {"settings", "infra", "workloads", "tools", "policy", "__main__"}


def best_of(repeat: int, command: list[str]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            command, cwd=ROOT, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
        times.append(time.perf_counter() - start)
    return min(times)


def generated_project(count: int, directory: Path, paths: int = 1) -> Path:
    """A project directory deploying ``count`` APIs with dev's settings: the live catalog's APIs plus copies
    of its first one, each with ``paths`` public paths. The program and Pulumi.yaml are the repository's
    (symlinks); only the data is generated."""
    project = directory / f"apis-{count}-{paths}"
    (project / "workloads").mkdir(parents=True)
    for name in ("__main__.py", "Pulumi.yaml"):
        (project / name).symlink_to(ROOT / name)
    catalog = yaml.safe_load((ROOT / "workloads/catalog.yaml").read_text())
    template = next(iter(catalog["apis"].values()))
    for i in range(count - len(catalog["apis"])):
        copy = {**template, "namespace": f"domain-{i % 10}", "port": 6000 + i}
        if "public" in template:  # a path of its own: two APIs may not claim one (settings/catalog.py)
            copy["public"] = {"paths": [f"/api/bench-{i:03d}/{p}" for p in range(paths)]}
        catalog["apis"][f"api-{i:03d}"] = copy
    (project / "workloads" / "catalog.yaml").write_text(yaml.safe_dump(catalog))
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    base = stack["config"]["picturesocial:apis"]
    stack["config"]["picturesocial:apis"] = {
        name: base.get(name, {"tag": "1.0.0"}) for name in catalog["apis"]
    }
    (project / "Pulumi.dev.yaml").write_text(yaml.safe_dump(stack))
    return project


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    console.print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"best of {args.repeat}"
    )

    synthesize("dev")  # in this process: learn which third-party modules a synth imports
    # Everything but the project's own modules (and the lazily created __main__ aliases) goes into the floor.
    third_party = sorted(m for m in sys.modules if m.split(".")[0] not in OWN and not m.endswith("__main__"))
    floor = best_of(args.repeat, [sys.executable, "-c", FLOOR_PROGRAM, *third_party])
    stacks = Table(title="synth per stack (new process each run)", title_justify="left")
    for column in ("run", "seconds", "x floor"):
        stacks.add_column(column, justify="right" if column != "run" else "left")
    stacks.add_row(
        f"floor: the {len(third_party)} modules a synth imports + empty mock program", f"{floor:.2f}", "1.00"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for stack in discover(ROOT):
            seconds = best_of(
                args.repeat, [sys.executable, "-m", "tools.synth", stack, "--out", f"{tmp}/{stack}"]
            )
            stacks.add_row(f"python -m tools.synth {stack}", f"{seconds:.2f}", f"{seconds / floor:.2f}")
        console.print(stacks)

        growth = Table(title="in-process synth of generated catalogs (dev)", title_justify="left")
        for column in ("APIs x public paths", "resources", "seconds", "ms / resource", "x 2 APIs"):
            growth.add_column(column, justify="right")
        first = None
        for count, paths in ((2, 1), (25, 1), (100, 1), (100, 3)):
            project = generated_project(count, Path(tmp), paths)
            runs = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                graph = synthesize("dev", root=project)
                runs.append(time.perf_counter() - start)
            seconds, resources = min(runs), len(graph.resources)
            first = first or seconds
            growth.add_row(
                f"{count} x {paths}",
                str(resources),
                f"{seconds:.2f}",
                f"{1000 * seconds / resources:.2f}",
                f"{seconds / first:.1f}",
            )
        console.print(growth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
