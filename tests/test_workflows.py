"""The GitHub workflows: valid against the vendored workflow schema, and shaped as the README promises."""

from __future__ import annotations

import copy
import os
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
    assert workflow["permissions"] == {}
    preview = workflow["jobs"]["preview"]
    assert preview["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    assert preview["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
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
    assert "if" not in offline and offline["permissions"] == {"contents": "read"}
    assert any("make --no-print-directory diff" in s.get("run", "") for s in offline["steps"])


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
    assert action["inputs"]["version"]["default"] == "2.36.40"
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


def test_every_action_is_pinned_to_the_commit_of_a_node_24_release():
    # Node 20 leaves GitHub's runners on 2026-09-23 (actions/runner#4685): an action still declaring it fails
    # the job. Each pin is the commit of the release tag in its comment (looked up with `git rev-parse
    # <tag>^{commit}` in each action's repository on 2026-12-03; every one declares runs.using node24).
    used = {
        line.split("uses:", 1)[1].strip()
        for path in (ROOT / ".github" / "workflows").glob("*.yml")
        if path.name != "drift.yml"  # pinned by commit: test_drift_pins_every_action_by_commit
        for line in path.read_text().splitlines()
        if "uses:" in line and not line.strip().startswith("#") and "@" in line
    }
    assert used == {
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
        "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97 # v7.0.0",
        "aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3",
        "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d # v7.0.0",
    }


# --- Gates as properties, over every job of every workflow (issue 22, "Workflow gates as properties") ---
# A fork's pull request runs the fork's code: it must never reach an OIDC token, a runner inside an account or
# a secret, whatever labels or conditions a later change adds. GitHub gives fork pull requests no secrets and
# a read-only token by default (GitHub docs, "Events that trigger workflows": pull_request, workflows in
# forked repositories), but a self-hosted or CodeBuild runner and `id-token: write` are ours to withhold:
# the only gate is the job's condition, so every privileged job of a pull-request workflow carries it as a
# conjunct.
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"
ON_MAIN = "github.ref == 'refs/heads/main'"
# Triggers that run with the base repository's secrets and token for a fork's pull request.
FORK_WITH_SECRETS = {"pull_request_target", "workflow_run"}
GITHUB_HOSTED = re.compile(r"^(ubuntu|windows|macos)-[\w.-]+$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def live_workflows() -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text()) for path in WORKFLOWS}


def triggers(workflow: dict) -> dict:
    on = workflow.get(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on or {})


def conjuncts(condition) -> set[str]:
    """The terms every run of the job satisfies: the top-level `&&` terms of its `if`, or nothing when an `||`
    (or a `!`) could let a run through without one of them."""
    if not isinstance(condition, str):
        return set()
    text = " ".join(condition.strip().removeprefix("${{").removesuffix("}}").split())
    if "||" in text or "!" in text.replace("!=", ""):
        return set()
    return {term.strip().strip("()").strip() for term in text.split("&&")}


def local_workflow(job: dict, workflows: dict[str, dict]) -> dict | None:
    uses = job.get("uses", "")
    prefix = "./.github/workflows/"
    return workflows.get(uses[len(prefix) :]) if uses.startswith(prefix) else None


def privileges(job: dict, workflow: dict, workflows: dict[str, dict]) -> list[str]:
    """What a fork must never get that this job holds: an OIDC token, a runner that is not GitHub-hosted, a
    secret (through the job itself or the reusable workflow it calls)."""
    found = []
    permissions = job.get("permissions", workflow.get("permissions"))
    if permissions == "write-all" or (
        isinstance(permissions, dict) and permissions.get("id-token") == "write"
    ):
        found.append("id-token")
    runs_on = job.get("runs-on")
    labels = runs_on if isinstance(runs_on, list) else [runs_on] if isinstance(runs_on, str) else [runs_on]
    if runs_on is not None and not all(isinstance(x, str) and GITHUB_HOSTED.match(x) for x in labels):
        found.append(f"runner {runs_on}")
    if "secrets" in job or "secrets." in yaml.safe_dump(job):
        found.append("secrets")
    called = local_workflow(job, workflows)
    if job.get("uses") and called is None:
        found.append(f"remote workflow {job['uses']}")
    if called is not None:
        for inner in called.get("jobs", {}).values():
            found += [f"{job['uses']}: {p}" for p in privileges(inner, called, workflows) if p != "id-token"]
    return found


def fork_reachable_privileges(workflows: dict[str, dict]) -> list[str]:
    problems = []
    for name, workflow in workflows.items():
        events = set(triggers(workflow))
        for event in events & FORK_WITH_SECRETS:
            problems.append(f"{name}: triggered by {event}, which runs a fork's pull request with secrets")
        if "pull_request" not in events:
            continue
        for job_name, job in workflow["jobs"].items():
            held = privileges(job, workflow, workflows)
            if held and SAME_REPOSITORY not in conjuncts(job.get("if")):
                problems.append(f"{name} {job_name}: a fork's pull request gets {held}")
    return problems


def deploy_jobs(workflows: dict[str, dict]):
    """Jobs that deploy: those naming a GitHub environment, and those calling a workflow that has one."""

    def deploys(job: dict) -> bool:
        called = local_workflow(job, workflows)
        return "environment" in job or any(
            deploys(inner) for inner in (called or {}).get("jobs", {}).values()
        )

    for name, workflow in workflows.items():
        for job_name, job in workflow["jobs"].items():
            if deploys(job):
                yield name, job_name, job


def deploys_off_main(workflows: dict[str, dict]) -> list[str]:
    """A deploy job runs only for a push to main (or inside a reusable workflow only such jobs call), and says
    so in its own condition."""
    problems = []
    for name, job_name, job in deploy_jobs(workflows):
        events = triggers(workflows[name])
        main_push = events == {"push": {"branches": ["main"]}}
        if not (main_push or set(events) == {"workflow_call"}):
            problems.append(f"{name} {job_name}: deploys on {sorted(events)}, not only a push to main")
        if ON_MAIN not in conjuncts(job.get("if")):
            problems.append(f"{name} {job_name}: deploys without `if: {ON_MAIN}`")
    return problems


def least_privilege(workflows: dict[str, dict]) -> list[str]:
    """Nothing granted at workflow level but reads, every job naming its own permissions, secrets named per
    call, every action pinned to a commit."""
    problems = []
    for name, workflow in workflows.items():
        top = workflow.get("permissions")
        if not isinstance(top, dict) or any(v not in ("read", "none") for v in top.values()):
            problems.append(f"{name}: workflow-level permissions {top!r} (read-only or empty only)")
        for job_name, job in workflow["jobs"].items():
            if "permissions" not in job:
                problems.append(f"{name} {job_name}: declares no permissions")
            if job.get("secrets") == "inherit":
                problems.append(f"{name} {job_name}: secrets: inherit")
            uses = [job.get("uses")] + [step.get("uses") for step in job.get("steps", [])]
            for action in filter(None, uses):
                if not (action.startswith("./") or PINNED.match(action)):
                    problems.append(f"{name} {job_name}: {action} is not pinned to a commit")
    return problems


def test_fork_pull_requests_never_reach_a_token_a_runner_in_an_account_or_a_secret():
    workflows = live_workflows()
    assert set(triggers(workflows["preview.yml"])) == {"pull_request"}
    # The property holds over privileged jobs that exist: the preview is one, gated.
    assert privileges(workflows["preview.yml"]["jobs"]["preview"], workflows["preview.yml"], workflows)
    assert fork_reachable_privileges(workflows) == []


def test_deploys_run_only_on_main():
    workflows = live_workflows()
    assert {(name, job) for name, job, _ in deploy_jobs(workflows)} == {
        ("deploy.yml", "dev"),
        ("deploy.yml", "staging"),
        ("deploy.yml", "prod"),
        ("pulumi-up.yml", "up"),
    }
    assert deploys_off_main(workflows) == []


def test_every_job_is_least_privileged_and_pinned():
    assert least_privilege(live_workflows()) == []


def test_the_composite_action_pins_what_it_uses():
    action = yaml.safe_load((ROOT / ".github" / "actions" / "setup-aws-cli" / "action.yml").read_text())
    uses = [step["uses"] for step in action["runs"]["steps"] if "uses" in step]
    assert all(PINNED.match(u) for u in uses), uses


def widened(change):
    """The live workflows with one job changed (a copy: the files are untouched)."""
    workflows = copy.deepcopy(live_workflows())
    change(workflows)
    return workflows


@pytest.mark.parametrize(
    "change, expected",
    [
        # A label or condition that lets a fork through.
        (
            lambda w: w["preview.yml"]["jobs"]["preview"].update(
                {
                    "if": w["preview.yml"]["jobs"]["preview"]["if"]
                    + " || contains(github.event.pull_request.labels.*.name, 'safe')"
                }
            ),
            "preview.yml preview: a fork's pull request gets ['id-token'",
        ),
        (
            lambda w: w["preview.yml"]["jobs"]["preview"].pop("if"),
            "preview.yml preview: a fork's pull request gets",
        ),
        # The fork-safe job moved onto the account's runner, given a token, or a secret.
        (
            lambda w: w["preview.yml"]["jobs"]["offline-diff"].update(
                {"runs-on": RUNNER.format("matrix.stack")}
            ),
            "preview.yml offline-diff: a fork's pull request gets ['runner codebuild-",
        ),
        (
            lambda w: w["preview.yml"]["jobs"]["offline-diff"].update({"runs-on": ["self-hosted", "linux"]}),
            "preview.yml offline-diff: a fork's pull request gets [\"runner ['self-hosted'",
        ),
        (
            lambda w: w["preview.yml"]["jobs"]["offline-diff"]["permissions"].update({"id-token": "write"}),
            "preview.yml offline-diff: a fork's pull request gets ['id-token']",
        ),
        (
            lambda w: w["preview.yml"]["jobs"]["offline-diff"].update(
                {"env": {"TOKEN": "${{ secrets.PULUMI_TOKEN }}"}}
            ),
            "preview.yml offline-diff: a fork's pull request gets ['secrets']",
        ),
        # id-token granted at workflow level, reaching a job that names no permissions of its own.
        (
            lambda w: (
                w["preview.yml"].update({"permissions": {"contents": "read", "id-token": "write"}}),
                w["preview.yml"]["jobs"]["offline-diff"].pop("permissions"),
            ),
            "preview.yml offline-diff: a fork's pull request gets ['id-token']",
        ),
        (
            lambda w: w["test.yml"].setdefault(True, {}).update({"pull_request_target": None}),
            "test.yml: triggered by pull_request_target",
        ),
    ],
    ids=[
        "label-or",
        "no-condition",
        "codebuild-runner",
        "self-hosted",
        "id-token",
        "secret",
        "workflow-level-id-token",
        "pull-request-target",
    ],
)
def test_the_fork_gate_sees_one_job_of_several_widened(change, expected):
    problems = fork_reachable_privileges(widened(change))
    assert len(problems) == 1 and problems[0].startswith(expected), problems


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda w: w["deploy.yml"].update({True: {"push": {"branches": ["main", "release/*"]}}}),
            "deploy.yml dev: deploys on ['push'], not only a push to main",
        ),
        (
            lambda w: w["deploy.yml"].update(
                {True: {"push": {"branches": ["main"]}, "workflow_dispatch": None}}
            ),
            "deploy.yml dev: deploys on ['push', 'workflow_dispatch']",
        ),
        (lambda w: w["deploy.yml"]["jobs"]["staging"].pop("if"), "deploy.yml staging: deploys without"),
        (
            lambda w: w["pulumi-up.yml"]["jobs"]["up"].update(
                {"if": "always() || github.ref == 'refs/heads/main'"}
            ),
            "pulumi-up.yml up: deploys without",
        ),
        (
            lambda w: w["test.yml"]["jobs"]["test"].update({"environment": "dev"}),
            "test.yml test: deploys on ['pull_request', 'push']",
        ),
    ],
    ids=[
        "another-branch",
        "by-hand",
        "caller-without-condition",
        "called-without-condition",
        "environment-elsewhere",
    ],
)
def test_the_main_only_gate_sees_one_deploy_job_off_main(change, expected):
    problems = deploys_off_main(widened(change))
    assert problems and problems[0].startswith(expected), problems


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda w: w["deploy.yml"].update({"permissions": {"contents": "read", "id-token": "write"}}),
            "deploy.yml: workflow-level permissions",
        ),
        (
            lambda w: w["deploy.yml"]["jobs"]["verify"].pop("permissions"),
            "deploy.yml verify: declares no permissions",
        ),
        (
            lambda w: w["deploy.yml"]["jobs"]["prod"].update({"secrets": "inherit"}),
            "deploy.yml prod: secrets: inherit",
        ),
        (
            lambda w: w["pulumi-up.yml"]["jobs"]["up"]["steps"][1].update(
                {"uses": "actions/setup-python@v7"}
            ),
            "pulumi-up.yml up: actions/setup-python@v7 is not pinned",
        ),
        (
            lambda w: w["deploy.yml"]["jobs"]["prod"].update(
                {"uses": "example-org/workflows/.github/workflows/up.yml@main"}
            ),
            "deploy.yml prod: example-org/workflows/.github/workflows/up.yml@main is not pinned",
        ),
    ],
    ids=[
        "workflow-level-write",
        "job-without-permissions",
        "secrets-inherit",
        "step-by-tag",
        "workflow-by-branch",
    ],
)
def test_the_least_privilege_gate_sees_one_job_of_several_wrong(change, expected):
    problems = least_privilege(widened(change))
    assert len(problems) == 1 and problems[0].startswith(expected), problems


