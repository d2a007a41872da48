"""The rendered manifests of every stack pass real validators: kubernetes-validate --strict at the
cluster's pinned version, and checkov with zero failed checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools import ROOT
from tools.offline import manifests

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

CONFIG = ROOT / ".checkov.yaml"


pytestmark = [pytest.mark.live, pytest.mark.slow]


@pytest.fixture(scope="module")
def rendered(graphs, tmp_path_factory) -> dict[str, Path]:
    out = {}
    for stack, graph in graphs.items():
        directory = tmp_path_factory.mktemp(stack)
        manifests.write(graph, directory)
        out[stack] = directory / "manifests"
    return out


def test_manifests_pass_strict_schema_validation_at_the_pinned_version(graphs, rendered):
    for stack, directory in rendered.items():
        files = sorted(str(p) for p in directory.rglob("*.yaml"))
        assert len(files) >= 20
        version = graphs[stack].of_type("eks:index:Cluster")[0]["inputs"]["version"]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "kubernetes_validate",
                "--strict",
                "--quiet",
                "-k",
                f"{version}.0",
                *files,
            ],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, stack + result.stdout + result.stderr
        assert result.stdout.strip() == "" and "WARN" not in result.stderr, result.stdout + result.stderr


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_manifests_pass_checkov_with_only_documented_skips(rendered, stack):
    assert CHECKOV.exists(), "checkov is missing: `make venv` builds .venv-checkov (docs/decisions/0003)"
    result = subprocess.run(
        [
            str(CHECKOV),
            "--config-file",
            str(CONFIG),
            "-d",
            str(rendered[stack]),
            "--output",
            "json",
            "--skip-download",
            "--compact",
        ],
        capture_output=True,
        text=True,
        env={"BC_SKIP_MAPPING": "TRUE", "PATH": "/usr/bin:/bin"},
    )
    report = json.loads(result.stdout)
    results = report["results"]
    assert report["summary"]["passed"] > 100
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert failed == []
    # Nothing is skipped by annotations on the objects: the one project-wide skip is in .checkov.yaml.
    assert results["skipped_checks"] == []


def test_the_only_check_the_project_skips_is_the_digest_one_with_its_reason():
    config = yaml.safe_load(CONFIG.read_text())
    assert config["skip-check"] == ["CKV_K8S_43"]
    assert "immutable in ECR" in CONFIG.read_text()


def test_checkov_would_catch_a_privileged_container(tmp_path):
    """The scanner is live: a manifest breaking the baseline fails it."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("""apiVersion: v1
kind: Pod
metadata: {name: bad, namespace: hello}
spec:
  containers:
  - name: c
    image: nginx:latest
    securityContext: {privileged: true}
""")
    result = subprocess.run(
        [
            str(CHECKOV),
            "-f",
            str(bad),
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--quiet",
            "--skip-download",
            "--compact",
        ],
        capture_output=True,
        text=True,
        env={"BC_SKIP_MAPPING": "TRUE", "PATH": "/usr/bin:/bin"},
    )
    failed = {c["check_id"] for c in json.loads(result.stdout)["results"]["failed_checks"]}
    assert {"CKV_K8S_16", "CKV_K8S_14"} <= failed  # privileged, latest tag
