"""Command-line tools around the program: offline synth, snapshot, diff, bench, preflight and smoke checks.

``python3 -m tools.<name>`` works from any shell in the repository: started outside the project's virtualenv,
a tool re-executes itself with ``.venv/bin/python`` (the pinned dependencies), or says in one line how to
build it. Kept importable by old Pythons so that even Python 3.8 gets that line rather than a traceback.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def _run_in_project_venv() -> None:
    if sys.prefix != sys.base_prefix:
        return  # already in a virtualenv (the project's, or one a caller chose)
    argv = getattr(sys, "orig_argv", None)  # Python 3.10+: the command line as typed
    if not argv or "-m" not in argv:
        return  # imported as a library, not run as a tool
    if VENV_PYTHON.exists():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON)] + list(argv[1:]))
    sys.stderr.write(
        "error: the tools run in the project's virtualenv, which does not exist yet: run `make venv` "
        "(needs Python 3.11+), then the same command again\n"
    )
    raise SystemExit(2)


_run_in_project_venv()