# --- drift.yml: the nightly drift check --------------------------------------------------------------------
# The tags' commits, read from each action's repository on 2026-12-03 (git rev-parse <tag>^{commit}).
DRIFT_PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "aws-actions/configure-aws-credentials": ("e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
}


def drift_steps():
    for name, job in load("drift.yml")["jobs"].items():
        for step in job["steps"]:
            yield name, job, step


def test_drift_runs_nightly_over_a_matrix_read_from_the_stack_files():
    workflow = load("drift.yml")
    assert "schedule" in workflow[True] and "workflow_dispatch" in workflow[True]
    jobs = workflow["jobs"]
    assert [s.get("run") for s in jobs["stacks"]["steps"] if "run" in s] == [
        'python3 tools/drift.py matrix >> "$GITHUB_OUTPUT"'
    ]
    assert jobs["stacks"]["outputs"]["matrix"] == "${{ steps.list.outputs.matrix }}"
    drift = jobs["drift"]
    assert drift["needs"] == "stacks"
    assert drift["strategy"] == {
        "fail-fast": False,
        "matrix": {"include": "${{ fromJSON(needs.stacks.outputs.matrix) }}"},
    }
    assert drift["runs-on"] == RUNNER.format("matrix.stack")


def test_the_drift_matrix_is_every_stack_file_of_both_projects(tmp_path):
    from tools import drift

    assert drift.matrix() == [
        *({"project": "platform", "dir": ".", "stack": s} for s in ("dev", "prod", "staging")),
        *({"project": "bootstrap", "dir": "bootstrap", "stack": s} for s in ("dev", "prod", "staging")),
    ]
    # A stack file added to either project is checked from its first night.
    (tmp_path / "bootstrap").mkdir()
    for path in ("Pulumi.yaml", "Pulumi.qa.yaml", "bootstrap/Pulumi.sandbox.yaml", "bootstrap/Pulumi.yaml"):
        (tmp_path / path).write_text("config: {}\n")
    assert drift.matrix(tmp_path) == [
        {"project": "platform", "dir": ".", "stack": "qa"},
        {"project": "bootstrap", "dir": "bootstrap", "stack": "sandbox"},
    ]


