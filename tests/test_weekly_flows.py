"""The two changes app teams make every week, done as the README says in a copy of the repository: after `make
snapshot` (python -m tools.snapshot), the tests that read the live files pass. And a bad stack value stops the
suite with its one line before any test runs."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tools import ROOT
from tools.offline import Graph
from tools.offline.stacks import discover
from tools.snapshot import save_graphs, snapshot

pytestmark = pytest.mark.slow

# A new API as the README's catalog section shows it. Its name is chosen at run time among names the catalog
# does not hold (unique_api_name), so a user's API of any name never collides with it.
NEW_API = """
namespace: social
port: 5400
probes:
  readiness: {tcp: {}}
  liveness: {tcp: {}}
resources:
  requests: {cpu: 100m, memory: 128Mi}
  limits: {cpu: 200m, memory: 256Mi}
"""


def round_trip() -> YAML:
    """ruamel.yaml's round-trip mode: comments, key order and flow or block style survive an edit."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def edit_yaml(path: Path, edit) -> None:
    """Loads ``path`` as YAML, lets ``edit`` change the document, writes it back: whatever style the file is
    written in (flow mappings, block style, comments), the edit is made on the data, never on the text."""
    yaml = round_trip()
    document = yaml.load(path.read_text())
    edit(document)
    out = io.StringIO()
    yaml.dump(document, out)
    path.write_text(out.getvalue())


def unique_api_name(catalog: dict) -> str:
    taken = set(catalog["apis"])
    return next(name for n in range(1000) if (name := f"weekly-flow-{n}") not in taken)


def copy_of_repository(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        copy,
        symlinks=True,
        # the tools' caches (mypy's: hundreds of MB) are not part of the repository
        ignore=shutil.ignore_patterns(
            ".venv*", "build", ".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"
        ),
    )
    return copy


