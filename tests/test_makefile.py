"""The Makefile a newcomer meets first: the Python check, stack discovery, and URNs passed to the guard."""

from __future__ import annotations

import subprocess

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


def test_urns_given_to_make_diff_reach_the_guard_unexpanded():
    result = make("-n", "diff", "BASE=HEAD", f"ALLOW={URN} urn:other$x")
    command = result.stdout.strip().splitlines()[-1]
    assert command.endswith(f"--allow '{URN}' --allow 'urn:other$x'")
