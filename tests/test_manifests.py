"""The rendered manifests of every stack pass real validators: kubernetes-validate --strict at the
cluster's pinned version, and checkov with zero failed checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from settings.karpenter import EC2NodeClassSpec, NodePoolSpec
from tools import ROOT
from tools.offline import manifests

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

CONFIG = ROOT / ".checkov.yaml"
KARPENTER: dict[str, type[NodePoolSpec] | type[EC2NodeClassSpec]] = {
    "karpenter.sh/v1": NodePoolSpec,
    "karpenter.k8s.aws/v1": EC2NodeClassSpec,
}


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
        # Karpenter's objects have no schema in kubernetes-validate: their v1 models check them (below).
        files = sorted(
            str(p)
            for p in directory.rglob("*.yaml")
            if yaml.safe_load(p.read_text())["apiVersion"] not in KARPENTER
        )
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


def test_karpenter_objects_validate_against_the_v1_models_of_their_crds(rendered):
    found = 0
    for directory in rendered.values():
        for path in directory.rglob("*.yaml"):
            manifest = yaml.safe_load(path.read_text())
            model = KARPENTER.get(manifest["apiVersion"])
            if model is not None:
                model.model_validate(manifest["spec"])
                found += 1
    assert found >= 6  # an EC2NodeClass and a NodePool in each stack


PRIVILEGED_POD = """apiVersion: v1
kind: Pod
metadata: {name: bad, namespace: hello}
spec:
  containers:
  - name: c
    image: nginx:latest
    securityContext: {privileged: true}
"""


def test_checkov_passes_every_stack_with_only_documented_skips_and_fails_a_privileged_pod(graphs, tmp_path):
    # One checkov run over every stack's manifests and a canary beside them (checkov's start-up dominates a
    # run), each result attributed by its file's directory. The canary proves the scanner is live.
    assert CHECKOV.exists(), "checkov is missing: `make venv` builds .venv-checkov (docs/decisions/0003)"
    scan = tmp_path / "scan"
    scan.mkdir()
    for stack, graph in graphs.items():
        manifests.write(graph, tmp_path / "render" / stack)
        (tmp_path / "render" / stack / "manifests").rename(scan / stack)
    (scan / "canary").mkdir()
    (scan / "canary" / "bad.yaml").write_text(PRIVILEGED_POD)
    result = subprocess.run(
        [
            str(CHECKOV),
            "--config-file",
            str(CONFIG),
            "-d",
            str(scan),
            "--output",
            "json",
            "--skip-download",
            "--compact",
        ],
        capture_output=True,
        text=True,
        env={"BC_SKIP_MAPPING": "TRUE", "PATH": "/usr/bin:/bin"},
    )
    results = json.loads(result.stdout)["results"]

    def where(check: dict) -> str:
        return Path(check["file_abs_path"]).relative_to(scan).parts[0]

    for stack in graphs:
        assert sum(where(c) == stack for c in results["passed_checks"]) > 100, stack
        assert [(c["check_id"], c["resource"]) for c in results["failed_checks"] if where(c) == stack] == []
    # Nothing is skipped by annotations on the objects: the one project-wide skip is in .checkov.yaml.
    assert results["skipped_checks"] == []
    canary = {c["check_id"] for c in results["failed_checks"] if where(c) == "canary"}
    assert {"CKV_K8S_16", "CKV_K8S_14"} <= canary  # privileged, latest tag


def test_the_only_check_the_project_skips_is_the_digest_one_with_its_reason():
    config = yaml.safe_load(CONFIG.read_text())
    assert config["skip-check"] == ["CKV_K8S_43"]
    assert "immutable in ECR" in CONFIG.read_text()
