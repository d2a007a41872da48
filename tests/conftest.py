"""Fixtures: the desired-state graphs of the live stacks and of the tests' own fixture project.

Before any test runs, every stack is synthesized once (live: the repository's stack files; fixture:
tests/fixtures/project). A stack that does not synthesize stops the run there with its one-line error and exit
2, instead of failing every test that uses it. The graphs are cached in build/test-graphs/ for the xdist
workers, which load them rather than synthesizing again.

Behaviour tests use the fixture project; only tests marked `live` read the live files, and they assert what
must hold for any catalog (policies, validators, snapshots), so adding an API keeps them green.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import gc
import multiprocessing
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import pytest
import yaml

import settings
from tools import ROOT
from tools.offline import Graph, SynthError, synthesize
from tools.offline.stack_config import StackConfigError, load_stack_config
from tools.offline.stacks import discover

# Every boto3 session the tests and the tools under test create parses botocore's service models again (a new
# session, a new loader): most of a moto test's time. One loader for the whole run returns the same models.
_loader = botocore.loaders.create_loader()
botocore.session.create_loader = lambda search_path_string=None: _loader

FIXTURE = ROOT / "tests" / "fixtures" / "project"
# Every synth in the tests (in this process, its workers and the tools they start) checks the Kubernetes
# version against the EKS calendar on this fixed day, so that behaviour tests do not expire with a version;
# the live stacks alone are checked on the clock's day (pytest_configure), as `pulumi up` would be.
FIXTURE_TODAY = dt.date(2026, 11, 23)
os.environ["PICTURESOCIAL_TODAY"] = FIXTURE_TODAY.isoformat()
# PICTURESOCIAL_TEST_GRAPHS: a folder of graphs synthesized by the caller (`make mutate`, or a test that runs
# the suite in a repository copy after synthesizing its stacks itself): loaded as they are, nothing
# synthesized first. Taken out of the environment: a process a test starts (a pytest of its own in a copy
# with a bad stack file) must synthesize its own stacks, not load these (pytest_configure_node hands the
# folder to xdist's workers).
SEEDED = os.environ.pop("PICTURESOCIAL_TEST_GRAPHS", None)
CACHE = Path(SEEDED) if SEEDED else ROOT / "build" / "test-graphs"
WORKER_SEEDED = "picturesocial_test_graphs"
BOOTSTRAP = ROOT / "bootstrap"
PROJECTS = {"live": ROOT, "bootstrap": BOOTSTRAP, "fixture": FIXTURE}


def clock() -> dt.date:
    """The day the live stacks are held to the EKS calendar on: the clock's, as `pulumi up` would."""
    return dt.datetime.now(dt.UTC).date()


def _cache_file(project: str, stack: str, cache: Path | None = None) -> Path:
    return (cache or CACHE) / project / f"{stack}.json"


def _presynth(project: str, stack: str) -> list[str]:
    """Synthesizes one stack into the cache; its error lines, or none."""
    root = PROJECTS[project]
    try:
        graph = synthesize(stack, root=root, today=clock() if project != "fixture" else None)
    except SynthError as exc:
        where = "" if project == "live" else f" ({root.relative_to(ROOT)})"
        return [f"error: {line}{where}" for line in str(exc).splitlines()]
    graph.save(_cache_file(project, stack))
    return []


def _settings_errors(project: str, stack: str) -> list[str]:
    """The platform's settings layer alone (no program run, a few milliseconds): a bad stack value stops the
    run with the same line the synth would print, before any stack is synthesized."""
    if project == "bootstrap":  # its own settings, checked by its synth (a fraction of a second)
        return []
    root = PROJECTS[project]
    try:
        name, config, _ = load_stack_config(root, stack)
        today = clock() if project == "live" else FIXTURE_TODAY
        settings.load(config, project=name, stack=stack, project_dir=root, today=today)
    except (StackConfigError, settings.SettingsError) as exc:
        where = "" if project == "live" else f" ({root.relative_to(ROOT)})"
        return [f"error: {line}{where}" for line in str(exc).splitlines()]
    return []


def _stop_on(jobs: list[tuple[str, str]], results: list[list[str]]) -> None:
    """The first stack with errors, in stack order as a sequential run would report it, ends the run."""
    for (_, stack), errors in zip(jobs, results, strict=True):
        if errors:
            for line in errors:
                sys.stderr.write(line + "\n")
            pytest.exit(f"stack {stack} does not synthesize; no test ran", returncode=2)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist's controller, per worker: the seeded folder, which the environment no longer carries."""
    node.workerinput[WORKER_SEEDED] = SEEDED


def pytest_configure(config: pytest.Config) -> None:
    global CACHE
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has synthesized already
        if config.workerinput.get(WORKER_SEEDED):
            CACHE = Path(config.workerinput[WORKER_SEEDED])
        return
    if config.option.collectonly:
        return
    if SEEDED:
        return  # the caller synthesized the graphs (make mutate, tests/test_weekly_flows.py): nothing to do
    shutil.rmtree(CACHE, ignore_errors=True)
    # PICTURESOCIAL_PRESYNTH=live: a run of the live subset (`-m live`) pre-synthesizes only the live stacks;
    # a test that still asks for a fixture graph synthesizes it when it does (_load).
    wanted = os.environ.get("PICTURESOCIAL_PRESYNTH", ",".join(PROJECTS)).split(",")
    jobs = [
        (project, stack)
        for project, root in PROJECTS.items()
        if project in wanted
        for stack in discover(root)
    ]
    _stop_on(jobs, [_settings_errors(project, stack) for project, stack in jobs])
    # The first platform stack here: its synth imports the providers' modules it uses and fills the SDK's type
    # caches (~2 s, more than a synth itself), which processes forked afterwards share instead of each paying
    # again. Meanwhile one process forked before it synthesizes the bootstrap's stacks (other modules, small
    # programs); then the other platform stacks on every core. Errors are reported in stack order.
    platform = [job for job in jobs if job[0] != "bootstrap"]
    bootstrap = [job for job in jobs if job[0] == "bootstrap"]
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as aside:
        early = aside.submit(_presynth_all, bootstrap)  # forks now, before the warm-up below
        results = dict(zip(platform[:1], [_presynth(*platform[0])] if platform else [], strict=True))
        rest = platform[1:] if not any(results.values()) else []
        workers = min(len(rest), os.cpu_count() or 1)
        if workers > 1:
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
                results.update(zip(rest, pool.map(_presynth, *zip(*rest, strict=True)), strict=True))
        else:
            results.update({job: _presynth(*job) for job in rest})
        results.update(zip(bootstrap, early.result(), strict=True))
    _stop_on([job for job in jobs if job in results], [results[job] for job in jobs if job in results])


