"""Fixtures: every stack's desired-state graph, produced once per session by the offline engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.offline import Graph, synthesize
from tools.offline.engine import ROOT

STACKS = ("dev", "staging", "prod")


def stack_file(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]


def one(graph: Graph, typ: str, name: str) -> dict[str, Any]:
    matches = [r for r in graph.of_type(typ) if r["name"] == name]
    assert len(matches) == 1, f"expected one {typ} named {name}, found {len(matches)}"
    return matches[0]


def ids(graph: Graph, typ: str, predicate=lambda r: True) -> set[str]:
    return {r["id"] for r in graph.of_type(typ) if predicate(r)}


EXTRA_API = {
    "namespace": "social", "port": 5200,
    "probes": {"readiness": {"http": {"path": "/ready"}}, "liveness": {"http": {"path": "/healthz"}}},
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}},
    "autoscaling": {"minReplicas": 2, "maxReplicas": 4, "cpuUtilization": 70},
    "exposed": False, "allowFrom": ["pictures"],
    "aws": {"dynamodb": {"pictures": ["Query"]}},
}


def with_extra_api(tmp_path: Path, stack: str = "dev") -> dict[str, Any]:
    """Config overrides deploying a generated catalog with a third API, ``comments``."""
    catalog = yaml.safe_load((ROOT / "workloads/catalog.yaml").read_text())
    catalog["apis"]["comments"] = EXTRA_API
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog))
    apis = {**stack_file(stack)["picturesocial:apis"], "comments": {"tag": "0.1.0"}}
    return {"picturesocial:apis": apis, "picturesocial:catalog": str(path)}


@pytest.fixture(scope="session")
def graphs() -> dict[str, Graph]:
    return {stack: synthesize(stack) for stack in STACKS}


@pytest.fixture(params=STACKS)
def graph(request, graphs) -> Graph:
    return graphs[request.param]


@pytest.fixture
def write_stack(tmp_path: Path):
    """Writes a stack file derived from dev's, with some keys replaced (None deletes a key)."""

    def write(changes: dict[str, Any], base: str = "dev") -> Path:
        config = stack_file(base)
        for key, value in changes.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        path = tmp_path / f"Pulumi.{base}.yaml"
        path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
        return path

    return write
