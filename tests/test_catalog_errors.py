"""Invalid catalog entries and per-stack API settings: one line per problem, naming the key, value and
rule."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import FIXTURE, fixture_config

from tools.synth import main

CATALOG = yaml.safe_load((FIXTURE / "workloads/catalog.yaml").read_text())
APIS = fixture_config("small")["picturesocial:apis"]


def edit(path: str, value):
    """A catalog with one value replaced; path like 'apis.photos.port'."""
    catalog = copy.deepcopy(CATALOG)
    *parents, leaf = path.split(".")
    node = catalog
    for part in parents:
        node = node[part]
    node[leaf] = value
    return catalog


CATALOG_CASES = [
    ("port-below-1024", edit("apis.photos.port", 80), "apis.photos.port: 80 must be at least 1024"),
    (
        "memory-in-megabytes",
        edit("apis.photos.resources.requests", {"cpu": "250m", "memory": "256MB"}),
        'apis.photos.resources.requests.memory: "256MB" is not a Kubernetes memory quantity',
    ),
    (
        "memory-in-millibytes",
        edit("apis.photos.resources.requests", {"cpu": "250m", "memory": "256m"}),
        'apis.photos.resources.requests.memory: "256m" is less than one byte',
    ),
    # What Python's Decimal reads and the API server's quantity grammar does not.
    (
        "cpu-infinite",
        edit("apis.photos.resources.limits", {"cpu": "inf", "memory": "512Mi"}),
        'apis.photos.resources.limits.cpu: "inf" is not a Kubernetes CPU quantity',
    ),
    (
        "memory-not-a-number",
        edit("apis.photos.resources.requests", {"cpu": "250m", "memory": "NaN"}),
        'apis.photos.resources.requests.memory: "NaN" is not a Kubernetes memory quantity',
    ),
    (
        "cpu-negative",
        edit("apis.photos.resources.requests", {"cpu": "-1", "memory": "256Mi"}),
        'apis.photos.resources.requests.cpu: "-1" is not a Kubernetes CPU quantity',
    ),
    (
        "cpu-with-a-digit-separator",
        edit("apis.photos.resources.requests", {"cpu": "1_0", "memory": "256Mi"}),
        'apis.photos.resources.requests.cpu: "1_0" is not a Kubernetes CPU quantity',
    ),
    (
        "cpu-typo",
        edit("apis.photos.resources.limits", {"cpu": "250mm", "memory": "512Mi"}),
        'apis.photos.resources.limits.cpu: "250mm" is not a Kubernetes CPU quantity',
    ),
    (
        "limits-below-requests-both-reported",
        edit("apis.photos.resources.limits", {"cpu": "100m", "memory": "128Mi"}),
        'apis.photos.resources.limits.cpu: "100m" is below the request "250m"\n'
        'apis.photos.resources.limits.memory: "128Mi" is below the request "256Mi"',
    ),
    (
        "min-above-max-replicas",
        edit("apis.greeter.autoscaling", {"minReplicas": 5, "maxReplicas": 3}),
        "apis.greeter.autoscaling.minReplicas: 5 is greater than maxReplicas 3",
    ),
    (
        "allow-from-unknown-namespace",
        edit("apis.photos.allowFrom", ["frontend"]),
        'apis.photos.allowFrom[0]: "frontend" is not the namespace of any API',
    ),
    (
        "same-probe-twice",
        edit(
            "apis.thumbs.probes",
            {"readiness": {"http": {"path": "/healthz"}}, "liveness": {"http": {"path": "/healthz"}}},
        ),
        'apis.thumbs.probes.liveness.http.path: "/healthz" is also the readiness path',
    ),
    (
        "probe-of-two-kinds",
        edit(
            "apis.thumbs.probes", {"readiness": {"http": {"path": "/r"}, "tcp": {}}, "liveness": {"tcp": {}}}
        ),
        "apis.thumbs.probes.readiness.http: must be exactly one of http: {path: ...} or tcp: {}",
    ),
    (
        "probe-path-relative",
        edit("apis.thumbs.probes", {"readiness": {"http": {"path": "ready"}}, "liveness": {"tcp": {}}}),
        'apis.thumbs.probes.readiness.http.path: "ready" must match the pattern',
    ),
    (
        "unknown-bucket",
        edit("apis.photos.aws.s3Read", ["pictures"]),
        'apis.photos.aws.s3Read[0]: "pictures" is not a bucket declared under buckets',
    ),
    (
        "namespace-not-dns",
        edit("apis.photos.namespace", "Media"),
        'apis.photos.namespace: "Media" must be a DNS-1035 label',
    ),
    (
        "public-without-a-load-balancer",
        edit("apis.photos.exposed", False),
        "apis.photos.public: requires exposed: true: public routes reach the API through its internal NLB",
    ),
    (
        "public-path-without-leading-slash",
        edit("apis.photos.public", {"paths": ["photos"]}),
        'apis.photos.public.paths[0]: "photos" must be a path such as /api/Picture',
    ),
    (
        "public-path-with-a-parameter",
        edit("apis.photos.public", {"paths": ["/photos/{id}"]}),
        'apis.photos.public.paths[0]: "/photos/{id}" must be a path such as /api/Picture',
    ),
    (
        "public-path-ending-in-slash",
        edit("apis.photos.public", {"paths": ["/photos/"]}),
        'apis.photos.public.paths[0]: "/photos/" must be a path such as /api/Picture',
    ),
    (
        "public-path-claimed-twice",
        edit("apis.photos.public", {"paths": ["/greet"]}),
        'apis.photos.public.paths[0]: "/greet" is also a path of greeter',
    ),
    (
        "public-path-shadowed-by-another-apis-proxy",
        edit("apis.photos.public", {"paths": ["/greet/photos"]}),
        'apis.photos.public.paths[0]: "/greet/photos" lies under greeter\'s "/greet", whose /greet/{proxy+} '
        "route it would shadow",
    ),
    (
        "anonymous-path-not-among-the-paths",
        edit("apis.photos.public", {"paths": ["/photos"], "anonymous": ["/thumbs"]}),
        'apis.photos.public.anonymous[0]: "/thumbs" is not one of this API\'s paths',
    ),
    (
        "unknown-key-suggests-the-right-one",
        edit("apis.photos.exposd", True),
        "apis.photos.exposd: unknown key; did you mean apis.photos.exposed?",
    ),
]


@pytest.mark.parametrize(
    "catalog, expected", [c[1:] for c in CATALOG_CASES], ids=[c[0] for c in CATALOG_CASES]
)
def test_invalid_catalog_stops_with_one_line_per_problem(project_copy, capsys, catalog, expected):
    assert main(["small", "--project", str(project_copy(catalog=catalog))]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    wanted = expected.splitlines()
    assert len(lines) == len(wanted), lines
    for line, want in zip(lines, wanted, strict=False):
        assert line.startswith(f"error: workloads/catalog.yaml: {want}"), line


def test_half_a_gibibyte_and_a_quarter_core_are_quantities(project_copy):
    catalog = edit(
        "apis.photos.resources",
        {"requests": {"cpu": "0.25", "memory": "0.5Gi"}, "limits": {"cpu": "1", "memory": "1Pi"}},
    )
    assert main(["small", "--project", str(project_copy(catalog=catalog))]) == 0


def test_an_api_declared_twice_is_an_error(project_copy, capsys):
    text = (FIXTURE / "workloads/catalog.yaml").read_text() + "\n  photos:\n    namespace: other\n"
    assert main(["small", "--project", str(project_copy(catalog=text))]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    # The key and both lines: the first `photos` entry and the one appended at the end.
    first = text.splitlines().index("  photos:") + 1
    assert line == (
        f'error: workloads/catalog.yaml: not valid YAML: duplicate key "photos" (lines {first} and '
        f"{len(text.splitlines()) - 1}): a key may be given once"
    )


STACK_CASES = [
    (
        "api-not-in-catalog",
        {**APIS, "comments": {"tag": "1.0.0"}},
        'Pulumi.small.yaml: picturesocial:apis.comments: "comments" is not an API of workloads/catalog.yaml (greeter, photos, thumbs)',
    ),
    (
        "api-without-a-tag",
        {"greeter": APIS["greeter"], "thumbs": APIS["thumbs"]},
        "Pulumi.small.yaml: picturesocial:apis.photos: is required: workloads/catalog.yaml declares it",
    ),
    (
        "digest-malformed",
        {**APIS, "photos": {"tag": "1.0.0", "digest": "sha256:abc"}},
        'Pulumi.small.yaml: picturesocial:apis.photos.digest: "sha256:abc" must be an image digest',
    ),
    (
        "replica-override-inverted",
        {**APIS, "photos": {"tag": "1.0.0", "replicas": {"minReplicas": 12}}},
        "Pulumi.small.yaml: picturesocial:apis.photos.replicas.minReplicas: 12 is greater than maxReplicas 10",
    ),
    (
        "resource-override-bad-unit",
        {
            **APIS,
            "photos": {
                "tag": "1.0.0",
                "resources": {
                    "requests": {"cpu": "250m", "memory": "1GB"},
                    "limits": {"cpu": "1", "memory": "2Gi"},
                },
            },
        },
        'Pulumi.small.yaml: picturesocial:apis.photos.resources.requests.memory: "1GB" is not a Kubernetes memory quantity',
    ),
    (
        "canary-latest",
        {**APIS, "photos": {"tag": "1.0.0", "canary": {"tag": "latest"}}},
        'Pulumi.small.yaml: picturesocial:apis.photos.canary.tag: "latest" is a moving tag',
    ),
]


@pytest.mark.parametrize("apis, expected", [c[1:] for c in STACK_CASES], ids=[c[0] for c in STACK_CASES])
def test_invalid_stack_api_settings_stop_with_one_line(write_stack, capsys, apis, expected):
    path = write_stack({"picturesocial:apis": apis})
    assert main(["small", "--project", str(FIXTURE), "--config", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {expected}"), line
