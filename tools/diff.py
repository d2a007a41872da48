"""Offline diff of two desired-state graphs, with a guard against losing stateful resources.

    python -m tools.diff OLD NEW [--allow URN=WHAT ...]  # OLD, NEW: directories holding graph.json
    python -m tools.diff --base REF [--stack S ...]    # synthesize REF (a git worktree) and the working tree

Per resource: `+ create`, `~ update` (changed input paths), `+- replace` (the paths forcing it, and what was
replaced before it when that is why) or `- delete`, each changed input shown as `old -> new` in full (secrets
masked), a JSON document (policy, dashboard body) as the keys and items that changed in it, text of several
lines as a unified diff.
A replaced resource gets new ids in the offline engine, so everything whose replace-forcing inputs point at it
is replaced too, as it would be for real. Exit 3 when a protected or stateful resource (policy/baseline
STATEFUL) would be replaced or deleted, or a cluster's Kubernetes version would skip a minor version or go
down (EKS can do neither), and that exact change is not acknowledged; 2 when a graph cannot be produced or an
acknowledgement matches no blocked change; 0 otherwise. The base side is synthesized without the Kubernetes
support check (settings/kubernetes.py).

An acknowledgement (--allow, or a line of --allow-file) names one blocked change, as the `blocked:` line
prints it: ``URN=delete`` for a deletion, ``URN=path,path`` for a replacement forced by those input paths (or
an update of a refused version step), ``URN=replace`` for a replacement no input of its own forces (its
provider was replaced). It lets that change through and nothing else: the same URN replaced for another reason
is blocked again. One that matches no blocked change is refused (exit 2), so an acknowledgement cannot outlive
the pull request that needed it: once that change is deployed, the next diff no longer shows it, and the file
must be emptied (docs/decisions/0025-acknowledgements-tied-to-their-change.md).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepdiff import DeepDiff

from policy.baseline import STATEFUL
from settings.errors import key_path
from tools import ROOT, cost
from tools.offline.replacement import forces_replacement, load_table
from tools.offline.stacks import PROJECTS, discover


@dataclass
class Change:
    kind: str  # create | update | replace | delete
    urn: str
    type: str
    paths: list[str] = field(default_factory=list)
    values: list[tuple[str, Any, Any]] = field(default_factory=list)  # (path, old, new)
    because: list[str] = field(default_factory=list)  # URNs replaced before this one that force it
    unknown: bool = False  # the type has no entry in the replacement table
    guarded: bool = False  # protected or stateful, replaced or deleted, and not acknowledged
    refused: str | None = None  # a change EKS cannot make (a version jump), blocked like a guarded one
    acknowledged: bool = False  # blocked, but this exact change is acknowledged

    @property
    def acknowledgement(self) -> str:
        """What acknowledges exactly this change: its URN and what makes it a replacement or deletion."""
        if self.kind == "delete":
            return f"{self.urn}=delete"
        return f"{self.urn}={','.join(self.paths) or 'replace'}"

    def line(self) -> str:
        mark = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}[self.kind]
        detail = f" ({', '.join(self.paths)})" if self.paths else ""
        note = " [unknown replacement behaviour]" if self.unknown else ""
        note += " [acknowledged]" if self.acknowledged else ""
        cause = f" because {', '.join(self.because)} is replaced" if self.because else ""
        return f"{mark} {self.kind} {self.urn}{detail}{cause}{note}"


def _show(value: Any) -> str:
    """A value in full: strings as they are (an image reference with its registry, repository and tag),
    anything else as compact JSON. Secrets arrive masked already (tools/offline/engine.py SECRET)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(", ", ": "))


def _document(value: Any) -> Any:
    """A JSON document (an IAM policy, a dashboard body, a configuration value), parsed: a mapping or list,
    given as such or as JSON text. None for anything else."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, (dict, list)) else None


def _structural(path: str, old: Any, new: Any) -> list[str]:
    """What changed inside a document, one line per changed key or item (a statement added is one line)."""
    lines = []
    tree = DeepDiff(old, new, view="tree", verbose_level=2)
    items = sorted(
        (key_path(item.path(output_format="list")), report, item)
        for report, found in tree.items()
        for item in found
    )
    for inner, report, item in items:
        where = f"{path} {inner}" if inner else path
        if report.endswith("_added"):
            lines.append(f"      {where}: + {_show(item.t2)}")
        elif report.endswith("_removed"):
            lines.append(f"      {where}: - {_show(item.t1)}")
        else:
            lines.append(f"      {where}: {_show(item.t1)} -> {_show(item.t2)}")
    return lines


def render(path: str, old: Any, new: Any) -> list[str]:
    """One changed input as a reviewer reads it: documents as a structural diff, text of several lines as a
    unified diff, anything else in full as ``old -> new``."""
    before, after = _document(old), _document(new)
    if before is not None and after is not None and type(before) is type(after):
        return _structural(path, before, after)
    if isinstance(old, str) and isinstance(new, str) and ("\n" in old or "\n" in new):
        body = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1)
        return [f"      {path}:"] + [f"        {line}" for line in list(body)[2:]]
    return [f"      {path}: {_show(old)} -> {_show(new)}"]


def _at(value: Any, parts: list[Any]) -> Any:
    for part in parts:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _same(old: Any, new: Any) -> bool:
    """Equal and of the same types all the way down (True is not 1, 1 is not 1.0, as DeepDiff sees them): the
    most resources of a diff are unchanged, and this answers for them in a fraction of DeepDiff's time."""
    if type(old) is not type(new):
        return False
    if isinstance(old, dict):
        return old.keys() == new.keys() and all(_same(value, new[key]) for key, value in old.items())
    if isinstance(old, list):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new, strict=True))
    return bool(old == new)


