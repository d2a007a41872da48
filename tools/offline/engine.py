"""Runs a project's program for one stack under the Pulumi mock engine and records the desired-state graph.

Only the cloud's answers are faked (tools/offline/cloud.py). The program, its config and the runtime are what
``pulumi up`` runs: config arrives in ``PULUMI_CONFIG`` as the Python language host passes it, the program
runs inside ``pulumi.runtime.run_in_stack`` as the language host runs it, and the engine's rules that mocks
skip (every resource and invoke needs a provider when its package's default provider is disabled) are enforced
here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import logging
import os
import runpy
import sys
import threading
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks

from settings import aws_limits
from tools import ROOT
from tools.offline.cloud import FakeCloud
from tools.offline.stack_config import StackConfigError, load_stack_config

SECRET = "[secret]"
UNKNOWN = "[unknown]"


class SynthError(Exception):
    """A problem the user has to fix (bad config, missing stack file): one line per problem."""


def _wire(value: Any) -> Any:
    """One property value in Pulumi's wire format as plain JSON: secrets masked, resource references as URNs,
    unknowns marked, whole-number floats (protobuf Struct has only doubles) as ints.

    The signature keys are constants of the wire protocol (pulumi sdk/proto, `rpc.py` `_special_*`; checked
    against pulumi 3.272); the SDK exposes no public name for them, so they are spelled here, once."""
    sig_key, secret_sig, resource_sig = (
        "4dabf18193072939515e22adb298388d",
        "1b47061264138c4ac30d75fd1eb44270",
        "5cf8f73096256a8f31e491e813e4eb8e",
    )
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    if isinstance(value, dict):
        sig = value.get(sig_key)
        if sig == secret_sig:
            return SECRET
        if sig == resource_sig:
            return value.get("urn")
        return {k: _wire(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == unknown:
        return UNKNOWN
    return value


def _type_only(alias: dict[str, Any]) -> bool:
    """An alias that only names an older type (pulumi-aws BucketV2, pulumi-kubernetes' HPA API versions):
    the SDKs add these to every resource of the type; they say nothing about this program."""
    spec = alias.get("spec") or {}
    return set(spec) <= {"type", "parentUrn", "noParent"} and "type" in spec


class RecordingMonitor(mocks.MockMonitor):
    """Sees every RegisterResourceRequest in full (parent, dependencies, options) and records it."""

    def __init__(self, cloud: FakeCloud, disabled_defaults: set[str]):
        super().__init__(cloud)
        self.records: dict[str, dict[str, Any]] = {}
        self.stack_outputs: dict[str, Any] = {}
        self.stack_urn = ""
        self.errors: list[str] = []
        self.disabled_defaults = disabled_defaults
        self._lock = threading.Lock()

    def _default_denied(self, package: str) -> bool:
        return package in self.disabled_defaults or "*" in self.disabled_defaults

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        urn = response.urn
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = urn
        package = request.type.split(":")[0]
        needs_provider = (request.custom and package != "pulumi") or request.remote
        has_provider = bool(request.provider) or (request.remote and package in request.providers)
        if needs_provider and not has_provider and self._default_denied(package):
            # What the engine answers (pkg/resource/deploy/source_eval.go, diag GetDefaultProviderDenied).
            self.errors.append(
                f"{urn}: Default provider for '{package}' disabled. '{request.type}' must use an "
                "explicit provider."
            )
        aliases = [json_format.MessageToDict(a) for a in request.aliases]
        record = {
            "urn": urn,
            "id": response.id or None,
            "type": request.type,
            "name": request.name,
            "parent": request.parent or None,
            "custom": bool(request.custom),
            "remote": bool(request.remote),
            # Provider references are "<urn>::<id>"; the URN is what identifies the provider.
            "provider": request.provider.rsplit("::", 1)[0] if request.provider else None,
            "providers": {pkg: ref.rsplit("::", 1)[0] for pkg, ref in sorted(request.providers.items())},
            "dependencies": sorted(set(request.dependencies)),
            "protect": bool(request.protect),
            "retainOnDelete": bool(request.retainOnDelete),
            "deleteBeforeReplace": bool(request.deleteBeforeReplace),
            "ignoreChanges": sorted(request.ignoreChanges),
            "replaceOnChanges": sorted(request.replaceOnChanges),
            "aliases": sorted(json.dumps(a, sort_keys=True) for a in aliases if not _type_only(a))
            + sorted(request.aliasURNs),
            "sdkTypeAliases": sorted(json.dumps(a, sort_keys=True) for a in aliases if _type_only(a)),
            "inputs": _wire(json_format.MessageToDict(request.object)),
        }
        with self._lock:
            self.records[urn] = record
        return response

    def ReadResource(self, request):
        """Reads (``get``, stack references) are resources of the graph too: recorded as inputs ``id`` and the
        properties the program passed."""
        response = super().ReadResource(request)
        record = {
            "urn": response.urn,
            "id": request.id,
            "type": request.type,
            "name": request.name,
            "parent": request.parent or None,
            "custom": True,
            "remote": False,
            "provider": request.provider.rsplit("::", 1)[0] if request.provider else None,
            "providers": {},
            "dependencies": sorted(set(request.dependencies)),
            "protect": False,
            "retainOnDelete": False,
            "deleteBeforeReplace": False,
            "ignoreChanges": [],
            "replaceOnChanges": [],
            "aliases": [],
            "sdkTypeAliases": [],
            "inputs": _wire(json_format.MessageToDict(request.properties)),
        }
        with self._lock:
            self.records[response.urn] = record
        return response

    def RegisterResourceOutputs(self, request):
        if request.urn == self.stack_urn:
            self.stack_outputs = _wire(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)

    def Invoke(self, request):
        package = request.tok.split(":")[0]
        if not request.provider and self._default_denied(package):
            self.errors.append(
                f"invoke {request.tok}: Default provider for '{package}' disabled. "
                f"'{request.tok}' must use an explicit provider."
            )
        return super().Invoke(request)


@dataclass
class Graph:
    project: str
    stack: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    config: dict[str, str] = field(default_factory=dict, repr=False)
    fakes: set[str] = field(default_factory=set, repr=False)  # values the fake cloud made up
    warnings: list[str] = field(
        default_factory=list, repr=False
    )  # what the program logged with pulumi.log.warn

    def body(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "resources": self.resources,
            "outputs": self.outputs,
        }

    def to_json(self) -> str:
        return json.dumps(self.body(), indent=2, sort_keys=True) + "\n"

    def save(self, path: Path) -> None:
        """The graph with its config and the fake cloud's values, as ``read`` takes it back: what a test run
        loads instead of synthesizing (tests/conftest.py, PICTURESOCIAL_TEST_GRAPHS)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = {**self.body(), "config": self.config, "fakes": sorted(self.fakes), "warnings": self.warnings}
        path.write_text(json.dumps(saved))

    @classmethod
    def read(cls, path: Path) -> Graph:
        saved = json.loads(path.read_text())
        return cls(
            saved["project"],
            saved["stack"],
            saved["resources"],
            saved["outputs"],
            config=saved["config"],
            fakes=set(saved["fakes"]),
            warnings=saved["warnings"],
        )

    def of_type(self, typ: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == typ]

    def by_urn(self) -> dict[str, dict[str, Any]]:
        return {r["urn"]: r for r in self.resources}


def tree_order(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resources in the order of the component tree: the stack, then each top-level resource followed by its
    descendants, siblings by type and name. Everything an API creates is then one contiguous block, and a new
    API reads as one insertion in a diff of the graph."""
    by_urn = {r["urn"]: r for r in resources}

    def path(resource: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        chain = []
        node: dict[str, Any] | None = resource
        while node is not None:
            chain.append((node["type"], node["name"]))
            node = by_urn.get(node["parent"]) if node["parent"] else None
        return tuple(reversed(chain))

    return sorted(resources, key=lambda r: (r["type"] != "pulumi:pulumi:Stack", path(r)))


def _account(config: dict[str, str]) -> str:
    try:
        return str(json.loads(config.get("aws:allowedAccountIds", "[]"))[0])
    except (ValueError, IndexError, TypeError):
        return "000000000000"


@contextmanager
def _few_collections() -> Iterator[None]:
    """Python's cyclic garbage collector re-walks every live object on each full collection, and a synth
    keeps every resource alive until the end: with the default thresholds the cost per resource grew with the
    graph (profiled: 1.5 ms at 86 resources, 2.5 ms at 1302; with collections made rare, flat). Collect rarely
    during the run; the normal thresholds come back afterwards."""
    old = gc.get_threshold()
    gc.set_threshold(50_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)


@contextmanager
def _no_source_positions() -> Iterator[None]:
    """Every resource registration walks the Python stack to send the engine the program's source position
    (``pulumi.runtime.resource._get_stack_trace``, pulumi 3.272: ``traceback.extract_stack`` and a path URI
    per frame), which the engine shows in its diagnostics. Offline there is no engine to show them and the
    graph records none: the walk is skipped for the run (~5% of a synth, profiled), the SDK's own function
    put back afterwards. Nothing the program declares changes."""
    from pulumi.runtime import resource
    from pulumi.runtime.proto import source_pb2

    walk = resource._get_stack_trace
    resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        resource._get_stack_trace = walk


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` set in the process environment for the run, the previous ones restored after."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Warnings(logging.Handler):
    """Collects what the program logs at WARNING (the mock engine turns pulumi.log.warn into a log record)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _program_logger() -> tuple[logging.Logger, _Warnings]:
    logger = logging.getLogger("picturesocial.offline.program")
    logger.propagate = False  # shown by the tools that print the graph, not by the root logger
    logger.handlers.clear()
    handler = _Warnings()
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    return logger, handler


def _run_program(loop: asyncio.AbstractEventLoop, program: Path) -> None:
    """Runs the program under the mocks and waits for every registration it started, even after an error.

    The one place that needs more than the SDK's public API (checked against pulumi 3.272): ``set_mocks``
    creates the root stack and finishes it before the program runs, so its exports are registered here with
    the stack's public ``register_outputs``, and the run waits with ``wait_for_rpcs``, as the SDK's
    ``run_pulumi_func`` does; ``run_in_stack`` would refuse a second root stack."""
    from pulumi.runtime.stack import wait_for_rpcs

    try:
        runpy.run_path(str(program), run_name="__main__")
        root = typing.cast(Any, pulumi.runtime.get_root_resource())  # the Stack set_mocks made
        root.register_outputs(dict(root.outputs))
    finally:
        loop.run_until_complete(wait_for_rpcs())


def _refused_by_aws(resources: list[dict[str, Any]]) -> list[str]:
    """One line per input AWS's own constraints refuse (a name's length or pattern, a number's range, an
    enum: settings/aws_limits.py), naming the resource, the input, the value and the limit."""
    return [
        f"{r['type']} {r['name']}: {finding.input} = {finding.value} is {finding.problem}"
        for r in resources
        for finding in aws_limits.check_resource(r["type"], r.get("inputs") or {})
        if finding.problem
    ]


def synthesize(
    stack: str,
    *,
    config_file: Path | None = None,
    root: Path = ROOT,
    config_overrides: dict[str, Any] | None = None,
    today: dt.date | None = None,
    check_support: bool = True,
) -> Graph:
    """Runs ``root/__main__.py`` for ``stack`` offline and returns the recorded graph.

    ``root`` is the project directory (Pulumi.yaml, the stack files, the program and its catalog; tests point
    it at a fixture project). ``config_overrides`` replaces whole config keys (as the stack file would), for
    tests that vary one setting; values are given as YAML would load them, None deletes the key.
    ``today`` is the date the Kubernetes version is held to the EKS support calendar on (default: the
    clock, or PICTURESOCIAL_TODAY); ``check_support=False`` skips that check (settings/kubernetes.py).
    """
    try:
        project, config, secret_keys = load_stack_config(root, stack, config_file)
    except StackConfigError as exc:
        raise SynthError(str(exc)) from None
    for key, value in (config_overrides or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value if isinstance(value, str) else json.dumps(value)
    try:
        disabled = set(json.loads(config.get("pulumi:disable-default-providers", "[]")))
    except ValueError:
        disabled = set()

    # Python 3.12+ no longer creates a loop implicitly (pulumi #24338): make one per run.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    cloud = FakeCloud(region=config.get("aws:region", "us-east-1"), account=_account(config))
    monitor = RecordingMonitor(cloud, disabled)
    logger, warnings = _program_logger()
    pulumi.runtime.reset_options(project=project, stack=stack)  # no root stack left from a previous run
    mocks.set_mocks(cloud, project=project, stack=stack, preview=False, monitor=monitor, logger=logger)
    # The environment pulumi-language-python gives a program (every config value in PULUMI_CONFIG), and the
    # support check's date (settings/kubernetes.py).
    environment = {"PULUMI_CONFIG": json.dumps(config), "PULUMI_CONFIG_SECRET_KEYS": json.dumps(secret_keys)}
    if today is not None:
        environment["PICTURESOCIAL_TODAY"] = today.isoformat()
    if not check_support:
        environment["PICTURESOCIAL_SKIP_SUPPORT_CHECK"] = "1"
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        with _few_collections(), _no_source_positions(), _environment(environment):
            _run_program(loop, root / "__main__.py")
    except pulumi.RunError as exc:
        raise SynthError(str(exc)) from None
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    if monitor.errors:
        raise SynthError("\n".join(sorted(set(monitor.errors))))
    # Every resource is still alive: collections stay rare for the ordering and the checks too (profiled at
    # ~2,900 resources: the default thresholds spent seconds in the sort's keys re-walking the heap).
    with _few_collections():
        resources = tree_order(list(monitor.records.values()))
        refused = _refused_by_aws(resources)
        if refused:
            raise SynthError("\n".join(refused))
        graph = Graph(
            project=project,
            stack=stack,
            resources=resources,
            outputs=monitor.stack_outputs,
            config=config,
            fakes=cloud.fakes,
            warnings=warnings.messages,
        )
        # AWS's limits on counts (settings/data/aws_quotas.yaml): what AWS would refuse, refused here;
        # adjustable quotas the stack outgrows, one warning each.
        from tools.offline import quotas

        problems, over_quota = quotas.check(graph)
        if problems:
            raise SynthError("\n".join(problems))
    graph.warnings.extend(over_quota)
    return graph
