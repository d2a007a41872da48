"""Do the gates catch the regressions they exist for? Applies each mutation of tools/data/mutations.yaml.

    python -m tools.mutate [--only ID ...] [--check] [--jobs N]

Per mutation, in a temporary copy of the working tree (sharing the project's virtualenvs): apply the one
change, regenerate the snapshots as a hurried developer would (`make snapshot`), run the suite and print what
caught it: the settings layer (the program refuses to synthesize) or the first test or policy that failed.
A failure of tests/test_snapshots.py does not count (it only says "regenerate me"), so that file is not run.

The suite runs in one process seeded with the graphs the snapshot step just synthesized (nothing is
synthesized twice), stops at its first failure (-x: one failure is a catch) and runs the slow tests last
(--slow-last); a mutation that survives has run every test. --jobs mutations run at once (default: one per
core), each in its own copy.

Exit 0 when every mutation is caught, 1 when one survived (named in the report), 2 when a mutation no
longer applies (its anchor moved; --check runs only that part, in a second). Not part of `make test`: a
mutation costs a synth of every stack and a suite run, 20-60 s here.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from tools import ROOT

MUTATIONS = ROOT / "tools" / "data" / "mutations.yaml"
SNAPSHOT_TESTS = "tests/test_snapshots.py"
# Where the snapshot step saves its graphs, for the suite's run to load (tests/conftest.py).
SEEDED_GRAPHS = "PICTURESOCIAL_TEST_GRAPHS"
# Checks that each mutation still applies to the unmutated tree: in a mutated copy it fails by construction,
# so it is left out of the run rather than credited with a catch.
MUTATION_TESTS = "tests/test_mutations.py"
# What a copy of the project leaves out: the virtualenvs are linked, not copied; build output and caches
# are regenerated so that nothing of the unmutated program leaks into the run.
NOT_COPIED = (
    ".venv",
    ".venv-checkov",
    "build",
    ".git",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
)
LINKED = (".venv", ".venv-checkov")
TIMEOUT_SECONDS = 900


class MutationError(Exception):
    """A mutation that no longer applies: one line naming it and what is wrong."""


class Mutation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    why: str
    file: str
    find: str
    replace: str
    after: str | None = None
    all: bool = False

    def apply(self, text: str) -> str:
        """The file's text with this mutation applied; MutationError if the anchor is missing or ambiguous."""
        start = 0
        if self.after is not None:
            count = text.count(self.after)
            if count != 1:
                raise MutationError(
                    f"{self.id}: `after` text found {count} times in {self.file}, expected once"
                )
            start = text.index(self.after) + len(self.after)
        head, body = text[:start], text[start:]
        pattern = self._pattern()
        matches = list(pattern.finditer(body))
        if not matches:
            raise MutationError(f"{self.id}: `find` text not found in {self.file}")
        if len(matches) > 1 and not (self.all or self.after is not None):
            raise MutationError(
                f"{self.id}: `find` text found {len(matches)} times in {self.file}: "
                "make it unique, scope it with `after`, or set `all: true`"
            )
        count = 0 if self.all else 1
        mutated = head + pattern.sub(self._replacement, body, count=count)
        if mutated == text:
            raise MutationError(f"{self.id}: applying it leaves {self.file} unchanged")
        return mutated

    @property
    def is_block(self) -> bool:
        return self.find.endswith("\n")

    def _pattern(self) -> re.Pattern[str]:
        if not self.is_block:
            return re.compile(re.escape(self.find))
        # Whole lines at whatever indentation they have in the file; relative indentation must agree.
        lines = self.find.splitlines()
        rest = "".join(r"(?P=indent)" + re.escape(line) + r"\n" if line else r"\n" for line in lines[1:])
        return re.compile(r"^(?P<indent>[ \t]*)" + re.escape(lines[0]) + r"\n" + rest, re.MULTILINE)

    def _replacement(self, match: re.Match[str]) -> str:
        if not self.is_block:
            return self.replace
        indent = match.group("indent")
        return "".join(f"{indent}{line}\n" if line else "\n" for line in self.replace.splitlines())