def _presynth_all(jobs: list[tuple[str, str]]) -> list[list[str]]:
    return [_presynth(project, stack) for project, stack in jobs]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Every test process holds the providers' SDKs (tens of thousands of classes) and the session's graphs
    for its whole life: the collector's full passes re-walked them all between tests. What exists once the
    tests are collected is set aside (gc.freeze) and collections are made rarer, as the synth does
    (tools/offline/engine.py): measured ~9% less CPU over the moto, policy and diff tests."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow-last",
        action="store_true",
        help="the tests marked slow after the others (`make mutate`'s runs, which stop at a first failure)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow tests first (stable otherwise): they start at once, and `make test`'s work stealing
    (--dist worksteal) moves the fast ones queued behind them to the other core, instead of a slow test
    starting last. With --slow-last the other way round: a run that stops at its first failure (-x) reaches
    the many fast checks first."""
    slow_last = config.getoption("--slow-last")
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None) != slow_last)


def _load(project: str, stack: str) -> Graph:
    path = _cache_file(project, stack)
    if not path.exists():  # run without the controller's hook (e.g. `pytest -p no:...`): synthesize here
        return synthesize(stack, root=PROJECTS[project], today=clock() if project != "fixture" else None)
    return Graph.read(path)


@pytest.fixture(scope="session")
def graphs() -> dict[str, Graph]:
    """The live stacks (dev, staging, prod, ...): only for tests marked `live`."""
    return {stack: _load("live", stack) for stack in discover(ROOT)}


@pytest.fixture(scope="session")
def bootstrap_graphs() -> dict[str, Graph]:
    """The bootstrap project's stacks (bootstrap/): one per account."""
    return {stack: _load("bootstrap", stack) for stack in discover(BOOTSTRAP)}


@pytest.fixture(scope="session")
def fixture_graphs() -> dict[str, Graph]:
    """The fixture project's stacks: `small` (dev-shaped) and `large` (prod-shaped)."""
    return {stack: _load("fixture", stack) for stack in discover(FIXTURE)}


@pytest.fixture(params=["small", "large"])
def fixture_graph(request, fixture_graphs) -> Graph:
    return fixture_graphs[request.param]


def offline_aws(mp: pytest.MonkeyPatch) -> None:
    """An AWS environment of test credentials and nothing of the host's, for moto: every AWS_ variable but the
    CA bundle dropped, no profile, config or credentials file read."""
    for key in [k for k in os.environ if k.startswith("AWS_") and k != "AWS_CA_BUNDLE"]:
        mp.delenv(key)
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    mp.setenv("AWS_CONFIG_FILE", "/nonexistent")
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


def fixture_config(stack: str) -> dict[str, Any]:
    return yaml.safe_load((FIXTURE / f"Pulumi.{stack}.yaml").read_text())["config"]


def synth_fixture(stack: str, **overrides: Any) -> Graph:
    """The fixture stack with whole config keys replaced (``picturesocial:network`` -> ``network``)."""
    return synthesize(
        stack,
        root=FIXTURE,
        config_overrides={
            (key if ":" in key else f"picturesocial:{key}"): value for key, value in overrides.items()
        },
    )


@pytest.fixture
def project_copy(tmp_path: Path):
    """A project directory of the fixture's shape with its own catalog and stack files, for tests that edit
    them: ``project_copy(catalog=..., stacks={"small": config})`` (dicts, written as YAML)."""

    def make(catalog: dict | str | None = None, stacks: dict[str, dict] | None = None) -> Path:
        root = tmp_path / "project"
        (root / "workloads").mkdir(parents=True, exist_ok=True)
        for name in ("__main__.py", "Pulumi.yaml"):
            if not (root / name).exists():
                (root / name).symlink_to(ROOT / name)
        text = (
            catalog
            if isinstance(catalog, str)
            else yaml.safe_dump(
                catalog or yaml.safe_load((FIXTURE / "workloads/catalog.yaml").read_text()), sort_keys=False
            )
        )
        (root / "workloads" / "catalog.yaml").write_text(text)
        for stack in discover(FIXTURE):
            (root / f"Pulumi.{stack}.yaml").write_text((FIXTURE / f"Pulumi.{stack}.yaml").read_text())
        for stack, config in (stacks or {}).items():
            (root / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
        return root

    return make


@pytest.fixture
def write_stack(tmp_path: Path):
    """Writes a stack file derived from a fixture stack's, with whole keys replaced (None deletes a key)."""

    def write(changes: dict[str, Any], base: str = "small") -> Path:
        config = fixture_config(base)
        for key, value in changes.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        path = tmp_path / f"Pulumi.{base}.yaml"
        path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
        return path

    return write
