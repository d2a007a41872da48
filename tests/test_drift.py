"""tools/drift.py, the nightly drift workflow's logic: what counts as drift, and the one issue per stack it
opens, updates or closes (with a `gh` on the PATH that records its calls and answers `issue list`)."""

from __future__ import annotations

import json

import pytest

from tools import drift

RUN = "https://github.com/example-org/picturesocial/actions/runs/1"
DRIFTED = "    ~ aws:ec2/securityGroup:SecurityGroup nodes update [diff: ~ingress]\nerror: " + (
    "no changes were expected but changes were proposed"
)


@pytest.mark.parametrize(
    "output, code, status",
    [
        ("Resources:\n    171 unchanged\n", 0, "clean"),
        (DRIFTED, 255, "drift"),
        ("error: no changes were expected for preview but changes were proposed", 255, "drift"),
        ("error: failed to decrypt: AccessDeniedException", 255, "error"),
        ("error: could not read state", 1, "error"),
    ],
)
def test_only_changes_against_the_stack_are_drift(output, code, status):
    assert drift.classify(output, code) == status


@pytest.fixture
def github(tmp_path, monkeypatch):
    """A fake `gh`: `issue list` answers with the open issues in ``issues.json``; every call is logged."""
    log, issues = tmp_path / "calls", tmp_path / "issues.json"
    issues.write_text("[]")
    script = tmp_path / "bin" / "gh"
    script.parent.mkdir()
    script.write_text(
        f'#!/bin/sh\necho "$*" >> {log}\nif [ "$1 $2" = "issue list" ]; then cat {issues}; fi\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")

    def calls() -> list[str]:
        return [
            line for line in log.read_text().splitlines() if not line.startswith(("label ", "issue list"))
        ]

    return issues, calls


def results(tmp_path, **status):
    directory = tmp_path / "drift"
    for name, value in status.items():
        project, stack = name.split("_")
        leg = directory / f"drift-{project}-{stack}"
        leg.mkdir(parents=True)
        (leg / "result.json").write_text(
            json.dumps({"project": project, "stack": stack, "status": value, "run": RUN})
        )
        (leg / "preview.txt").write_text(DRIFTED if value == "drift" else "")
    return directory


def test_a_drifted_stack_gets_an_issue_and_a_clean_one_none(tmp_path, github):
    _, calls = github
    code = drift.report(results(tmp_path, platform_dev="drift", platform_prod="clean"))
    assert code == 1
    (created,) = calls()
    assert created.startswith("issue create --title Drift: platform/dev --label drift --body-file ")
    body = (tmp_path / "drift" / "drift-platform-dev" / "issue.md").read_text()
    assert RUN in body and "securityGroup:SecurityGroup nodes update" in body and 'README, "Drift"' in body


def test_a_stack_still_drifting_updates_its_issue_and_a_clean_one_closes_its(tmp_path, github):
    issues, calls = github
    issues.write_text(
        json.dumps(
            [{"number": 7, "title": "Drift: bootstrap/dev"}, {"number": 9, "title": "Drift: platform/dev"}]
        )
    )
    assert drift.report(results(tmp_path, bootstrap_dev="drift", platform_dev="clean")) == 1
    edit, comment, close = calls()
    assert edit.startswith("issue edit 7 --body-file ")
    assert comment == f"issue comment 7 --body Still drifting in {RUN}."
    assert close == f"issue close 9 --comment No drift in {RUN}."


def test_every_stack_clean_closes_nothing_else_and_exits_0(tmp_path, github):
    issues, calls = github
    issues.write_text(json.dumps([{"number": 3, "title": "Drift: platform/staging-old"}]))  # not this stack's
    assert drift.report(results(tmp_path, platform_staging="clean")) == 0
    assert calls() == []


def test_a_failed_preview_is_not_drift_and_leaves_the_issue_alone(tmp_path, github):
    issues, calls = github
    issues.write_text(json.dumps([{"number": 4, "title": "Drift: platform/prod"}]))
    assert drift.report(results(tmp_path, platform_prod="error")) == 1
    assert calls() == []