def load(path: Path = MUTATIONS) -> list[Mutation]:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise MutationError(f"{path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise MutationError(f"{path}: not valid YAML: {problem}{where}") from None
    if not isinstance(raw, list):
        raise MutationError(f"{path}: expected a list of mutations")
    mutations = []
    for index, entry in enumerate(raw):
        try:
            mutations.append(Mutation.model_validate(entry))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise MutationError(f"{path}: [{index}].{where}: {error['msg']}") from None
    ids = [m.id for m in mutations]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise MutationError(f"{path}: duplicate ids {', '.join(duplicates)}")
    return mutations


def check(mutation: Mutation, root: Path = ROOT) -> None:
    """MutationError unless the mutation applies to the file under ``root`` (nothing is written)."""
    path = root / mutation.file
    if not path.is_file():
        raise MutationError(f"{mutation.id}: {mutation.file} does not exist")
    mutation.apply(path.read_text())


def apply_to(root: Path, mutation: Mutation) -> None:
    check(mutation, root)
    path = root / mutation.file
    path.write_text(mutation.apply(path.read_text()))


@dataclass
class Outcome:
    mutation: Mutation
    stage: str  # "settings" | "tests" | "survived"
    caught_by: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def caught(self) -> bool:
        return self.stage in ("settings", "tests")


# A test id's parameters may hold spaces (`[replace a role's boundary]`): the id runs to the first `]` that
# the reason's ` - ` or the line's end follows.
_FAILED = re.compile(r"^(FAILED|ERROR) ([^\s\[]+(?:\[.*?\](?= - |$))?)(?: - (.*))?$")


def failures(pytest_output: str) -> list[str]:
    """`test id - first line of the reason` for each failed or erroring test of pytest's -r summary."""
    found = []
    for line in pytest_output.splitlines():
        match = _FAILED.match(line.strip())
        if match:
            found.append(f"{match.group(2)}" + (f" - {match.group(3)}" if match.group(3) else ""))
    return found


def catchers(pytest_output: str) -> list[str]:
    """The failures that count as catching a mutation: all but the snapshot comparison."""
    return [f for f in failures(pytest_output) if not f.startswith(SNAPSHOT_TESTS)]


def copy_project(source: Path, target: Path) -> None:
    """A copy of the working tree, committed as the base of the mutation (the diff tool's `--base HEAD`)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*NOT_COPIED), symlinks=True)
    git = ["git", "-c", "user.name=mutate", "-c", "user.email=mutate@localhost", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run([*git, *args], cwd=target, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    for name in LINKED:
        if (source / name).exists():
            (target / name).symlink_to(source / name)


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"


def run_one(mutation: Mutation, source: Path = ROOT) -> Outcome:
    started = time.monotonic()
    python = str(source / ".venv" / "bin" / "python")
    with tempfile.TemporaryDirectory(prefix=f"mutate-{mutation.id}-") as tmp:
        copy = Path(tmp) / "repo"
        graphs = Path(tmp) / "graphs"
        copy_project(source, copy)
        apply_to(copy, mutation)
        env = {**os.environ, "CI": "true", "PYTHONDONTWRITEBYTECODE": "1", SEEDED_GRAPHS: str(graphs)}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [python, *args],
                cwd=copy,
                env=env,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=TIMEOUT_SECONDS,
            )

        snapshot = run("-m", "tools.snapshot", "--graphs", str(graphs))
        if snapshot.returncode != 0:
            reason = _last_line(snapshot.stderr or snapshot.stdout)
            return Outcome(
                mutation, "settings", [f"make snapshot refused: {reason}"], time.monotonic() - started
            )
        suite = run(
            "-m", "pytest", "-q", "-x", "--slow-last", "-p", "no:xdist", "-p", "no:cacheprovider", "-rfE",
            "--no-header", "--basetemp", str(Path(tmp) / "pytest"),
            "--ignore", MUTATION_TESTS, "--ignore", SNAPSHOT_TESTS,
        )  # fmt: skip
        caught = catchers(suite.stdout)
        if suite.returncode == 0 or (suite.returncode == 1 and not caught):
            return Outcome(mutation, "survived", failures(suite.stdout), time.monotonic() - started)
        if not caught:  # pytest itself stopped (exit 2..4): the suite could not run, say why
            caught = [f"pytest exit {suite.returncode}: {_last_line(suite.stderr or suite.stdout)}"]
        return Outcome(mutation, "tests", caught, time.monotonic() - started)


def _short(text: str, width: int = 150) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def report(outcome: Outcome, index: int, total: int, out=None) -> None:
    out = out or sys.stdout
    m = outcome.mutation
    verdict = {"settings": "caught (settings)", "tests": "caught", "survived": "SURVIVED"}[outcome.stage]
    print(f"[{index}/{total}] {m.id}: {verdict} in {outcome.seconds:.0f}s  ({m.file})", file=out)
    if outcome.stage == "survived":
        print(f"      would ship: {m.why}", file=out)
    shown = outcome.caught_by[:3]
    for line in shown:
        print(f"      {_short(line)}", file=out)
    if len(outcome.caught_by) > len(shown):
        print(f"      ... and {len(outcome.caught_by) - len(shown)} more", file=out)
    out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutate", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="ID", help="run these mutations only")
    parser.add_argument("--check", action="store_true", help="only check that every mutation still applies")
    parser.add_argument(
        "--mutations", type=Path, default=MUTATIONS, help="the list (default tools/data/mutations.yaml)"
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="mutations run at once (default: one per core)"
    )
    args = parser.parse_args(argv)
    try:
        mutations = load(args.mutations)
        unknown = sorted(set(args.only or ()) - {m.id for m in mutations})
        if unknown:
            raise MutationError(f"unknown mutation ids: {', '.join(unknown)}")
        chosen = [m for m in mutations if not args.only or m.id in args.only]
        for mutation in chosen:  # every anchor, before spending a minute on the first run
            check(mutation)
    except MutationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{len(chosen)} mutations apply")
        return 0
    outcomes = []
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:  # each job is a subprocess
        for index, outcome in enumerate(pool.map(run_one, chosen), 1):  # reported in the list's order
            report(outcome, index, len(chosen))
            outcomes.append(outcome)
    survived = [o.mutation.id for o in outcomes if not o.caught]
    caught = len(outcomes) - len(survived)
    print(
        f"{caught} of {len(outcomes)} mutations caught"
        + (f"; survived: {', '.join(survived)}" if survived else "")
    )
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
