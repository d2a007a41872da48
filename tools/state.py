"""The stack's checkpoints in its state bucket, and the way back to one (`make state-versions`,
`make state-restore`).

Pulumi's self-managed (DIY) backend keeps a stack's current checkpoint at
``.pulumi/stacks/<project>/<stack>.json`` under the backend URL (``.json.gz`` when gzip is on), and for
every update a history record ``.pulumi/history/<project>/<stack>/<stack>-<unix ns>.history.json`` with the
update's kind, times and environment (pulumi pkg/backend/diy/store.go StackBasePath and HistoryDir,
pkg/backend/diy/state.go addToHistory, pkg/backend/updates.go UpdateInfo). The bootstrap's state bucket is
versioned (bootstrap/state.py): every checkpoint Pulumi wrote is an S3 object version.

A restore copies the chosen version over the key: the copy is the new current version and every version
stays listed (the deploy role may not delete versions either: bootstrap/github.py). The restored state
describes the cloud as it was then: `pulumi refresh` next, then `pulumi preview`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import boto3
import yaml

from tools import ROOT
from tools.ops import CREDENTIAL_ERRORS, RETRIES, Stop, load_settings


@dataclass(frozen=True)
class Backend:
    bucket: str
    prefix: str  # "" or "path/" inside the bucket (a backend URL s3://bucket/path)

    @classmethod
    def from_url(cls, url: str) -> Backend:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise Stop(f"backend URL {url!r}: only s3://<bucket>[/<path>] is supported")
        path = parsed.path.strip("/")
        return cls(parsed.netloc, f"{path}/" if path else "")

    def stack_key(self, project: str, stack: str) -> str:
        return f"{self.prefix}.pulumi/stacks/{project}/{stack}.json"

    def history_prefix(self, project: str, stack: str) -> str:
        return f"{self.prefix}.pulumi/history/{project}/{stack}/{stack}-"


@dataclass(frozen=True)
class Checkpoint:
    version_id: str
    modified: datetime
    size: int
    latest: bool


def backend_for(account: str, project_dir: Path, url: str | None) -> Backend:
    """The state bucket of the stack's account: --backend-url, else PULUMI_BACKEND_URL (what `pulumi login`
    reads), else the bootstrap stack file of the same account (bootstrap:stateBucket)."""
    url = url or os.environ.get("PULUMI_BACKEND_URL")
    if url:
        return Backend.from_url(url)
    for path in sorted((project_dir / "bootstrap").glob("Pulumi.*.yaml")):
        config = (yaml.safe_load(path.read_text()) or {}).get("config", {})
        if config.get("aws:allowedAccountIds") == [account] and config.get("bootstrap:stateBucket"):
            return Backend(config["bootstrap:stateBucket"], "")
    raise Stop(
        f"no bootstrap stack file names the state bucket of account {account}: pass --backend-url s3://..."
    )


def checkpoints(s3, backend: Backend, key: str) -> list[Checkpoint]:
    """Every version of the stack's checkpoint, newest first (delete markers are not checkpoints)."""
    found = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=backend.bucket, Prefix=key):
        for version in page.get("Versions", []):
            if version["Key"] == key:
                found.append(
                    Checkpoint(
                        version["VersionId"], version["LastModified"], version["Size"], version["IsLatest"]
                    )
                )
    # S3 lists a key's versions newest first; the sort is stable, so versions of the same second keep that.
    return sorted(found, key=lambda c: c.modified, reverse=True)


def resources(s3, backend: Backend, key: str, version_id: str | None = None) -> list[str]:
    """The URNs a checkpoint version holds."""
    extra = {"VersionId": version_id} if version_id else {}
    body = s3.get_object(Bucket=backend.bucket, Key=key, **extra)["Body"].read()
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    document = json.loads(body)
    latest = (document.get("checkpoint") or {}).get("latest") or {}
    return [r["urn"] for r in latest.get("resources") or []]


def writers(s3, backend: Backend, project: str, stack: str) -> list[tuple[datetime, str]]:
    """Who ran each update, as the history records it: (when it was recorded, who and how)."""
    prefix = backend.history_prefix(project, stack)
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=backend.bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if ".history.json" not in item["Key"]:
                continue
            body = s3.get_object(Bucket=backend.bucket, Key=item["Key"])["Body"].read()
            info = json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
            env = info.get("environment") or {}
            who = env.get("git.author") or env.get("git.committer") or "?"
            how = env.get("ci.system") or env.get("exec.kind") or "cli"
            found.append((item["LastModified"], f"{info.get('kind', '?')} by {who} ({how})"))
    return sorted(found)


def writer_of(checkpoint: Checkpoint, newer: Checkpoint | None, history: list[tuple[datetime, str]]) -> str:
    # The history record is written right after the checkpoint it belongs to (addToHistory), before the
    # next checkpoint.
    found = [
        who
        for when, who in history
        if when >= checkpoint.modified.replace(microsecond=0) and (newer is None or when < newer.modified)
    ]
    return found[0] if found else "not recorded"


