"""Promote images by digest from one stack file to the next: what runs in prod is what ran in staging.

    python -m tools.promote <from> <to> [--apis a,b] [--project DIR]

Copies ``tag`` and ``digest`` of the chosen APIs (default: every API of the source) from
``Pulumi.<from>.yaml`` to ``Pulumi.<to>.yaml``, keeping the target's comments, order, quoting and flow style
(ruamel.yaml locates the scalars, only they are rewritten), checks the result through the settings
layer, writes it and prints the unified diff.
Canaries are not promoted: a canary is an experiment of its own stack. The images themselves do not move:
ECR replication already put every digest in each account's registry (docs/decisions/0033); `make preflight
STACK=<to>` checks it is there and its scan is clean.

Exit 0 (changed, or nothing to promote), 2 on bad input, one line naming the file and key.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

import settings
from tools import ROOT
from tools.ops import Stop, load_settings

APIS = "picturesocial:apis"


def _load(path: Path):
    try:
        return YAML().load(path.read_text())  # round-trip: keeps each node's line and column
    except FileNotFoundError:
        raise Stop(f"{path.name}: no such stack file") from None
    except YAMLError as exc:
        raise Stop(f"{path.name}: not valid YAML: {str(exc).splitlines()[0]}") from None


def _apis(document, path: Path):
    entries = (document or {}).get("config", {}).get(APIS) if hasattr(document, "get") else None
    if not hasattr(entries, "get"):
        raise Stop(f"{path.name}: {APIS}: missing: a stack file lists its APIs there")
    return entries


def _token_end(line: str, col: int) -> int:
    """Where the scalar starting at ``col`` ends: its closing quote, or the next `,`, `}`, comment or end."""
    if line[col] in "\"'":
        return line.index(line[col], col + 1) + 1
    end = col
    while end < len(line) and line[end] not in ",}" and not line.startswith(" #", end):
        end += 1
    return len(line[:end].rstrip())


def _set(lines: list[str], entry, key: str, value: str, after: str) -> None:
    """Writes ``key: value`` into one API's entry, touching only that scalar: replaced where it is, or added
    right after ``after`` (inside a flow mapping, or on a line of its own at the same indentation)."""
    if key in entry:
        row, col = entry.lc.value(key)
        line = lines[row]
        lines[row] = line[:col] + value + line[_token_end(line, col) :]
        return
    row, col = entry.lc.value(after)
    line = lines[row]
    if entry.fa.flow_style():
        end = _token_end(line, col)
        lines[row] = f"{line[:end]}, {key}: {value}{line[end:]}"
    else:
        indent = entry.lc.key(after)[1]
        lines.insert(row + 1, " " * indent + f"{key}: {value}\n")


def promote(source: str, target: str, apis: list[str] | None, project: Path) -> str:
    """Rewrites the target stack file; returns the unified diff (empty when nothing changed). Only the tag and
    digest scalars of the promoted APIs change: every other byte of the file stays as its authors wrote it."""
    if source == target:
        raise Stop(f"promote {source} to {target}: the source and the target are the same stack")
    source_file, target_file = project / f"Pulumi.{source}.yaml", project / f"Pulumi.{target}.yaml"
    source_apis = _apis(_load(source_file), source_file)
    target_apis = _apis(_load(target_file), target_file)
    chosen = apis if apis else sorted(source_apis)
    for name in chosen:
        if name not in source_apis:
            raise Stop(
                f"{source_file.name}: {APIS}.{name}: not an API of the source stack "
                f"({', '.join(sorted(source_apis))})"
            )
        entry = source_apis[name]
        if not hasattr(entry, "get") or not entry.get("digest"):
            raise Stop(
                f"{source_file.name}: {APIS}.{name}.digest: missing: promotion is by digest; pin it in "
                f"{source} first (python -m tools.preflight {source} --pin, or promote into {source})"
            )
        if name not in target_apis or not hasattr(target_apis[name], "get") or "tag" not in target_apis[name]:
            raise Stop(
                f"{target_file.name}: {APIS}.{name}.tag: missing: the target stack must list the API "
                "(its replicas and resources are its own)"
            )
    before = target_file.read_text()
    lines = before.splitlines(keepends=True)
    # Bottom-up, so a line added for one API never moves the lines of the next one edited.
    for name in sorted(chosen, key=lambda n: target_apis[n].lc.line, reverse=True):
        entry = source_apis[name]
        # Quoted: an unquoted 1.10 is a number in YAML, and the settings refuse it.
        _set(lines, target_apis[name], "digest", json.dumps(str(entry["digest"])), "tag")
        _set(lines, target_apis[name], "tag", json.dumps(str(entry["tag"])), "tag")
    after = "".join(lines)
    if before == after:
        return ""
    # The result must hold as a stack file, and name exactly the promoted images: checked before writing.
    promoted = _apis(YAML().load(after), target_file)
    for name in chosen:
        wanted = (str(source_apis[name]["tag"]), str(source_apis[name]["digest"]))
        if (str(promoted[name]["tag"]), str(promoted[name].get("digest"))) != wanted:
            raise Stop(f"{target_file.name}: {APIS}.{name}: could not be rewritten in place; edit it by hand")
    with tempfile.TemporaryDirectory() as scratch:
        candidate = Path(scratch) / target_file.name
        candidate.write_text(after)
        try:
            load_settings(target, candidate, project)
        except Stop as exc:
            raise Stop(f"{target_file.name} after promotion: {exc}") from None
    target_file.write_text(after)
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{target_file.name}",
            tofile=f"b/{target_file.name}",
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", help="the stack promoted from (staging)")
    parser.add_argument("target", help="the stack promoted to (prod)")
    parser.add_argument("--apis", default="", help="comma- or space-separated API names (default: all)")
    parser.add_argument("--project", type=Path, default=ROOT, help="the project directory")
    args = parser.parse_args(argv)
    apis = [a for a in args.apis.replace(",", " ").split() if a]
    try:
        diff = promote(args.source, args.target, apis, args.project)
    except (Stop, settings.SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if diff:
        sys.stdout.write(diff)
    else:
        print(f"nothing to promote: Pulumi.{args.target}.yaml already names these images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
