"""Estimated `pulumi up` time from scratch: the longest chain of the dependency graph, weighted by
typical creation times per resource type (tools/data/creation_times.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from tools.offline.engine import Graph

TIMES = Path(__file__).resolve().parents[1] / "data" / "creation_times.yaml"
DEFAULT_SECONDS = 5


def creation_seconds(path: Path = TIMES) -> dict[str, int]:
    return {typ: entry["seconds"] for typ, entry in yaml.safe_load(path.read_text())["types"].items()}


def critical_path(graph: Graph, seconds: dict[str, int] | None = None) -> tuple[int, list[dict]]:
    """(total seconds, the chain of resources) of the longest weighted dependency chain."""
    seconds = creation_seconds() if seconds is None else seconds
    by_urn = graph.by_urn()

    def weight(resource: dict) -> int:
        if not resource["custom"] and not resource["remote"]:
            return 0  # our components: grouping only
        return seconds.get(resource["type"], DEFAULT_SECONDS)

    @cache
    def finish(urn: str) -> tuple[int, tuple[str, ...]]:
        resource = by_urn[urn]
        best: tuple[int, tuple[str, ...]] = (0, ())
        for dependency in resource["dependencies"]:
            if dependency in by_urn:
                best = max(best, finish(dependency))
        return best[0] + weight(resource), best[1] + (urn,)

    total, chain = max((finish(urn) for urn in by_urn), default=(0, ()))
    return total, [by_urn[urn] for urn in chain if weight(by_urn[urn])]