def _client(stack: str, project_dir: Path, profile: str | None, backend_url: str | None):
    config = load_settings(stack, None, project_dir).stack
    backend = backend_for(config.allowed_account_ids[0], project_dir, backend_url)
    session = boto3.Session(profile_name=profile)
    s3 = session.client("s3", region_name=config.region, config=RETRIES)
    return s3, backend, config.project


def versions(args: argparse.Namespace) -> int:
    s3, backend, project = _client(args.stack, args.project, args.profile, args.backend_url)
    key = backend.stack_key(project, args.stack)
    found = checkpoints(s3, backend, key)
    if not found:
        raise Stop(f"s3://{backend.bucket}/{key} has no versions: is this the stack's state bucket?")
    history = writers(s3, backend, project, args.stack)
    print(f"s3://{backend.bucket}/{key}")
    print(f"{'version':34}  {'written (UTC)':19}  {'bytes':>9}  {'resources':>9}  written by")
    for index, checkpoint in enumerate(found):
        newer = found[index - 1] if index else None
        count = len(resources(s3, backend, key, checkpoint.version_id))
        mark = "  <- current" if checkpoint.latest else ""
        print(
            f"{checkpoint.version_id:34}  {checkpoint.modified.astimezone(UTC):%Y-%m-%d %H:%M:%S}  "
            f"{checkpoint.size:>9}  {count:>9}  {writer_of(checkpoint, newer, history)}{mark}"
        )
    return 0


def restore(args: argparse.Namespace) -> int:
    s3, backend, project = _client(args.stack, args.project, args.profile, args.backend_url)
    key = backend.stack_key(project, args.stack)
    found = {c.version_id: c for c in checkpoints(s3, backend, key)}
    if args.version not in found:
        raise Stop(
            f"s3://{backend.bucket}/{key} has no version {args.version!r}: `make state-versions` lists them"
        )
    if found[args.version].latest:
        raise Stop(f"version {args.version} is already the current checkpoint of stack {args.stack}")
    locks = s3.list_objects_v2(Bucket=backend.bucket, Prefix=f"{backend.prefix}.pulumi/locks/").get(
        "Contents", []
    )
    if any(f"/{project}/{args.stack}/" in item["Key"] for item in locks):
        raise Stop(
            f"stack {args.stack} is locked: an update is running (or was interrupted: `pulumi cancel`)"
        )
    current, chosen = set(resources(s3, backend, key)), set(resources(s3, backend, key, args.version))
    more, fewer = sorted(chosen - current), sorted(current - chosen)
    print(f"stack {args.stack}: the current checkpoint holds {len(current)} resources;")
    print(
        f"version {args.version} holds {len(chosen)} ({len(chosen) - len(current):+d}): "
        f"{len(more)} more, {len(fewer)} fewer"
    )
    for urn in more:
        print(f"  + {urn}")
    for urn in fewer:
        print(f"  - {urn}")
    if not args.yes:
        if not sys.stdin.isatty():
            raise Stop("no terminal to confirm on: pass --yes to restore from a script")
        if input(f"make version {args.version} the current checkpoint? [y/N] ").strip().lower() not in (
            "y",
            "yes",
        ):
            print("nothing changed")
            return 1
    copied = s3.copy_object(
        Bucket=backend.bucket,
        Key=key,
        CopySource={"Bucket": backend.bucket, "Key": key, "VersionId": args.version},
        MetadataDirective="COPY",
    )
    print(
        f"restored: version {copied.get('VersionId', '?')} (a copy of {args.version}) is current; every "
        f"earlier version is still listed. Next: pulumi refresh -s {args.stack}, then "
        f"pulumi preview -s {args.stack}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.state", description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT, help="the project directory")
    parser.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    parser.add_argument(
        "--backend-url", help="s3://<bucket>[/<path>] (default: PULUMI_BACKEND_URL, then bootstrap)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("versions", help="list the stack's checkpoints")
    listing.add_argument("stack")
    listing.set_defaults(run=versions)
    back = commands.add_parser("restore", help="make one checkpoint version current again")
    back.add_argument("stack")
    back.add_argument("version", nargs="?", default="")
    back.add_argument("--yes", action="store_true", help="restore without asking (scripts)")
    back.set_defaults(run=restore)
    args = parser.parse_args(argv)
    args.project = args.project.absolute()
    try:
        if args.command == "restore" and not args.version:
            raise Stop(
                "which version? make state-restore STACK=<stack> VERSION=<id from make state-versions>"
            )
        return int(args.run(args))
    except Stop as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except CREDENTIAL_ERRORS as exc:
        print(
            f"error: no usable AWS credentials ({exc}); configure a profile, environment or SSO",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
