"""The configuration reference is generated, current, and the stack files validate against its schema."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import FIXTURE

from tools import ROOT
from tools.docs import main as docs

SCHEMA = ROOT / "docs" / "stack-config.schema.json"


def validate(*files) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA), *map(str, files)],
        capture_output=True,
        text=True,
    )


def test_the_schema_and_the_readme_table_are_current(capsys):
    assert docs(["--check"]) == 0, capsys.readouterr().out + " : run `make docs` and commit"


@pytest.mark.live
def test_every_stack_file_validates_against_the_schema():
    files = [*ROOT.glob("Pulumi.*.yaml"), *FIXTURE.glob("Pulumi.*.yaml")]
    assert len(files) >= 5
    result = validate(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_stack_file_with_an_unknown_key_does_not(tmp_path):
    text = (
        (FIXTURE / "Pulumi.small.yaml")
        .read_text()
        .replace("  picturesocial:network:\n", "  picturesocial:netwrok:\n")
    )
    bad = tmp_path / "Pulumi.small.yaml"
    bad.write_text(text)
    result = validate(bad)
    assert result.returncode == 1
    assert "picturesocial:netwrok" in result.stdout


def test_the_table_names_numbers_and_keeps_exclusive_bounds():
    from tools.docs import rows

    kinds = {key: kind for key, kind, _ in rows()}
    assert kinds["`picturesocial:edge.throttling.rateLimit`"] == "number >0..10000 (required)"
    assert kinds["`picturesocial:edge.throttling.burstLimit`"] == "int >0..5000 (required)"
    assert not any("<class" in kind for kind in kinds.values())