def changed_paths(old: dict, new: dict) -> list[tuple[list[Any], str]]:
    if _same(old, new):
        return []
    tree = DeepDiff(old, new, view="tree", verbose_level=2)
    found = {}
    for items in tree.values():
        for item in items:
            parts = item.path(output_format="list")
            found[key_path(parts)] = parts
    return [(parts, text) for text, parts in sorted(found.items())]


def _old_urns(resource: dict) -> list[str]:
    """The URNs a resource was known by before, from its aliases (URN aliases and name aliases)."""
    urns = []
    for alias in resource.get("aliases", []):
        if alias.startswith("urn:"):
            urns.append(alias)
            continue
        spec = json.loads(alias)
        if "urn" in spec:
            urns.append(spec["urn"])
        elif "name" in spec.get("spec", {}):
            urns.append(resource["urn"].rsplit("::", 1)[0] + "::" + spec["spec"]["name"])
    return urns


def diff(
    old: dict,
    new: dict,
    table: dict[str, tuple[tuple[str, ...], ...]] | None = None,
    allow: frozenset[str] | set[str] = frozenset(),
) -> tuple[list[Change], int]:
    """Changes from graph ``old`` to graph ``new`` (graph.json bodies), and the unchanged count. ``allow``:
    acknowledgements (``Change.acknowledgement``) of blocked changes; those used are marked acknowledged."""
    table = load_table() if table is None else table
    before = {r["urn"]: r for r in old["resources"]}
    after = {r["urn"]: r for r in new["resources"]}
    renamed = {}
    for urn, resource in after.items():
        if urn not in before:
            for alias in _old_urns(resource):
                if alias in before and alias not in after:
                    renamed[urn] = alias
    changes: list[Change] = []
    unchanged: set[str] = set()
    for urn, resource in after.items():
        previous = before.get(urn) or before.get(renamed.get(urn, ""))
        if previous is None:
            changes.append(Change("create", urn, resource["type"]))
            continue
        paths = changed_paths(previous["inputs"], resource["inputs"])
        if not paths:
            unchanged.add(urn)
            continue
        values = [
            (text, _at(previous["inputs"], parts), _at(resource["inputs"], parts)) for parts, text in paths
        ]
        forcing = table.get(resource["type"])
        if forcing is None:
            changes.append(
                Change("update", urn, resource["type"], [p for _, p in paths], values, unknown=True)
            )
            continue
        replacing = [text for parts, text in paths if forces_replacement(parts, forcing)]
        kind = "replace" if replacing else "update"
        changes.append(Change(kind, urn, resource["type"], replacing or [p for _, p in paths], values))
    _propagate(changes, before, after, unchanged)
    gone = set(before) - set(after) - set(renamed.values())
    for urn in sorted(gone):
        changes.append(Change("delete", urn, before[urn]["type"]))
    for change in changes:
        if change.kind in ("replace", "delete"):
            previous = before.get(change.urn) or before.get(renamed.get(change.urn, ""), {})
            change.guarded = bool(previous.get("protect")) or change.type in STATEFUL
        if change.type in CLUSTER_TYPES:
            change.refused = _version_step(change)
        if (change.guarded or change.refused) and change.acknowledgement in allow:
            change.acknowledged, change.guarded, change.refused = True, False, None
    changes.sort(key=lambda c: c.urn)
    return changes, len(unchanged)


# EKS changes a cluster's Kubernetes version one minor version up per update, and never down (EKS user guide,
# "Update existing cluster to new Kubernetes version"); the VPC CNI add-on too moves one minor version per
# update (EKS user guide, "Update the Amazon VPC CNI (Amazon EKS add-on)").
CLUSTER_TYPES = ("eks:index:Cluster", "aws:eks/cluster:Cluster")
ONE_MINOR_AT_A_TIME = {"version": "Kubernetes", "vpcCniOptions.addonVersion": "the VPC CNI add-on"}


