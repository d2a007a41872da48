"""`make destroy STACK=...`: `pulumi destroy` of a platform stack that its settings let go, and nothing else.

A stack whose settings protect it (`picturesocial:protect`, true unless the stack file says false, or the
cluster's `deletionProtection`) is refused with one line before Pulumi is started: Pulumi itself would stop
halfway, at the first protected resource, after deleting everything that depends on it. The offline
rehearsal (tests/test_teardown.py) keeps the deletion order free of hangs; `make leftovers` checks the account
afterwards.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from tools import ROOT
from tools.ops import Stop, load_settings


def refusal(stack: str, config_file: Path | None, project: Path) -> str | None:
    """Why ``stack`` may not be destroyed, in one line; None when it may."""
    settings = load_settings(stack, config_file, project).stack
    where = config_file or project / f"Pulumi.{stack}.yaml"
    name = where.name if where.parent == project else str(where)
    if settings.protect:
        return (
            f"{name}: picturesocial:protect is true (the default): stack {stack} keeps its stateful "
            "resources and is not destroyed; only a stack whose file sets it to false (dev) is"
        )
    if settings.cluster.deletion_protection:
        return (
            f"{name}: picturesocial:cluster.deletionProtection is true: EKS refuses to delete the cluster of "
            f"stack {stack}; set it to false and `pulumi up` first"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.destroy", description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--project", type=Path, default=ROOT, help="the project directory")
    parser.add_argument("--config", type=Path, help="use FILE instead of Pulumi.<stack>.yaml")
    parser.add_argument("--yes", action="store_true", help="pass --yes to pulumi destroy (no prompt)")
    args = parser.parse_args(argv)
    project = args.project.absolute()
    try:
        reason = refusal(args.stack, args.config, project)
    except Stop as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 1
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        print(
            "error: the Pulumi CLI is not on the PATH (https://www.pulumi.com/docs/install/)", file=sys.stderr
        )
        return 1
    command = [pulumi, "destroy", "--stack", args.stack, *(["--yes"] if args.yes else [])]
    if args.config:
        command += ["--config-file", str(args.config)]
    status = subprocess.run(command, cwd=project).returncode
    if status == 0:
        print(
            f"destroyed; now check the account for what controllers left: make leftovers STACK={args.stack}"
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
