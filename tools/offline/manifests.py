"""The Kubernetes objects and Helm values of a graph, as the files `pulumi up` would send."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tools.offline.engine import Graph

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def is_object(resource: dict[str, Any]) -> bool:
    return (
        resource["type"].startswith("kubernetes:") and resource["type"] != HELM_RELEASE and resource["custom"]
    )


def manifests(graph: Graph) -> dict[str, dict[str, Any]]:
    """Relative path -> manifest: ``<namespace>/<Kind>-<name>.yaml``, ``_cluster/`` for cluster-scoped."""
    out = {}
    for resource in graph.resources:
        if not is_object(resource):
            continue
        body = resource["inputs"]
        metadata = body.get("metadata", {})
        folder = metadata.get("namespace") or "_cluster"
        out[f"{folder}/{body['kind']}-{metadata['name']}.yaml"] = body
    return out


def helm_values(graph: Graph) -> dict[str, dict[str, Any]]:
    return {
        f"{r['inputs'].get('name', r['name'])}.yaml": {
            "chart": r["inputs"].get("chart"),
            "version": r["inputs"].get("version"),
            "repository": (r["inputs"].get("repositoryOpts") or {}).get("repo"),
            "namespace": r["inputs"].get("namespace"),
            "values": r["inputs"].get("values", {}),
        }
        for r in graph.of_type(HELM_RELEASE)
    }


DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def write(graph: Graph, out: Path) -> None:
    for folder, files in (("manifests", manifests(graph)), ("helm", helm_values(graph))):
        for relative, body in files.items():
            path = out / folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            # libyaml's emitter where PyYAML has it: the same YAML, several times faster on a large catalog.
            text = yaml.dump(body, Dumper=DUMPER, sort_keys=False, default_flow_style=False)
            path.write_text(text)