def _minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"v?(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _version_step(change: Change) -> str | None:
    for path, old, new in change.values:
        what = ONE_MINOR_AT_A_TIME.get(path)
        if what is None or not (isinstance(old, str) and isinstance(new, str)):
            continue
        before, after = _minor(old), _minor(new)
        if before is None or after is None:
            continue
        if after < before:
            return f"{what} {old} -> {new} is a downgrade, which EKS cannot do"
        if after[0] != before[0] or after[1] - before[1] > 1:
            return f"{what} {old} -> {new} skips a minor version; EKS upgrades one minor version at a time"
    return None


def _propagate(
    changes: list[Change], before: dict[str, dict], after: dict[str, dict], unchanged: set[str]
) -> None:
    """Name what forced each replacement: a replaced resource whose old id the forcing input held, or the
    resource's provider, whose replacement replaces everything it manages."""
    by_urn = {c.urn: c for c in changes}
    old_ids = {}
    for change in changes:
        if change.kind == "replace" and before.get(change.urn, {}).get("id"):
            old_ids[before[change.urn]["id"]] = change.urn
    for change in changes:
        if change.kind != "replace":
            continue
        for path, old, _new in change.values:
            if path in change.paths:
                text = json.dumps(old)
                change.because += sorted(
                    {urn for rid, urn in old_ids.items() if rid and rid in text} - {change.urn}
                )
        change.because = sorted(set(change.because))
    replaced = {c.urn for c in changes if c.kind == "replace"}
    for urn, resource in after.items():
        provider = resource.get("provider")
        if provider in replaced and urn in unchanged | {c.urn for c in changes if c.kind == "update"}:
            existing = by_urn.get(urn)
            if existing is None:
                existing = Change("replace", urn, resource["type"])
                changes.append(existing)
                unchanged.discard(urn)
            existing.kind, existing.because = "replace", sorted(set(existing.because) | {provider})


def summary(changes: list[Change], unchanged: int) -> str:
    count = {kind: sum(c.kind == kind for c in changes) for kind in ("create", "update", "replace", "delete")}
    return (
        f"{count['create']} to create, {count['update']} to update, {count['replace']} to replace, "
        f"{count['delete']} to delete, {unchanged} unchanged"
    )


def report(changes: list[Change], unchanged: int, out=None) -> int:
    out = out or sys.stdout  # looked up per call: stdout may have been replaced since import
    for change in changes:
        print(change.line(), file=out)
        for path, old, new in change.values:
            for line in render(path, old, new):
                print(line, file=out)
    guarded = [c for c in changes if c.guarded]
    for change in guarded:
        print(
            f"blocked: {change.kind} of {change.type} {change.urn} (protected or stateful; acknowledge with "
            f"--allow {shlex.quote(change.acknowledgement)})",
            file=out,
        )
    refused = [c for c in changes if c.refused]
    for change in refused:
        print(
            f"blocked: {change.refused}: {change.type} {change.urn} (acknowledge with --allow "
            f"{shlex.quote(change.acknowledgement)} only for a stack that was never deployed)",
            file=out,
        )
    print(summary(changes, unchanged), file=out)
    return 3 if guarded or refused else 0


def read_graph(directory: Path) -> dict:
    return json.loads((Path(directory) / "graph.json").read_text())


def synth_at(tree: Path, stack: str, out: Path, *, check_support: bool = True, folder: str = "") -> None:
    """``check_support=False`` for the base side: an old commit's Kubernetes version may be out of support
    today, and its graph is still what is deployed."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if not check_support:
        env["PICTURESOCIAL_SKIP_SUPPORT_CHECK"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "tools.synth", stack, "--project", str(tree / folder), "--out", str(out)],
        cwd=tree,
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"synth of {stack} in {tree} failed: {last}")


def synth_here(stack: str, out: Path, folder: str = "") -> None:
    """The working tree's side, in this process: its code is the code already loaded (the base side needs a
    process of its own, with the base commit's code)."""
    from tools.offline import SynthError, synthesize
    from tools.synth import write

    try:
        write(synthesize(stack, root=ROOT / folder), out)
    except SynthError as exc:
        raise RuntimeError(
            f"synth of {stack} in {ROOT / folder} failed: {str(exc).splitlines()[-1]}"
        ) from None


class AcknowledgementError(Exception):
    """An acknowledgement that is malformed or matched no blocked change: bad input, exit 2."""


ACK = re.compile(r"urn:pulumi:(?P<stack>[^:]+)::(?P<project>[^:]+)::\S+=\S+")


