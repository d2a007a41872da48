"""Runs the program for one stack under the mock engine and records the desired-state graph."""

from __future__ import annotations

import asyncio
import gc
import json
import runpy
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc, settings as runtime_settings
from pulumi.runtime.stack import massage, wait_for_rpcs

from tools.offline.cloud import FakeCloud
from tools.offline.stack_config import StackConfigError, load_stack_config

ROOT = Path(__file__).resolve().parents[2]

SECRET_SIG = rpc._special_secret_sig
RESOURCE_SIG = rpc._special_resource_sig
SIG_KEY = rpc._special_sig_key
UNKNOWN = rpc.UNKNOWN
SECRET = "[secret]"


class SynthError(Exception):
    """A problem the user has to fix (bad config, missing stack file): one line per problem."""


def normalize(value: Any) -> Any:
    """The wire form of a property value as plain JSON: secrets masked, resource references as URNs,
    whole-number floats (protobuf Struct has only doubles) as ints."""
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return SECRET
        if sig == RESOURCE_SIG:
            return value.get("urn")
        return {k: normalize(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == UNKNOWN:
        return "[unknown]"
    return value


class RecordingMonitor(mocks.MockMonitor):
    """Sees every RegisterResourceRequest in full (parent, dependencies, options) and records it."""

    def __init__(self, cloud: FakeCloud):
        super().__init__(cloud)
        self.records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        urn = response.urn
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
            "aliases": sorted(json.dumps(json_format.MessageToDict(a), sort_keys=True) for a in request.aliases)
            + sorted(request.aliasURNs),
            "inputs": normalize(json_format.MessageToDict(request.object)),
        }
        with self._lock:
            self.records[urn] = record
        return response


@dataclass
class Graph:
    project: str
    stack: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    config: dict[str, str] = field(default_factory=dict, repr=False)

    def to_json(self) -> str:
        body = {"project": self.project, "stack": self.stack, "resources": self.resources,
                "outputs": self.outputs}
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    def of_type(self, typ: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == typ]

    def by_urn(self) -> dict[str, dict[str, Any]]:
        return {r["urn"]: r for r in self.resources}


def _account(config: dict[str, str]) -> str:
    try:
        ids = json.loads(config.get("aws:allowedAccountIds", "[]"))
        return str(ids[0])
    except (ValueError, IndexError, TypeError):
        return "000000000000"


@contextmanager
def _few_collections():
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


def synthesize(stack: str, *, config_file: Path | None = None, root: Path = ROOT,
               config_overrides: dict[str, Any] | None = None) -> Graph:
    """Runs ``root/__main__.py`` for ``stack`` offline and returns the recorded graph.

    ``config_overrides`` replaces whole config keys (as the stack file would), for tests that vary one
    setting; values are given as YAML would load them.
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

    # Python 3.12+ no longer creates a loop implicitly (pulumi #24338): make one per run.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    cloud = FakeCloud(region=config.get("aws:region", "us-east-1"), account=_account(config))
    monitor = RecordingMonitor(cloud)
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(config, secret_keys)
    mocks.set_mocks(cloud, project=project, stack=stack, preview=False, monitor=monitor)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        with _few_collections():
            try:
                runpy.run_path(str(root / "__main__.py"), run_name="__main__")
            finally:
                # Let every registration the program started finish, even after an error.
                loop.run_until_complete(wait_for_rpcs())
            outputs = runtime_settings.get_root_resource().outputs
            wire = loop.run_until_complete(rpc.serialize_properties(massage(outputs, []), {}))
    except pulumi.RunError as exc:
        raise SynthError(str(exc)) from None
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    resources = sorted(monitor.records.values(), key=lambda r: r["urn"])
    return Graph(project=project, stack=stack, resources=resources,
                 outputs=normalize(json_format.MessageToDict(wire)), config=config)
