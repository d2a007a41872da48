"""Where the stacks of a project are: one ``Pulumi.<stack>.yaml`` per stack, beside ``Pulumi.yaml``.

Every tool, the Makefile (``python -m tools.offline.stacks``) and the tests list stacks through here, so
adding a stack file is all it takes to add a stack everywhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tools import ROOT

# The Pulumi projects of the repository, by name: the directory each lives in, from the repository's root.
PROJECTS = {"picturesocial": "", "bootstrap": "bootstrap"}


def projects(repository: Path = ROOT) -> dict[str, Path]:
    return {name: repository / folder for name, folder in PROJECTS.items()}


def discover(project_dir: Path = ROOT) -> list[str]:
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in project_dir.glob("Pulumi.*.yaml"))


if __name__ == "__main__":
    print(" ".join(discover(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)))
