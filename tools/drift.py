"""Nightly drift detection (.github/workflows/drift.yml): the stacks to check, and one GitHub issue per
drifted stack.

    python3 tools/drift.py matrix              # the workflow's matrix: every stack file of both projects
    python3 tools/drift.py classify OUTPUT RC  # clean | drift | error, from `pulumi preview` output and code
    python3 tools/drift.py report DIR          # open, update or close the issues (gh CLI, GH_TOKEN)

Standard library only: the workflow runs it with the runner's python3, before (or without) the virtualenv.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = {"platform": ".", "bootstrap": "bootstrap"}
LABEL = "drift"
# `pulumi preview --expect-no-changes` fails with this when the plan has changes (pulumi
# pkg/backend/backenderr/backenderr.go NoChangesExpectedError); any other failure is an error, not drift.
DRIFTED = re.compile(r"no changes were expected( for \S+)? but changes were proposed")
# GitHub refuses an issue body over 65,536 characters: the tail of the preview carries the summary.
MAX_OUTPUT = 60_000


def matrix(root: Path = ROOT) -> list[dict[str, str]]:
    """One entry per Pulumi.<stack>.yaml of each project: adding a stack file adds it to the nightly run."""
    return [
        {"project": project, "dir": directory, "stack": path.name[len("Pulumi.") : -len(".yaml")]}
        for project, directory in PROJECTS.items()
        for path in sorted((root / directory).glob("Pulumi.*.yaml"))
    ]


def classify(output: str, returncode: int) -> str:
    if returncode == 0:
        return "clean"
    return "drift" if DRIFTED.search(output) else "error"


def title(project: str, stack: str) -> str:
    return f"Drift: {project}/{stack}"


def body(result: dict[str, str], output: str) -> str:
    tail = output[-MAX_OUTPUT:]
    return (
        f"`pulumi preview --refresh --expect-no-changes` of **{result['project']}/{result['stack']}** found "
        f"changes in the nightly run {result['run']}: the cloud no longer matches the last `pulumi up`.\n\n"
        'What to do: README, "Drift". Reconcile it one way or the other; this issue closes itself on the '
        "first clean night.\n\n"
        f"```diff\n{tail}\n```\n"
    )


def gh(*args: str) -> str:
    return subprocess.run(["gh", *args], check=True, capture_output=True, text=True).stdout


def open_issue(name: str) -> int | None:
    found = json.loads(
        gh("issue", "list", "--label", LABEL, "--state", "open", "--limit", "200", "--json", "number,title")
    )
    return next((issue["number"] for issue in found if issue["title"] == name), None)


def report(directory: Path) -> int:
    """Per stack result (``<dir>/*/result.json`` with ``preview.txt`` beside it): drift opens or updates
    its issue, clean closes it, an error leaves it as it is. Exit 1 when a stack drifted or failed."""
    gh(
        "label",
        "create",
        LABEL,
        "--color",
        "d93f0b",
        "--description",
        "the cloud differs from the stack",
        "--force",
    )
    bad = 0
    for path in sorted(directory.glob("*/result.json")):
        result = json.loads(path.read_text())
        name = title(result["project"], result["stack"])
        number = open_issue(name)
        if result["status"] == "drift":
            bad += 1
            text = body(result, (path.parent / "preview.txt").read_text(errors="replace"))
            file = path.parent / "issue.md"
            file.write_text(text)
            if number is None:
                gh("issue", "create", "--title", name, "--label", LABEL, "--body-file", str(file))
                print(f"{name}: opened")
            else:
                gh("issue", "edit", str(number), "--body-file", str(file))
                gh("issue", "comment", str(number), "--body", f"Still drifting in {result['run']}.")
                print(f"{name}: updated #{number}")
        elif result["status"] == "clean":
            if number is not None:
                gh("issue", "close", str(number), "--comment", f"No drift in {result['run']}.")
                print(f"{name}: clean, closed #{number}")
            else:
                print(f"{name}: clean")
        else:
            bad += 1
            print(f"{name}: the preview failed (not drift): {result['run']}")
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    match argv:
        case ["matrix"]:
            print(f"matrix={json.dumps(matrix())}")
            return 0
        case ["classify", output, returncode]:
            print(classify(Path(output).read_text(errors="replace"), int(returncode)))
            return 0
        case ["report", directory]:
            return report(Path(directory))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