def test_drift_previews_as_the_read_only_preview_role_and_fails_on_changes():
    drift = load("drift.yml")["jobs"]["drift"]
    steps = {s.get("uses", "").split("@")[0]: s for s in drift["steps"]}
    credentials = steps["aws-actions/configure-aws-credentials"]["with"]
    assert credentials["role-to-assume"] == "${{ vars[format('AWS_PREVIEW_ROLE_{0}', matrix.stack)] }}"
    assert "environment" not in drift  # the deploy role admits its environment's jobs only
    text = (ROOT / ".github" / "workflows" / "drift.yml").read_text()
    assert "AWS_DEPLOY_ROLE" not in text and "pulumi up" not in text
    (preview,) = [s for s in drift["steps"] if "pulumi preview" in s.get("run", "")]
    for flag in ("--refresh", "--expect-no-changes", '--stack "$STACK"'):
        assert flag in preview["run"], flag
    assert preview["run"].rstrip().endswith('[ "$status" = clean ]')  # the leg fails on drift or error
    assert preview["env"]["BACKEND"] == "${{ vars[format('PULUMI_BACKEND_URL_{0}', matrix.stack)] }}"
    assert "command" not in steps["pulumi/actions"]["with"]  # installs the CLI only
    assert steps["pulumi/actions"]["with"]["pulumi-version"] == "3.272.0"


