"""The Makefile a newcomer meets first: the Python check, stack discovery, and URNs passed to the guard."""

from __future__ import annotations

import subprocess

import pytest

from tools import ROOT

URN = "urn:pulumi:dev::picturesocial::picturesocial:infra:Network$aws:ec2/vpc:Vpc::vpc"


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True)


OLD_PYTHON = """#!/bin/sh
# Answers the Makefile's two questions as a Python 3.10 would.
case "$2" in *'%d.%d'*) echo 3.10 ;; *) echo 0 ;; esac
"""


def test_an_old_or_missing_python_is_refused_with_one_line(tmp_path):
    old = tmp_path / "python3.10"
    old.write_text(OLD_PYTHON)
    old.chmod(0o755)
    for python, says in ((str(old), f"{old} is 3.10"), ("no-such-python", "no-such-python is not found")):
        result = make("python", f"PYTHON={python}")
        assert result.returncode == 2
        (line,) = result.stderr.strip().splitlines()
        assert "the project needs Python 3.11 or newer" in line and says in line, line


def test_every_stack_file_is_a_stack_for_make():
    result = make("-n", "synth-all")
    assert result.returncode == 0
    assert "for s in dev prod staging;" in result.stdout


def test_acknowledgements_given_to_make_diff_reach_the_guard_unexpanded():
    result = make("-n", "diff", "BASE=HEAD", f"ALLOW={URN}=delete urn:other$x=spec.a,spec.b")
    assert f"--allow '{URN}=delete' --allow 'urn:other$x=spec.a,spec.b';" in result.stdout


STOPS_WITH = """#!/bin/sh
exit {code}
"""


@pytest.mark.parametrize("code", [3, 2])
def test_make_diff_says_the_guards_own_exit_code(tmp_path, code):
    # GNU make itself exits 2 whenever a recipe fails; the recipe hands on tools.diff's code (3: blocked,
    # 2: bad input) in its last line and in DIFF_CODE, which is what a script reads.
    python = tmp_path / "python"
    python.write_text(STOPS_WITH.format(code=code))
    python.chmod(0o755)
    result = make("diff", "BASE=HEAD", f"PY={python}", f"DIFF_CODE={tmp_path / 'code'}")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"make diff: tools.diff exit {code} (3: a blocked change; 2: bad input)"
    )
    assert (tmp_path / "code").read_text() == f"{code}\n"


def test_make_diff_refuses_an_acknowledgement_that_is_no_change_with_the_code_2(tmp_path):
    result = make("diff", "BASE=HEAD", f"ALLOW={URN}", f"DIFF_CODE={tmp_path / 'code'}")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(f"error: --allow: '{URN}' is not an acknowledgement")
    assert (tmp_path / "code").read_text() == "2\n"