def run(copy: Path, *args: str) -> subprocess.CompletedProcess:
    """The suite's command in the copy, a process of its own; only the live stacks are synthesized before the
    tests (the ones these runs need read nothing else)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=copy,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(copy), "PICTURESOCIAL_PRESYNTH": "live"},
    )


def pytest_in_a_fork(copy: Path, args: list[str], graphs: Path) -> tuple[int, str]:
    """``pytest <args>`` in the copy, run by a child forked from this process: the third-party packages it
    imported (the providers' SDKs, boto3, moto) and the SDK's warm caches are shared instead of loaded again
    (a fresh interpreter spent ~5 s of its ~9 s on that). Everything of the repository is imported anew from
    the copy: its modules are dropped from the child's module table and its path entries point at the copy.
    The child's output goes to a file; its exit code is pytest's."""
    output = copy.parent / "pytest-output.txt"
    pid = os.fork()
    if pid == 0:  # the child: never returns into this test
        code = 70  # EX_SOFTWARE, if pytest itself could not run
        try:
            fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - the child's whole life
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            os.chdir(copy)
            os.environ["PICTURESOCIAL_TEST_GRAPHS"] = str(graphs)

            def ours(path: str) -> bool:  # the repository's files, not its virtualenvs'
                return (path == str(ROOT) or path.startswith(f"{ROOT}{os.sep}")) and not path.startswith(
                    f"{ROOT}{os.sep}.venv"
                )

            for name, module in list(sys.modules.items()):
                if ours(getattr(module, "__file__", None) or ""):
                    del sys.modules[name]
            sys.path[:] = [str(copy) + p[len(str(ROOT)) :] if ours(p) else p for p in sys.path]
            # This session's assertion rewriter answers for this session's test files only.
            sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "AssertionRewritingHook"]
            code = int(pytest.main(args))
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.read_text()


def live_test_files(copy: Path) -> list[str]:
    """The test files holding tests marked `live` (what reads the live files): the run collects only them."""
    return sorted(
        str(path.relative_to(copy))
        for path in (copy / "tests").glob("test_*.py")
        if "mark.live" in path.read_text()
    )


def add_an_api(copy: Path) -> None:
    """A catalog entry, and a tag in every stack file (README, "The APIs")."""
    names = []

    def add(catalog):
        names.append(unique_api_name(catalog))
        catalog["apis"][names[0]] = round_trip().load(NEW_API)

    edit_yaml(copy / "workloads" / "catalog.yaml", add)
    for stack in discover(copy):
        edit_yaml(
            copy / f"Pulumi.{stack}.yaml",
            lambda d: d["config"]["picturesocial:apis"].update({names[0]: {"tag": "0.1.0"}}),
        )


def bump_a_tag(copy: Path) -> None:
    """In dev's stack file rewritten first as any YAML tool writes it (block style, no comments)."""
    path = copy / "Pulumi.dev.yaml"
    plain = YAML(typ="safe", pure=True)
    plain.default_flow_style = False
    document = plain.load(path.read_text())
    out = io.StringIO()
    plain.dump(document, out)
    path.write_text(out.getvalue())

    def bump(document):
        apis = document["config"]["picturesocial:apis"]
        apis[min(apis)]["tag"] = "9.9.9"

    edit_yaml(path, bump)


def every_optional_feature(copy: Path) -> None:
    """Staging with each documented option on (configuration table, README "Public edge" and "Karpenter"): the
    edge's JWT authorizer, CORS and custom domain, and two more Karpenter pools, one of them the README's GPU
    pool. The values are the stack's own account and region."""

    def switch_on(document):
        config = document["config"]
        region, (account,) = config["aws:region"], config["aws:allowedAccountIds"]
        config["picturesocial:edge"].update(
            {
                "cors": {"allowOrigins": ["https://app.weekly-flow.example"]},
                "domain": {
                    "name": "api.weekly-flow.example",
                    "certificateArn": (
                        f"arn:aws:acm:{region}:{account}:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
                    ),
                    "hostedZoneId": "Z0123456789ABCDEFGHIJ",
                },
                "jwt": {
                    "issuer": f"https://cognito-idp.{region}.amazonaws.com/{region}_WeeklyFlow",
                    "audiences": ["weekly-flow-web"],
                },
            }
        )
        karpenter = config["picturesocial:karpenter"]
        karpenter["enabled"] = True
        pools = karpenter.setdefault("nodePools", {})
        pools["weekly-flow-gpu"] = {
            "capacityTypes": ["on-demand"],
            "instanceCategories": ["g"],
            "limits": {"cpu": "32", "memory": "128Gi"},
            "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
            "consolidateAfter": "5m",
            "disruptionBudgets": [{"nodes": "1"}],
        }
        pools["weekly-flow-arm"] = {
            "capacityTypes": ["spot"],
            "instanceCategories": ["c", "m"],
            "architectures": ["arm64"],
            "limits": {"cpu": "16", "memory": "64Gi"},
        }

    edit_yaml(copy / "Pulumi.staging.yaml", switch_on)


def test_the_weekly_changes_keep_the_suite_green_after_make_snapshot(tmp_path, capsys):
    """The three changes, then `make snapshot`'s step (python -m tools.snapshot, in this process: the program
    is the same code, only the copy's catalog and stack files differ), which rewrites the snapshots of the
    stacks they touch and no other; then the tests that read the live files. One snapshot and one run of the
    live subset for the three changes: each costs a synth of every stack, and the suite has a time budget."""
    copy = copy_of_repository(tmp_path)
    for change in (add_an_api, bump_a_tag, every_optional_feature):
        change(copy)
    synthesized: dict[tuple[str, str], Graph] = {}
    assert snapshot(copy, keep=synthesized) == 0
    wrote = capsys.readouterr().out.splitlines()
    assert wrote == [f"wrote tests/snapshots/{stack}.yaml" for stack in ("dev", "prod", "staging")]
    # Every stack's graph handed over, the unchanged bootstrap's too: the run below synthesizes nothing.
    every_stack = [("", stack) for stack in discover(copy)]
    every_stack += [("bootstrap", stack) for stack in discover(copy / "bootstrap")]
    assert sorted(synthesized) == sorted(every_stack)
    live = live_test_files(copy)
    graphs = save_graphs(synthesized, tmp_path / "graphs")
    arguments = [
        "-q",
        "-p",
        "no:cacheprovider",
        "--basetemp",
        str(tmp_path / "run"),
        "-m",
        "live and not slow",
    ]
    code, output = pytest_in_a_fork(copy, [*arguments, *live], graphs)
    assert code == 0, output[-5000:]
    assert " passed" in output and " failed" not in output


def test_a_bad_stack_value_stops_the_suite_with_its_one_line(tmp_path):
    copy = copy_of_repository(tmp_path)
    groups = []

    def raise_a_minimum(document):
        # The first node group's minimum, above whatever its maximum is.
        name, group = next(iter(document["config"]["picturesocial:nodeGroups"].items()))
        group["minSize"] = group["maxSize"] + 1
        groups.append((name, group["minSize"]))

    edit_yaml(copy / "Pulumi.staging.yaml", raise_a_minimum)
    ((name, minimum),) = groups
    # Not the slow tests, in case the change ever stopped failing: they run the suite in a copy again.
    result = run(copy, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        f"error: Pulumi.staging.yaml: picturesocial:nodeGroups.{name}.minSize: {minimum} "
        "is greater than maxSize "
    )
    assert lines[-1] == "Exit: stack staging does not synthesize; no test ran"
    assert result.stdout.strip() == ""