def test_drift_permissions_are_per_job_and_only_the_report_writes_issues():
    workflow = load("drift.yml")
    assert workflow["permissions"] == {}
    assert {name: job["permissions"] for name, job in workflow["jobs"].items()} == {
        "stacks": {"contents": "read"},
        "drift": {"contents": "read", "id-token": "write"},
        "report": {"contents": "read", "issues": "write"},
    }
    report = workflow["jobs"]["report"]
    assert report["needs"] == "drift" and report["if"] == "${{ !cancelled() }}"
    (run,) = [s for s in report["steps"] if "run" in s]
    assert run["run"] == 'python3 tools/drift.py report "$RUNNER_TEMP/drift"'
    assert run["env"]["GH_TOKEN"] == "${{ github.token }}"


def test_drift_pins_every_action_by_commit_with_its_tag_and_keeps_no_credentials():
    lines = (ROOT / ".github" / "workflows" / "drift.yml").read_text().splitlines()
    pinned = {}
    for line in lines:
        if "uses:" in line and not line.strip().startswith("#") and "@" in line:
            action, rest = line.split("uses:", 1)[1].strip().split("@", 1)
            sha, _, comment = rest.partition(" # ")
            pinned[action] = (sha, comment)
    assert pinned == DRIFT_PINS
    for _, _, step in drift_steps():
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
        # Expressions reach shell scripts through env:, never spliced into the script.
        assert "${{" not in step.get("run", ""), step.get("run")


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


