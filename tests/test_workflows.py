"""The GitHub workflows: valid against the vendored workflow schema, and shaped as the README promises."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from tools import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# CodeBuild-hosted GitHub Actions runners: codebuild-<project>-<run id>-<attempt> (CodeBuild user guide).
RUNNER = "codebuild-picturesocial-runner-${{{{ {} }}}}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}"


def load(name):
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def check_schema(*files) -> subprocess.CompletedProcess:
    """check-jsonschema with its vendored copy of GitHub's workflow schema."""
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
    return subprocess.run([*command, *map(str, files)], capture_output=True, text=True)


def test_every_workflow_validates_against_the_github_schema():
    assert len(WORKFLOWS) >= 4
    result = check_schema(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    steps: []\n")  # no runs-on
    result = check_schema(broken)
    assert result.returncode != 0


def test_tests_run_on_every_push_and_pull_request():
    workflow = load("test.yml")
    assert set(workflow[True]) == {"push", "pull_request"}  # YAML 1.1 reads the key `on` as True
    assert any(step.get("run") == "bash .ci/run" for step in workflow["jobs"]["test"]["steps"])


def test_previews_use_oidc_and_skip_forks_which_get_the_offline_diff():
    workflow = load("preview.yml")
    assert workflow["permissions"]["id-token"] == "write"
    preview = workflow["jobs"]["preview"]
    assert "head.repo.full_name == github.repository" in preview["if"]
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    # On the bootstrap's runner of the stack's account, whose egress address the API server admits.
    assert preview["runs-on"] == RUNNER.format("matrix.stack")
    assert any(step.get("uses") == "./.github/actions/setup-aws-cli" for step in preview["steps"])
    steps = {step.get("uses", "").split("@")[0]: step for step in preview["steps"]}
    assert "role-to-assume" in steps["aws-actions/configure-aws-credentials"]["with"]
    pulumi = steps["pulumi/actions"]["with"]
    assert (pulumi["command"], pulumi["comment-on-pr"], pulumi["diff"]) == ("preview", True, True)
    assert (pulumi["policyPacks"], pulumi["policyPackConfigs"]) == (
        "policy",
        "policy/config/${{ matrix.stack }}.json",
    )
    offline = workflow["jobs"]["offline-diff"]
    assert "if" not in offline and any(
        "make --no-print-directory diff" in s.get("run", "") for s in offline["steps"]
    )


def test_deploys_go_dev_then_staging_then_prod_after_tests_and_guard():
    jobs = load("deploy.yml")["jobs"]
    assert [jobs[s]["needs"] for s in ("dev", "staging", "prod")] == ["verify", "dev", "staging"]
    runs = [step.get("run", "") for step in jobs["verify"]["steps"]]
    assert "bash .ci/run" in runs and any(r.startswith("make diff BASE=") for r in runs)
    assert [jobs[s]["with"] for s in ("dev", "staging", "prod")] == [
        {"stack": "dev"},
        {"stack": "staging"},
        {"stack": "prod"},
    ]
    up = load("pulumi-up.yml")["jobs"]["up"]
    assert up["environment"] == "${{ inputs.stack }}"
    assert up["runs-on"] == RUNNER.format("inputs.stack")
    uses = [s.get("uses", "") for s in up["steps"]]
    assert uses.index("./.github/actions/setup-aws-cli") < next(
        i for i, s in enumerate(up["steps"]) if s.get("with", {}).get("command") == "up"
    )
    runs = [s.get("run", "") or s.get("with", {}).get("command", "") for s in up["steps"]]
    preflight = next(i for i, r in enumerate(runs) if r.startswith("make preflight"))
    deploy = runs.index("up")
    smoke = next(i for i, r in enumerate(runs) if "make smoke" in r)
    assert preflight < deploy < smoke
    (pulumi,) = [s["with"] for s in up["steps"] if s.get("with", {}).get("command") == "up"]
    assert (pulumi["policyPacks"], pulumi["policyPackConfigs"]) == (
        "policy",
        "policy/config/${{ inputs.stack }}.json",
    )


def test_the_aws_cli_is_pinned_and_verified_before_install():
    action = yaml.safe_load((ROOT / ".github" / "actions" / "setup-aws-cli" / "action.yml").read_text())
    assert action["inputs"]["version"]["default"] == "2.36.24"
    (step,) = action["runs"]["steps"]
    script = step["run"]
    assert script.index("gpg --batch --verify") < script.index("./aws/install")
    assert step["env"]["FINGERPRINT"] == "FB5DB77FD5C118B80511ADA8A6310ACC4672475C"
    assert "awscli-exe-linux-${arch}-${VERSION}.zip" in script


# The steps that gate a deployment: each must be able to stop it.
GATE = re.compile(r"bash \.ci/run|\bmake\b[^\n]*\b(diff|preflight|smoke|lint|test)\b")
SWALLOWERS = ("|| true", "|| :", "|| exit 0", "set +e", "; true")


def steps():
    for path in WORKFLOWS:
        for job_name, job in yaml.safe_load(path.read_text())["jobs"].items():
            for step in job.get("steps", []):
                yield path.name, job_name, job, step


def test_no_gate_can_be_ignored():
    gates = 0
    for workflow, job_name, job, step in steps():
        run = step.get("run", "")
        if not GATE.search(run):
            continue
        gates += 1
        where = f"{workflow} {job_name}: {run.strip().splitlines()[0]}"
        assert not any(swallow in run for swallow in SWALLOWERS), where
        assert not step.get("continue-on-error") and not job.get("continue-on-error"), where
    assert gates >= 6  # tests (test, deploy), guard (deploy), preflight, smoke, offline diff (preview)


def test_the_gate_check_sees_a_swallowed_failure(tmp_path, monkeypatch):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: make preflight STACK=dev || true\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "WORKFLOWS", [broken])
    with pytest.raises(AssertionError):
        test_no_gate_can_be_ignored()


def test_every_action_is_a_node_24_major():
    # Node 20 left GitHub's runners on 2026-09-16: an action still declaring it fails the job. The majors
    # below are the Node 24 releases (sources in each workflow's header), written out.
    used = {
        line.split("uses:", 1)[1].strip()
        for path in (ROOT / ".github" / "workflows").glob("*.yml")
        for line in path.read_text().splitlines()
        if "uses:" in line and not line.strip().startswith("#") and "@" in line
    }
    assert used == {
        "actions/checkout@v6",
        "actions/setup-python@v6",
        "aws-actions/configure-aws-credentials@v6",
        "pulumi/actions@v7",
        # promote.yml, pinned by commit: v7.0.1 and v7.0.0 declare `runs.using: node24` (their action.yml).
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
        "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97 # v7.0.0",
    }


def test_promotion_opens_a_pull_request_with_the_least_it_needs():
    workflow = load("promote.yml")
    assert set(workflow[True]) == {"workflow_dispatch"}
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    for step in job["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            assert step.get("with", {}).get("persist-credentials", False) is False
        # Inputs reach the shell through env, never by expansion into the script.
        assert "${{" not in step.get("run", ""), step
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "make --no-print-directory promote" in runs and "gh pr create" in runs


def test_zizmor_finds_nothing_in_the_promotion_workflow():
    zizmor = ROOT / ".venv" / "bin" / "zizmor"
    workflow = ROOT / ".github" / "workflows" / "promote.yml"
    result = subprocess.run(
        [str(zizmor), "--offline", "--persona", "auditor", "--min-severity", "low", str(workflow)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
