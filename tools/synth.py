"""Offline synth: the desired state of one stack, without cloud credentials.

    python -m tools.synth <stack> [--config FILE] [--out DIR]

Writes DIR/graph.json (default build/synth/<stack>/) and prints a summary. Exit 0 on success, 2 with
one `error: ...` line per problem when the stack's config is invalid.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tools.offline import Graph, SynthError, synthesize
from tools.offline.engine import ROOT


def write(graph: Graph, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "graph.json"
    path.write_text(graph.to_json())
    return path


def _short(value: object, limit: int = 90) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def summary(graph: Graph, console: Console) -> None:
    counts = Counter(r["type"] for r in graph.resources if r["type"] != "pulumi:pulumi:Stack")
    table = Table(title=f"{graph.project} / {graph.stack}: {sum(counts.values())} resources", title_justify="left")
    table.add_column("type")
    table.add_column("count", justify="right")
    for typ, count in sorted(counts.items()):
        table.add_row(typ, str(count))
    console.print(table)
    protected = [r for r in graph.resources if r["protect"]]
    console.print(f"protected: {len(protected)} ({', '.join(sorted({r['type'].split(':')[-1] for r in protected}))})")
    outputs = Table(title="stack outputs", title_justify="left")
    outputs.add_column("name")
    outputs.add_column("value")
    for name, value in sorted(graph.outputs.items()):
        outputs.add_row(name, _short(value))
    console.print(outputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.synth", description=__doc__.split("\n")[0])
    parser.add_argument("stack", help="stack name: dev, staging, prod, ...")
    parser.add_argument("--config", type=Path, help="use FILE instead of Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, help="output directory (default build/synth/<stack>)")
    args = parser.parse_args(argv)
    console = Console(width=120, highlight=False)
    try:
        graph = synthesize(args.stack, config_file=args.config)
    except SynthError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    path = write(graph, args.out or ROOT / "build" / "synth" / args.stack)
    summary(graph, console)
    console.print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