def test_zizmor_finds_nothing_in_any_workflow_or_action():
    # The same run `make lint` makes, so a finding also fails the suite: every workflow and the local action.
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "zizmor"), "--offline", "--min-severity", "low", str(ROOT / ".github")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


REGION_OF_THE_STACK = "${{ steps.stack.outputs.region }}"
STACK_REGION_ACTION = "./.github/actions/stack-region"
STACK_FILE = r".*Pulumi\.\$\{\{ [a-z.]+ \}\}\.yaml"  # Pulumi.${{ matrix.stack }}.yaml and the like


def region_problems(workflow: dict) -> list[str]:
    """Every job that takes AWS credentials takes them in its stack's region: the stack file's aws:region,
    read by the stack-region action in an earlier step, never a region written in the workflow."""
    problems = []
    for name, job in workflow["jobs"].items():
        steps = job.get("steps") or []
        for index, step in enumerate(steps):
            if "configure-aws-credentials" not in step.get("uses", ""):
                continue
            region = (step.get("with") or {}).get("aws-region")
            if region != REGION_OF_THE_STACK:
                problems.append(f"{name}: aws-region {region!r} is not the stack file's")
            reads = [
                s
                for s in steps[:index]
                if s.get("id") == "stack"
                and s.get("uses", "").split(" ")[0] == STACK_REGION_ACTION
                and re.fullmatch(
                    r".*Pulumi\.\$\{\{ [a-z.]+ \}\}\.yaml", (s.get("with") or {}).get("stack-file", "")
                )
            ]
            if not reads:
                problems.append(f"{name}: no earlier step reads the region from the stack file")
    return problems


def test_every_job_with_aws_credentials_takes_the_stack_files_region():
    checked = 0
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        assert region_problems(workflow) == [], path.name
        checked += sum(
            "configure-aws-credentials" in s.get("uses", "")
            for job in workflow["jobs"].values()
            for s in job.get("steps") or []
        )
    assert checked >= 3  # preview, drift, pulumi up at least


