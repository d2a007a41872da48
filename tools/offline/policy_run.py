"""Runs the CrossGuard policies (policy/baseline/) over an offline graph, as the analyzer would over a
plan: every resource through the resource policies, the whole stack through the stack policies.

The policy configuration is the same file `pulumi preview --policy-pack-config` takes
(policy/config/<stack>.json), with each policy's schema defaults applied as the engine applies them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from tools import ROOT
from tools.offline.engine import Graph
from tools.offline.remote import analyzer_view

CONFIG_DIR = ROOT / "policy" / "config"


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str | None
    message: str

    def __str__(self) -> str:
        return f"[{self.policy}] {self.message} ({self.urn or 'stack'})"


def stack_policy_config(stack: str, directory: Path = CONFIG_DIR) -> dict[str, dict[str, Any]]:
    path = directory / f"{stack}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _config(policy, given: dict[str, dict[str, Any]]) -> dict[str, Any]:
    schema = policy.config_schema.properties if policy.config_schema else {}
    defaults = {key: spec["default"] for key, spec in schema.items() if "default" in spec}
    return {**defaults, **given.get(policy.name, {})}


def policy_resources(graph: Graph) -> list[PolicyResource]:
    records = analyzer_view(graph.resources)
    made: dict[str, PolicyResource] = {}
    for record in records:
        options = PolicyResourceOptions(
            protect=record["protect"],
            ignore_changes=record["ignoreChanges"],
            delete_before_replace=record["deleteBeforeReplace"],
            aliases=record["aliases"],
            custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
            additional_secret_outputs=[],
            parent=record["parent"],
        )
        made[record["urn"]] = PolicyResource(
            record["type"], record["inputs"], record["urn"], record["name"], options, None, None, [], {}
        )
    for record in records:
        resource = made[record["urn"]]
        resource.parent = made.get(record["parent"])
        resource.dependencies = [made[d] for d in record["dependencies"] if d in made]
    return list(made.values())


def reporter(violations: list[Violation], policy: str, urn: str | None) -> Callable[[str, str | None], None]:
    """The analyzer's report callback: a violation of ``policy``, about ``urn`` unless the rule names one."""

    def report(message: str, about: str | None = None) -> None:
        violations.append(Violation(policy, about or urn, message))

    return report


# Each project's stacks have their policy config in a folder of their own (the platform's at the top).
PROJECT_CONFIG_DIRS = {"picturesocial-bootstrap": CONFIG_DIR / "bootstrap"}


def run(graph: Graph, policies: list, config: dict[str, dict[str, Any]] | None = None) -> list[Violation]:
    if config is None:
        config = stack_policy_config(graph.stack, PROJECT_CONFIG_DIRS.get(graph.project, CONFIG_DIR))
    violations: list[Violation] = []
    resources = policy_resources(graph)
    for policy in policies:
        settings = _config(policy, config)
        if isinstance(policy, ResourceValidationPolicy):
            for resource in resources:
                args = ResourceValidationArgs(
                    resource.resource_type,
                    resource.props,
                    resource.urn,
                    resource.name,
                    resource.opts,
                    None,
                    settings,
                )
                policy.validate(args, reporter(violations, policy.name, resource.urn))
        else:
            policy.validate(StackValidationArgs(resources, settings), reporter(violations, policy.name, None))
    return violations
