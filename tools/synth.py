"""Offline synth: the desired state of one stack, without cloud credentials.

    python -m tools.synth <stack> [--project DIR] [--config FILE] [--out DIR]

Writes DIR/graph.json (default build/synth/<stack>/), the manifests and Helm values, and prints a summary.
Exit 0 on success, 2 with one `error: ...` line per problem when the stack's config is invalid.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tools import ROOT
from tools.offline import Graph, SynthError, manifests, synthesize
from tools.offline.estimate import critical_path


def write(graph: Graph, out: Path) -> Path:
    # Start clean: a manifest of a removed object must not linger in the output.
    for stale in ("manifests", "helm"):
        shutil.rmtree(out / stale, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "graph.json"
    path.write_text(graph.to_json())
    manifests.write(graph, out)
    return path


def api_rows(graph: Graph) -> list[tuple[str, ...]]:
    """What each API runs as, read back from the graph (not from settings): what a reviewer checks."""
    by_name = {}
    for r in graph.of_type("kubernetes:apps/v1:Deployment"):
        meta, template = r["inputs"]["metadata"], r["inputs"]["spec"]["template"]
        by_name[(meta["namespace"], meta["name"])] = template["spec"]["containers"][0]["image"].rsplit(
            "/", 1
        )[-1]
    hpas = {
        (r["inputs"]["metadata"]["namespace"], r["inputs"]["spec"]["scaleTargetRef"]["name"]): r["inputs"][
            "spec"
        ]
        for r in graph.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    }
    exposed = {
        (r["inputs"]["metadata"]["namespace"], r["inputs"]["metadata"]["name"].removesuffix("-lb"))
        for r in graph.of_type("kubernetes:core/v1:Service")
        if r["inputs"]["spec"].get("type") == "LoadBalancer"
    }
    rows: list[tuple[str, ...]] = []
    for (namespace, name), image in sorted(by_name.items()):
        hpa = hpas.get((namespace, name))
        replicas = f"{hpa['minReplicas']}..{hpa['maxReplicas']} (HPA)" if hpa else "fixed"
        rows.append(
            (name, namespace, image, replicas, "internal NLB" if (namespace, name) in exposed else "-")
        )
    return rows


def route_rows(graph: Graph) -> list[tuple[str, str, str]]:
    """The public routes (route key, API, auth), read back from the graph: the routes resources and the
    integration each one targets."""
    integrations = {r["id"]: r for r in graph.of_type("aws:apigatewayv2/integration:Integration")}
    rows = []
    for route in graph.of_type("aws:apigatewayv2/route:Route"):
        inputs = route["inputs"]
        target = integrations.get(str(inputs.get("target", "")).removeprefix("integrations/"))
        api = target["name"] if target else "?"
        auth = "JWT" if inputs.get("authorizationType") == "JWT" else "none"
        rows.append((inputs["routeKey"], api, auth))
    return sorted(rows)


def _short(value: object, limit: int = 90) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_fake(value: object, fakes: set[str]) -> bool:
    """Whether a value holds an id, ARN or URL the offline engine made up (tools/offline/cloud.py)."""
    text = value if isinstance(value, str) else str(value)
    return any(fake in text for fake in fakes)


def summary(graph: Graph, console: Console) -> None:
    counts = Counter(r["type"] for r in graph.resources if r["type"] != "pulumi:pulumi:Stack")
    table = Table(
        title=f"{graph.project} / {graph.stack}: {sum(counts.values())} resources", title_justify="left"
    )
    table.add_column("type")
    table.add_column("count", justify="right")
    for typ, count in sorted(counts.items()):
        table.add_row(typ, str(count))
    console.print(table)
    protected = [r for r in graph.resources if r["protect"]]
    console.print(
        f"protected: {len(protected)} ({', '.join(sorted({r['type'].split(':')[-1] for r in protected}))})"
    )
    apis = Table(title="APIs", title_justify="left")
    for column in ("deployment", "namespace", "image", "replicas", "load balancer"):
        apis.add_column(column)
    for row in api_rows(graph):
        apis.add_row(*row)
    if apis.row_count:  # the bootstrap project runs no API
        console.print(apis)
    routes = Table(
        title="public routes (API Gateway HTTP API -> VPC link -> internal NLB)", title_justify="left"
    )
    for column in ("route", "API", "auth"):
        routes.add_column(column)
    for row in route_rows(graph):
        routes.add_row(*(escape(cell) for cell in row))
    if routes.row_count or apis.row_count:
        console.print(routes if routes.row_count else "public routes: none")
    total, chain = critical_path(graph)
    console.print(
        f"estimated `pulumi up` from scratch: ~{round(total / 60)} min (critical path, "
        "tools/data/creation_times.yaml):"
    )
    console.print("  " + " -> ".join(f"{r['name']} ({r['type'].split(':')[-1]})" for r in chain))
    outputs = Table(
        title="stack outputs (fake: made up offline; `pulumi up` gives the real value)", title_justify="left"
    )
    outputs.add_column("name")
    outputs.add_column("value", overflow="fold")
    outputs.add_column("", no_wrap=True)
    for name, value in sorted(graph.outputs.items()):
        outputs.add_row(name, escape(_short(value)), "fake" if is_fake(value, graph.fakes) else "")
    console.print(outputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.synth", description=__doc__.split("\n")[0])
    parser.add_argument("stack", help="stack name: dev, staging, prod, ...")
    parser.add_argument(
        "--project",
        type=Path,
        default=ROOT,
        help="the project directory (Pulumi.yaml, stack files, program); default: this repository",
    )
    parser.add_argument("--config", type=Path, help="use FILE instead of Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, help="output directory (default build/synth/<stack>)")
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        help="check the Kubernetes version's support on this date, YYYY-MM-DD (default: the clock, or "
        "PICTURESOCIAL_TODAY)",
    )
    args = parser.parse_args(argv)
    console = Console(highlight=False)  # the terminal's width (COLUMNS, or 80 when not a terminal)
    try:
        graph = synthesize(
            args.stack, config_file=args.config, root=args.project.absolute(), today=args.today
        )
    except SynthError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    for warning in graph.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    project_dir = args.project.absolute()
    default = ROOT / "build" / "synth" / args.stack
    if project_dir != ROOT:  # another project of the repository (bootstrap/): its own folder
        default = ROOT / "build" / "synth" / project_dir.name / args.stack
    path = write(graph, args.out or default)
    summary(graph, console)
    shown = path.parent.relative_to(ROOT) if path.is_relative_to(ROOT) else path.parent
    console.print(f"wrote {shown}/graph.json, {shown}/manifests/, {shown}/helm/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