def test_a_job_with_a_written_region_or_without_the_stack_files_is_named():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())
    written = copy.deepcopy(workflow)
    credentials = next(s for s in written["jobs"]["preview"]["steps"] if "configure-aws" in s.get("uses", ""))
    credentials["with"]["aws-region"] = "us-east-1"
    assert region_problems(written) == ["preview: aws-region 'us-east-1' is not the stack file's"]
    unread = copy.deepcopy(workflow)
    unread["jobs"]["preview"]["steps"] = [
        s for s in unread["jobs"]["preview"]["steps"] if s.get("id") != "stack"
    ]
    assert region_problems(unread) == ["preview: no earlier step reads the region from the stack file"]


def test_the_stack_region_action_reads_the_stack_files_region(tmp_path):
    # Written out: a stack file in another region, read by the action's own step.
    (tmp_path / "Pulumi.elsewhere.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    action = yaml.safe_load((ROOT / ".github" / "actions" / "stack-region" / "action.yml").read_text())
    (step,) = action["runs"]["steps"]
    assert action["outputs"]["region"]["value"] == "${{ steps.read.outputs.region }}" and step["id"] == "read"
    output = tmp_path / "output"
    result = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=tmp_path,
        env={**os.environ, "STACK_FILE": "Pulumi.elsewhere.yaml", "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert output.read_text() == "region=eu-west-1\n"


# -- a running `pulumi up` is never cancelled ------------------------------------------------------------
def deploying_workflows(workflows: dict[str, dict]) -> list[str]:
    """Workflows with a job that changes an account: `pulumi up`, or the reusable workflow running it."""
    return sorted(
        {
            name
            for name, workflow in workflows.items()
            for job in workflow.get("jobs", {}).values()
            if job.get("uses", "").endswith("/pulumi-up.yml")
            or any(
                "pulumi/actions@" in step.get("uses", "") and step.get("with", {}).get("command") == "up"
                for step in job.get("steps", [])
            )
        }
    )


def cancellation_problems(workflows: dict[str, dict]) -> list[str]:
    problems = []
    for name in deploying_workflows(workflows):
        if name == "pulumi-up.yml":
            continue  # a reusable workflow runs in its caller's run, under the caller's concurrency
        concurrency = workflows[name].get("concurrency")
        if not isinstance(concurrency, dict) or concurrency.get("cancel-in-progress") is not False:
            problems.append(f"{name}: a newer run may cancel a running pulumi up ({concurrency!r})")
    return problems


def test_no_newer_run_cancels_a_running_pulumi_up_and_a_cancelling_deploy_is_found():
    workflows = live_workflows()
    assert "deploy.yml" in deploying_workflows(workflows)
    assert cancellation_problems(workflows) == []
    for value in (True, "${{ github.ref != 'refs/heads/main' }}", None):
        bad = copy.deepcopy(workflows)
        bad["deploy.yml"]["concurrency"] = {"group": "deploy", "cancel-in-progress": value}
        assert [p.split(":")[0] for p in cancellation_problems(bad)] == ["deploy.yml"], value


# -- no checkout leaves the token behind -----------------------------------------------------------------
def persisted_tokens(workflows: dict[str, dict]) -> list[str]:
    """Checkouts that keep the job's token in .git/config for every later step (checkout's default)."""
    return [
        f"{name}: {job_name}"
        for name, workflow in workflows.items()
        for job_name, job in workflow.get("jobs", {}).items()
        for step in job.get("steps", [])
        if step.get("uses", "").startswith("actions/checkout@")
        and (step.get("with") or {}).get("persist-credentials") is not False
    ]


def test_no_checkout_keeps_the_token_and_one_that_does_is_found():
    workflows = live_workflows()
    assert persisted_tokens(workflows) == []
    bad = copy.deepcopy(workflows)
    (checkout,) = [
        s for s in bad["pulumi-up.yml"]["jobs"]["up"]["steps"] if "actions/checkout@" in s.get("uses", "")
    ]
    checkout["with"]["persist-credentials"] = True
    assert persisted_tokens(bad) == ["pulumi-up.yml: up"]
