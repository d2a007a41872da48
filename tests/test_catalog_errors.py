"""Invalid catalog entries and per-stack API settings: one line naming the key, the value and the rule."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import stack_file
from tools.offline.engine import ROOT
from tools.synth import main

CATALOG = yaml.safe_load((ROOT / "workloads/catalog.yaml").read_text())
APIS = stack_file("dev")["picturesocial:apis"]


def edit(path: str, value):
    """A catalog with one value replaced; path like 'apis.pictures.port'."""
    catalog = copy.deepcopy(CATALOG)
    *parents, leaf = path.split(".")
    node = catalog
    for part in parents:
        node = node[part]
    node[leaf] = value
    return catalog


CATALOG_CASES = [
    ("port-below-1024", edit("apis.pictures.port", 80),
     "apis.pictures.port: 80 must be at least 1024"),
    ("memory-in-megabytes", edit("apis.pictures.resources.requests", {"cpu": "250m", "memory": "256MB"}),
     "apis.pictures.resources.requests.memory: \"256MB\" is not a Kubernetes memory quantity"),
    ("cpu-typo", edit("apis.pictures.resources.limits", {"cpu": "250mm", "memory": "512Mi"}),
     "apis.pictures.resources.limits.cpu: \"250mm\" is not a Kubernetes CPU quantity"),
    ("limit-below-request", edit("apis.pictures.resources.limits", {"cpu": "100m", "memory": "512Mi"}),
     "apis.pictures.resources.limits.cpu: \"100m\" is below the request \"250m\""),
    ("min-above-max-replicas", edit("apis.helloworld.autoscaling", {"minReplicas": 5, "maxReplicas": 3}),
     "apis.helloworld.autoscaling.minReplicas: 5 is greater than maxReplicas 3"),
    ("allow-from-unknown-namespace", edit("apis.pictures.allowFrom", ["frontend"]),
     "apis.pictures.allowFrom[0]: \"frontend\" is not the namespace of any API"),
    ("same-probe-twice", edit("apis.pictures.probes", {"readiness": {"http": {"path": "/healthz"}},
                                                       "liveness": {"http": {"path": "/healthz"}}}),
     "apis.pictures.probes.liveness.http.path: \"/healthz\" is also the readiness path"),
    ("probe-of-two-kinds", edit("apis.pictures.probes", {"readiness": {"http": {"path": "/r"}, "tcp": {}},
                                                         "liveness": {"tcp": {}}}),
     "apis.pictures.probes.readiness.http: must be exactly one of http: {path: ...} or tcp: {}"),
    ("probe-path-relative", edit("apis.pictures.probes", {"readiness": {"http": {"path": "ready"}},
                                                          "liveness": {"tcp": {}}}),
     "apis.pictures.probes.readiness.http.path: \"ready\" must match the pattern"),
    ("half-a-gibibyte-is-fine-but-megabytes-are-not", edit("apis.pictures.resources", {
        "requests": {"cpu": "0.25", "memory": "0.5Gi"}, "limits": {"cpu": "500m", "memory": "512MB"}}),
     "apis.pictures.resources.limits.memory: \"512MB\" is not a Kubernetes memory quantity"),
    ("unknown-bucket", edit("apis.pictures.aws.s3Read", ["photos"]),
     "apis.pictures.aws.s3Read[0]: \"photos\" is not a bucket declared under buckets"),
    ("namespace-not-dns", edit("apis.pictures.namespace", "Pictures"),
     "apis.pictures.namespace: \"Pictures\" must be a DNS-1035 label"),
    ("unknown-key", edit("apis.pictures.replicas", 3), "apis.pictures.replicas: unknown key"),
]


@pytest.mark.parametrize("catalog, expected", [c[1:] for c in CATALOG_CASES], ids=[c[0] for c in CATALOG_CASES])
def test_invalid_catalog_stops_with_one_line(tmp_path, write_stack, capsys, catalog, expected):
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog))
    assert main(["dev", "--config", str(write_stack({"picturesocial:catalog": str(path)}))]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"error: {path}: {expected}" or line.startswith(f"error: {path}: {expected}"), line


def test_an_api_declared_twice_is_an_error(tmp_path, write_stack, capsys):
    text = (ROOT / "workloads/catalog.yaml").read_text()
    path = tmp_path / "catalog.yaml"
    path.write_text(text + "\n  pictures:\n    namespace: other\n")
    assert main(["dev", "--config", str(write_stack({"picturesocial:catalog": str(path)}))]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {path}: not valid YAML: duplicate key \"pictures\"")


STACK_CASES = [
    ("api-not-in-catalog", {**APIS, "comments": {"tag": "1.0.0"}},
     "picturesocial:apis.comments: \"comments\" is not an API of workloads/catalog.yaml (helloworld, pictures)"),
    ("api-without-a-tag", {"helloworld": APIS["helloworld"]},
     "picturesocial:apis.pictures: is required: workloads/catalog.yaml declares it"),
    ("digest-malformed", {**APIS, "pictures": {"tag": "1.0.0", "digest": "sha256:abc"}},
     "picturesocial:apis.pictures.digest: \"sha256:abc\" must be an image digest"),
    ("replica-override-inverted", {**APIS, "pictures": {"tag": "1.0.0", "replicas": {"minReplicas": 12}}},
     "picturesocial:apis.pictures.replicas.minReplicas: 12 is greater than maxReplicas 10"),
    ("resource-override-bad-unit", {**APIS, "pictures": {"tag": "1.0.0", "resources": {
        "requests": {"cpu": "250m", "memory": "1GB"}, "limits": {"cpu": "1", "memory": "2Gi"}}}},
     "picturesocial:apis.pictures.resources.requests.memory: \"1GB\" is not a Kubernetes memory quantity"),
    ("canary-latest", {**APIS, "pictures": {"tag": "1.0.0", "canary": {"tag": "latest"}}},
     "picturesocial:apis.pictures.canary.tag: \"latest\" is a moving tag"),
]


@pytest.mark.parametrize("apis, expected", [c[1:] for c in STACK_CASES], ids=[c[0] for c in STACK_CASES])
def test_invalid_stack_api_settings_stop_with_one_line(write_stack, capsys, apis, expected):
    assert main(["dev", "--config", str(write_stack({"picturesocial:apis": apis}))]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {expected}"), line