def read_acknowledgements(given: list[str], file: Path | None) -> dict[str, str]:
    """Acknowledgement -> where it was given (``--allow``, or ``<file>:<line>``)."""
    found = dict.fromkeys(given, "--allow")
    if file is not None and file.exists():
        for number, line in enumerate(file.read_text().splitlines(), 1):
            text = line.split("#", 1)[0].strip()
            if text:
                found[text] = f"{file}:{number}"
    for ack, where in found.items():
        if not ACK.fullmatch(ack):
            raise AcknowledgementError(
                f"{where}: {ack!r} is not an acknowledgement: write it as the blocked: line prints it, "
                "URN=delete, URN=<input path>,... or URN=replace"
            )
    return found


def _scope(urn: str) -> tuple[str, str]:
    match = ACK.match(urn)
    return (match.group("stack"), match.group("project")) if match else ("", "")


def unused(acks: dict[str, str], changes: list[Change], diffed: set[tuple[str, str]] | None) -> int:
    """Every acknowledgement must have let a blocked change through, in a stack this run diffed (every stack
    when ``diffed`` is None): one left over names a change that is no longer in this diff. One error line
    each, and 2 (bad input; a blocked change's 3 still wins), or 0."""
    used = {c.acknowledgement for c in changes if c.acknowledged}
    left = [
        (ack, where)
        for ack, where in acks.items()
        if ack not in used and (diffed is None or _scope(ack) in diffed)
    ]
    for ack, where in left:
        print(
            f"error: {where}: {ack} matched no blocked change: it acknowledges a change this diff does not "
            "make (deployed already, or changed since): remove it",
            file=sys.stderr,
        )
    return 2 if left else 0


def diff_against_base(
    ref: str,
    stacks: list[str] | None,
    acks: dict[str, str],
    projects: list[str] | None = None,
) -> int:
    with tempfile.TemporaryDirectory(prefix="picturesocial-diff-") as tmp:
        base_tree = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(base_tree), ref],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        try:
            code = 0
            seen: list[Change] = []
            diffed: set[tuple[str, str]] = set()
            for project, folder in PROJECTS.items():
                if projects and project not in projects:
                    continue
                for stack in stacks or discover(ROOT / folder):
                    if stack not in discover(ROOT / folder):
                        continue
                    name = f"{folder}/{stack}" if folder else stack
                    new_dir, old_dir = (
                        Path(tmp) / "new" / project / stack,
                        Path(tmp) / "old" / project / stack,
                    )
                    synth_here(stack, new_dir, folder)
                    if (base_tree / folder / f"Pulumi.{stack}.yaml").exists():
                        synth_at(base_tree, stack, old_dir, check_support=False, folder=folder)
                        old = read_graph(old_dir)
                    else:  # a stack (or project) added in this change: everything is a create
                        old = {"resources": []}
                    print(f"== {name}: {ref} -> working tree")
                    new = read_graph(new_dir)
                    diffed.add((new["stack"], new["project"]))
                    changes, unchanged = diff(old, new, allow=set(acks))
                    seen += changes
                    code = max(code, report(changes, unchanged))
                    print(cost.section_line(old, new, base_tree / folder, ROOT / folder, stack))
            # With --stack or --project, an acknowledgement for a stack left out of this run is not judged.
            return max(code, unused(acks, seen, diffed if stacks or projects else None))
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, capture_output=True
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.diff", description=__doc__.split("\n")[0])
    parser.add_argument("old", nargs="?", type=Path, help="directory with the old graph.json")
    parser.add_argument("new", nargs="?", type=Path, help="directory with the new graph.json")
    parser.add_argument("--base", help="git ref to synthesize and compare the working tree with")
    parser.add_argument(
        "--stack", action="append", help="with --base: only these stacks (default: every stack)"
    )
    parser.add_argument(
        "--project",
        action="append",
        choices=sorted(PROJECTS),
        help="with --base: only these projects (default: every project)",
    )
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="URN=WHAT",
        help="acknowledge one blocked change, as its blocked: line prints it (URN=delete, URN=path,...)",
    )
    parser.add_argument(
        "--allow-file",
        type=Path,
        help="a file of acknowledgements, one per line (# comments); reviewed in the PR",
    )
    args = parser.parse_args(argv)
    try:
        acks = read_acknowledgements(args.allow, args.allow_file)
        if args.base:
            return diff_against_base(args.base, args.stack, acks, args.project)
        if not (args.old and args.new):
            parser.error("give OLD and NEW directories, or --base REF")
        changes, unchanged = diff(read_graph(args.old), read_graph(args.new), allow=set(acks))
        return max(report(changes, unchanged), unused(acks, changes, None))
    except AcknowledgementError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, FileNotFoundError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        print(f"error: {detail.strip().splitlines()[-1] if detail.strip() else exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
