"""Writes this repository's GitHub organization and repository and each stack's AWS account id into every file
that holds them (a fresh fork holds the examples: example-org/picturesocial and 111122223333, 444455556666,
777788889999):

    python -m tools.configure --org ORG --repo REPO --account dev=123456789012 --account staging=... ...
    make configure ORG=... REPO=... DEV=... STAGING=... PROD=...

Each stack's account id (``aws:allowedAccountIds`` in Pulumi.<stack>.yaml) is replaced, as a number, in every
stack's files (a stack names the others' accounts too: the registry's replication): Pulumi.<stack>.yaml,
bootstrap/Pulumi.<stack>.yaml, policy/config/<stack>.json and policy/config/bootstrap/<stack>.json (role ARNs,
the state bucket's name, the account guard). The repository of bootstrap/Pulumi.<stack>.yaml
(``bootstrap:githubRepository``) is replaced in the bootstrap's files. Then
`make snapshot` and commit. Exit 2, with one line naming the problem, on a bad id or a stack without files.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from settings import strict_yaml
from tools import ROOT
from tools.offline.stacks import discover

# The examples a fresh clone holds; tools/preflight.py refuses them before a deploy.
PLACEHOLDER_ACCOUNTS = ("111122223333", "444455556666", "777788889999")
PLACEHOLDER_ORG = "example-org"
ACCOUNT = re.compile(r"\d{12}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # GitHub owner and repository names


class ConfigureError(Exception):
    pass


def files_of(root: Path, stack: str) -> list[Path]:
    candidates = [
        root / f"Pulumi.{stack}.yaml",
        root / "bootstrap" / f"Pulumi.{stack}.yaml",
        root / "policy" / "config" / f"{stack}.json",
        root / "policy" / "config" / "bootstrap" / f"{stack}.json",
    ]
    return [path for path in candidates if path.exists()]


def _config(path: Path) -> dict:
    return (strict_yaml.load(path.read_text()) or {}).get("config", {})


def _replace_accounts(text: str, renamed: dict[str, str]) -> str:
    """Each old account's twelve digits, wherever they stand alone as a number (an ARN, a bucket name's
    suffix), in one pass: a new id that equals another stack's old one is not replaced again."""
    return re.sub(r"(?<!\d)\d{12}(?!\d)", lambda m: renamed.get(m.group(0), m.group(0)), text)


def _replace_repository(text: str, old: str, new: str) -> str:
    """``owner/name`` as a whole value, not inside a longer name."""
    return re.sub(r"(?<![A-Za-z0-9._/-])" + re.escape(old) + r"(?![A-Za-z0-9._/-])", new, text)


def configure(root: Path, repository: str, accounts: dict[str, str]) -> list[Path]:
    """Rewrites the files; returns those changed."""
    owner, _, name = repository.partition("/")
    if not (NAME.fullmatch(owner) and NAME.fullmatch(name)):
        raise ConfigureError(f"{repository!r} is not a GitHub repository written owner/name")
    stacks = discover(root)
    unknown = sorted(set(accounts) - set(stacks))
    if unknown:
        raise ConfigureError(f"no stack {', '.join(unknown)}: the stacks are {', '.join(stacks)}")
    for stack, account in accounts.items():
        if not ACCOUNT.fullmatch(account) or account in PLACEHOLDER_ACCOUNTS:
            raise ConfigureError(
                f"{stack}: {account!r} is not an AWS account id of twelve digits (or an example)"
            )
    changed = []
    # Every stack's account, replaced in every stack's files: a stack names the others' too (the registry
    # replicates from dev to staging and prod: picturesocial:registry.replicateTo, replicatedFrom).
    renamed = {}
    for stack in stacks:
        (current,) = _config(root / f"Pulumi.{stack}.yaml")["aws:allowedAccountIds"]
        renamed[current] = accounts.get(stack, current)
    for stack in stacks:
        bootstrap = root / "bootstrap" / f"Pulumi.{stack}.yaml"
        old_repository = _config(bootstrap).get("bootstrap:githubRepository") if bootstrap.exists() else None
        for path in files_of(root, stack):
            text = path.read_text()
            new = _replace_accounts(text, renamed)
            if old_repository and (path == bootstrap or "bootstrap" in path.parent.name):
                new = _replace_repository(new, old_repository, repository)
            if new != text:
                path.write_text(new)
                changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.configure", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--org", required=True, help="the GitHub organization (or user) owning the repository"
    )
    parser.add_argument("--repo", required=True, help="the repository's name")
    parser.add_argument(
        "--account", action="append", default=[], metavar="STACK=ID", help="a stack's account id"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        accounts = dict(pair.split("=", 1) for pair in args.account if pair.split("=", 1)[-1])
        for path in configure(args.root, f"{args.org}/{args.repo}", accounts):
            print(f"wrote {path.relative_to(args.root)}")
    except (ConfigureError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
