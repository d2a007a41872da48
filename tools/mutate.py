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

A control run goes first, beside them: the unmutated copy through the same steps must pass every test, or
no verdict means anything (a test that fails in every seeded copy would "catch" every mutation). A step that
crashes (a traceback from `make snapshot`, pytest exit 3-5) gives no verdict: ERROR.

Exit 0 when every mutation is caught, 1 when one survived or gave no verdict (named in the report), 2 when a
mutation no longer applies (its anchor moved; --check runs only that part, in a second) or the control run
failed. Not part of `make test`: a mutation costs a synth of every stack and a suite run, 20-60 s here.
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
# The check that each mutation still applies to the unmutated tree: in a mutated copy it fails by
# construction, so it is left out of the run rather than credited with a catch (the rest of
# tests/test_mutations.py runs: it tests this tool and the graphs it seeds).
ANCHOR_CHECK = "tests/test_mutations.py::test_every_listed_mutation_still_applies_and_changes_its_file"
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
    mutation: Mutation | None  # None: the control run, of the unmutated copy
    stage: str  # "settings" | "tests" | "survived" | "error" (a step crashed: no verdict)
    caught_by: list[str] = field(default_factory=list)
    seconds: float = 0.0


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


def verdict(snapshot: subprocess.CompletedProcess[str], suite: subprocess.CompletedProcess[str] | None):
    """(stage, lines) of one run from its two steps: `make snapshot`'s and the suite's (None when the snapshot
    step stopped the run)."""
    if snapshot.returncode == 2:  # tools.snapshot: a stack does not synthesize (the settings layer's line)
        return "settings", [f"make snapshot refused: {_last_line(snapshot.stderr or snapshot.stdout)}"]
    if snapshot.returncode != 0 or suite is None:
        crash = _last_line(snapshot.stderr or snapshot.stdout)
        return "error", [f"make snapshot crashed (exit {snapshot.returncode}): {crash}"]
    caught = catchers(suite.stdout)
    if suite.returncode == 0 or (suite.returncode == 1 and not caught):
        return "survived", failures(suite.stdout)
    if caught:
        return "tests", caught
    if suite.returncode == 2:  # stopped before the tests: conftest's stop on a stack that does not synthesize
        return "tests", [f"pytest exit 2: {_last_line(suite.stderr or suite.stdout)}"]
    # 3 internal error, 4 usage error, 5 no test ran, or killed: the suite did not run, no verdict
    return "error", [f"pytest exit {suite.returncode}: {_last_line(suite.stderr or suite.stdout)}"]


def run_one(mutation: Mutation | None, source: Path = ROOT) -> Outcome:
    """One mutation's run, or with None the control run: the unmutated copy through the same steps, which
    must pass every test (or no verdict of the others means anything)."""
    started = time.monotonic()
    python = str(source / ".venv" / "bin" / "python")
    name = mutation.id if mutation is not None else "control"
    with tempfile.TemporaryDirectory(prefix=f"mutate-{name}-") as tmp:
        copy = Path(tmp) / "repo"
        graphs = Path(tmp) / "graphs"
        copy_project(source, copy)
        if mutation is not None:
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
        suite = None
        if snapshot.returncode == 0:
            suite = run(
                "-m", "pytest", "-q", "-x", "--slow-last", "-p", "no:xdist", "-p", "no:cacheprovider", "-rfE",
                "--no-header", "--basetemp", str(Path(tmp) / "pytest"),
                "--deselect", ANCHOR_CHECK, "--ignore", SNAPSHOT_TESTS,
            )  # fmt: skip
        stage, lines = verdict(snapshot, suite)
        return Outcome(mutation, stage, lines, time.monotonic() - started)


def _short(text: str, width: int = 150) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def report(outcome: Outcome, index: int, total: int, out=None) -> None:
    out = out or sys.stdout
    m = outcome.mutation
    assert m is not None, "the control run is reported by main"
    said = {"settings": "caught (settings)", "tests": "caught", "survived": "SURVIVED", "error": "ERROR"}
    print(f"[{index}/{total}] {m.id}: {said[outcome.stage]} in {outcome.seconds:.0f}s  ({m.file})", file=out)
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
        control = pool.submit(run_one, None)
        for index, outcome in enumerate(pool.map(run_one, chosen), 1):  # reported in the list's order
            report(outcome, index, len(chosen))
            outcomes.append(outcome)
        checked = control.result()
    if checked.stage != "survived" or checked.caught_by:
        print(
            f"error: the control run (the unmutated copy, same steps) did not pass ({checked.stage}): "
            + "; ".join(_short(line) for line in checked.caught_by[:3])
            + ". No verdict above can be trusted.",
            file=sys.stderr,
        )
        return 2
    survived = [o.mutation.id for o in outcomes if o.stage == "survived" and o.mutation]
    errors = [o.mutation.id for o in outcomes if o.stage == "error" and o.mutation]
    caught = len(outcomes) - len(survived) - len(errors)
    print(
        f"{caught} of {len(outcomes)} mutations caught (the control run passed every test)"
        + (f"; survived: {', '.join(survived)}" if survived else "")
        + (f"; no verdict (a step crashed): {', '.join(errors)}" if errors else "")
    )
    return 1 if survived or errors else 0


if __name__ == "__main__":
    sys.exit(main())
