"""Probes the reference images actually answer, and how the catalog's probe choice is rendered."""

from __future__ import annotations

import re

import pytest

DEPLOYMENT = "kubernetes:apps/v1:Deployment"

# The routes each reference image serves, read in aws-samples/picture-social-sample
# (../shared/reference/picturesocial.md): (path pattern, whether answering it calls AWS). Neither image has a
# health route. ASP.NET matches routes case-insensitively.
REFERENCE_ROUTES = {
    "helloworld": [(r"/api/HelloWorld/[^/]+", False)],
    "pictures": [(r"/api/Picture/text/[^/]+", True), (r"/api/Picture/[^/]+", True)],
}


def containers(graph):
    for deployment in graph.of_type(DEPLOYMENT):
        app = deployment["inputs"]["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for container in deployment["inputs"]["spec"]["template"]["spec"]["containers"]:
            yield app, container


def route_of(app: str, path: str):
    return next(
        (
            (pattern, calls_aws)
            for pattern, calls_aws in REFERENCE_ROUTES[app]
            if re.fullmatch(pattern, path, re.IGNORECASE)
        ),
        None,
    )


@pytest.mark.live
def test_reference_images_answer_every_probe_and_liveness_calls_nothing_outside_the_pod(graphs):
    checked = 0
    for app, container in (pair for graph in graphs.values() for pair in containers(graph)):
        if app not in REFERENCE_ROUTES:
            continue  # an API added later: its team checks its own image's routes (README, "Probes")
        for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
            probe = container.get(kind)
            if probe is None:
                continue
            checked += 1
            if "tcpSocket" in probe:
                assert probe["tcpSocket"] == {"port": "http"}, (app, kind)
                continue
            path = probe["httpGet"]["path"]
            route = route_of(app, path)
            assert route is not None, (
                f"{app} {kind} {path}: the image serves no such route, the probe would fail"
            )
            assert not (kind != "readinessProbe" and route[1]), f"{app} {kind} {path} calls AWS"
    assert checked >= 5


@pytest.mark.live
def test_the_reference_probes_are_what_the_catalog_chose(graphs):
    by_app = dict(containers(graphs["prod"]))
    hello, pictures = by_app["helloworld"], by_app["pictures"]
    assert hello["readinessProbe"]["httpGet"] == {"path": "/api/HelloWorld/readiness", "port": "http"}
    assert hello["livenessProbe"]["tcpSocket"] == {"port": "http"} and "startupProbe" not in hello
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert pictures[kind]["tcpSocket"] == {"port": "http"}, kind
    # .NET's cold start gets a minute before liveness may restart it.
    assert pictures["startupProbe"]["periodSeconds"] * pictures["startupProbe"]["failureThreshold"] == 60


def test_a_route_outside_the_image_is_what_the_reference_check_refuses():
    assert route_of("helloworld", "/api/HelloWorld") is None  # no name: matches no route of the image
    assert route_of("helloworld", "/api/helloworld/x") is not None
    assert route_of("pictures", "/api/pictures/health") is None
    assert route_of("pictures", "/api/Picture/text/cat.jpg")[1] is True


def test_timing_defaults_the_startup_probe_and_overrides(fixture_graphs):
    """Without a startup probe liveness waits 10 s before its first check; with one it need not; catalog
    timing wins over the defaults."""
    by_app = dict(containers(fixture_graphs["small"]))
    greeter, photos, thumbs = by_app["greeter"], by_app["photos"], by_app["thumbs"]
    assert greeter["readinessProbe"] == {
        "httpGet": {"path": "/greet/ready", "port": "http"},
        "periodSeconds": 5,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }
    assert greeter["livenessProbe"] == {
        "tcpSocket": {"port": "http"},
        "initialDelaySeconds": 10,
        "periodSeconds": 10,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }
    assert photos["startupProbe"] == {
        "tcpSocket": {"port": "http"},
        "periodSeconds": 3,
        "timeoutSeconds": 2,
        "failureThreshold": 20,
    }
    assert "initialDelaySeconds" not in photos["livenessProbe"]
    assert (
        thumbs["livenessProbe"]["httpGet"]["path"]
        == "/healthz"
        != thumbs["readinessProbe"]["httpGet"]["path"]
    )
