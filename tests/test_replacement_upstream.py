"""The replacement table (tools/data/replacement_inputs.yaml) says what the provider says, type by type.

pulumi-aws is bridged from terraform-provider-aws, whose plan decides what a change replaces: an argument
marked ForceNew (SDKv2) or RequiresReplace (Plugin Framework), an argument a CustomizeDiff or ModifyPlan
forces new under a condition, and since provider v6 the `region` of every regional resource (the provider's
region interceptor). tests/fixtures/upstream/terraform-provider-aws-force-new.yaml holds what the upstream
source says for every AWS type the stacks create (the file and commit read, per type). Here:

- every AWS type in any stack's graph has an upstream entry and a table entry;
- per type, the table lists exactly the upstream arguments (a conditional one counts: the diff then shows the
  change as a replacement, the side that stops at the guard) under their Pulumi names, plus `region` where
  the pinned SDK's resource takes one: a missing input fails naming the type and the attribute (a key change
  that replaces a table would pass the guard as an update), and so does an extra one (a plain update shown
  as a replacement teaches reviewers to acknowledge replacements without reading them);
- every name the fixture maps to is an input of the pinned pulumi-aws resource (a renamed or pluralized
  input, `topic_arn` -> `topic`, `local_secondary_index` -> `localSecondaryIndexes`, is named in the fixture
  and checked against the SDK, not guessed).
"""

from __future__ import annotations

import copy
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

import pytest
import yaml

from tools import ROOT

UPSTREAM = yaml.safe_load(
    (ROOT / "tests" / "fixtures" / "upstream" / "terraform-provider-aws-force-new.yaml").read_text()
)
TABLE = yaml.safe_load((ROOT / "tools" / "data" / "replacement_inputs.yaml").read_text())["types"]


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def pulumi_path(tf_path: str, entry: dict[str, Any]) -> str:
    """The Pulumi input path of a Terraform argument path: the fixture's name for it where Pulumi renamed or
    pluralized it, else each segment in camelCase."""
    renamed = entry.get("pulumi", {})
    if tf_path in renamed:
        return renamed[tf_path]
    return ".".join(camel(part) for part in tf_path.split("."))


def replacing(entry: dict[str, Any]) -> list[str]:
    return [*entry["force_new"], *(c["attribute"] for c in entry.get("conditional", []))]


@cache
def args_class(typ: str) -> type:
    """The pinned SDK's input class of a resource type: the <Name>Args (or, where a nested block's input class
    took that name, <Name>InitArgs: s3.BucketVersioningArgs is the legacy Bucket's `versioning` block) that
    the resource's own module defines."""
    _, module, name = typ.split(":")
    resource = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), name)
    home = sys.modules[resource.__module__]
    (cls,) = [
        c
        for c in (getattr(home, f"{name}InitArgs", None), getattr(home, f"{name}Args", None))
        if c is not None and c.__module__ == home.__name__
    ]
    return cls


def input_names(cls: type) -> dict[str, property]:
    """An input class's inputs by their Pulumi names."""
    return {
        prop.fget._pulumi_name: prop  # type: ignore[union-attr]  # set by @pulumi.getter
        for prop in vars(cls).values()
        if isinstance(prop, property) and hasattr(prop.fget, "_pulumi_name")
    }


def is_input(typ: str, path: str) -> bool:
    """Whether ``path`` (dotted Pulumi names) is an input of the resource, nested blocks followed through
    the input classes their annotations name."""
    cls: type | None = args_class(typ)
    module = importlib.import_module(f"pulumi_aws.{typ.split(':')[1].split('/')[0]}._inputs")
    for part in path.split("."):
        if cls is None:
            return False
        prop = input_names(cls).get(part)
        if prop is None or prop.fget is None:
            return False
        nested = re.search(r"'(\w+Args)'", str(inspect.signature(prop.fget).return_annotation))
        cls = getattr(module, nested.group(1)) if nested else None
    return True


def disagreements(
    table: dict[str, dict[str, Any]],
    upstream: dict[str, dict[str, Any]],
    inputs_of: Callable[[str], Iterable[str]],
) -> list[str]:
    """One line per input on which the table and upstream disagree, naming the type and the attribute."""
    lines = []
    for typ, entry in sorted(upstream.items()):
        where = f"{entry['terraform']}, {entry['file']}@{entry['commit'][:12]}"
        expected = {pulumi_path(path, entry) for path in replacing(entry)}
        if "region" in inputs_of(typ):
            expected.add("region")
        if typ not in table:
            lines.append(f"{typ}: not in the replacement table (upstream replaces on {sorted(expected)})")
            continue
        listed = set(table[typ]["inputs"])
        for path in sorted(expected - listed):
            lines.append(f"{typ}: {path} replaces the resource upstream ({where}); the table lacks it")
        for path in sorted(listed - expected):
            lines.append(f"{typ}: the table lists {path}; upstream ({where}) updates it in place")
    return lines


def sdk_inputs(typ: str) -> set[str]:
    return set(input_names(args_class(typ)))


# -- the committed table against the committed upstream reading ------------------------------------------


@pytest.mark.live
def test_every_aws_type_the_stacks_create_has_an_upstream_entry(graphs, bootstrap_graphs, fixture_graphs):
    created = {
        r["type"]
        for graph in [*graphs.values(), *bootstrap_graphs.values(), *fixture_graphs.values()]
        for r in graph.resources
        if r["type"].startswith("aws:")
    }
    assert sorted(created - set(UPSTREAM["resources"])) == [], "read their Terraform source into the fixture"
    assert sorted(created - set(TABLE)) == []


def test_the_table_lists_exactly_the_inputs_upstream_replaces_on():
    assert disagreements(TABLE, UPSTREAM["resources"], sdk_inputs) == []


@pytest.mark.parametrize("typ", sorted(UPSTREAM["resources"]))
def test_every_upstream_argument_is_an_input_of_the_pinned_sdk_resource(typ):
    entry = UPSTREAM["resources"][typ]
    unknown = [pulumi_path(p, entry) for p in replacing(entry) if not is_input(typ, pulumi_path(p, entry))]
    assert unknown == [], f"{typ}: not inputs of {args_class(typ).__name__} (name them under `pulumi`)"
    renamed = entry.get("pulumi", {})
    assert set(renamed) <= {*replacing(entry), *entry["arguments"]}, f"{typ}: a rename of an unread argument"
    assert [name for name in renamed.values() if not is_input(typ, name)] == []


def not_in_copy(typ: str, entry: dict[str, Any]) -> list[str]:
    """The pinned SDK's inputs of the resource that the upstream copy read has no argument for (`region` is
    the provider's, not the resource's): what that copy cannot say anything about."""
    read = {pulumi_path(argument, entry) for argument in entry["arguments"]}
    return sorted(sdk_inputs(typ) - read - {"region"})


@pytest.mark.parametrize("typ", sorted(UPSTREAM["resources"]))
def test_the_inputs_the_copy_read_predates_are_exactly_the_ones_listed(typ):
    """The stored copies are not all the release pulumi-aws 7.51.1 bridges: what a copy lacks is listed, and a
    pulumi-aws bump that adds an input fails here until a copy that has it is read (decision 0037)."""
    entry = UPSTREAM["resources"][typ]
    assert set(replacing(entry)) <= {*entry["arguments"], *(p for p in replacing(entry) if "." in p)}, typ
    assert not_in_copy(typ, entry) == entry["not_in_copy"], (
        f"{typ}: inputs of {args_class(typ).__name__} that {entry['file']}@{entry['commit'][:12]} lacks: "
        f"read a copy that has them (and its replace-forcing arguments) into the fixture"
    )


def test_an_sdk_input_the_copy_lacks_is_named():
    entry = copy.deepcopy(UPSTREAM["resources"]["aws:dynamodb/table:Table"])
    entry["arguments"].remove("stream_enabled")
    assert not_in_copy("aws:dynamodb/table:Table", entry) == ["streamEnabled"]


def test_every_entry_names_the_upstream_file_and_commit_it_was_read_from():
    for typ, entry in UPSTREAM["resources"].items():
        assert re.fullmatch(r"aws_[a-z0-9_]+", entry["terraform"]), typ
        assert entry["file"].endswith(".go"), typ
        assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"]), typ


# -- the comparison bites: one wrong input among many ----------------------------------------------------


def test_an_input_dropped_from_one_type_is_named_with_its_type():
    table = copy.deepcopy(TABLE)
    table["aws:dynamodb/table:Table"]["inputs"].remove("hashKey")
    assert [line.split(";")[0] for line in disagreements(table, UPSTREAM["resources"], sdk_inputs)] == [
        "aws:dynamodb/table:Table: hashKey replaces the resource upstream "
        f"(aws_dynamodb_table, {UPSTREAM['resources']['aws:dynamodb/table:Table']['file']}"
        f"@{UPSTREAM['resources']['aws:dynamodb/table:Table']['commit'][:12]})"
    ]


def test_a_nested_input_and_the_region_are_each_missed_alone():
    table = copy.deepcopy(TABLE)
    table["aws:eks/nodeGroup:NodeGroup"]["inputs"].remove("launchTemplate.id")
    table["aws:sqs/queue:Queue"]["inputs"].remove("region")
    lines = disagreements(table, UPSTREAM["resources"], sdk_inputs)
    assert [line.split(" replaces")[0] for line in lines] == [
        "aws:eks/nodeGroup:NodeGroup: launchTemplate.id",
        "aws:sqs/queue:Queue: region",
    ]


def test_an_input_upstream_updates_in_place_is_named_when_the_table_adds_it():
    table = copy.deepcopy(TABLE)
    table["aws:apigatewayv2/route:Route"]["inputs"].append("routeKey")
    lines = disagreements(table, UPSTREAM["resources"], sdk_inputs)
    assert [line.split(";")[0] for line in lines] == [
        "aws:apigatewayv2/route:Route: the table lists routeKey"
    ]


def test_a_type_missing_from_the_table_is_named():
    table = {typ: entry for typ, entry in TABLE.items() if typ != "aws:kms/key:Key"}
    lines = disagreements(table, UPSTREAM["resources"], sdk_inputs)
    assert len(lines) == 1 and lines[0].startswith("aws:kms/key:Key: not in the replacement table")


def test_a_global_resource_needs_no_region_and_a_regional_one_does():
    assert "region" not in sdk_inputs("aws:iam/role:Role")  # IAM is global: no region to move
    assert "region" in sdk_inputs("aws:dynamodb/table:Table")


def test_a_misnamed_argument_is_not_an_input_of_the_resource():
    assert is_input("aws:eks/nodeGroup:NodeGroup", "launchTemplate.id")
    assert not is_input("aws:eks/nodeGroup:NodeGroup", "launchTemplate.ids")
    assert not is_input("aws:dynamodb/table:Table", "localSecondaryIndex")  # Pulumi pluralized it
    assert is_input("aws:dynamodb/table:Table", "localSecondaryIndexes")


def inputs_set_beyond_the_reading(graphs) -> list[str]:
    """Each resource input the stacks set that the upstream copy read for its type does not have: whether a
    change of it replaces the resource, the table cannot know."""
    return [
        f"{r['urn']}: {name}"
        for graph in graphs
        for r in graph.resources
        if r["type"] in UPSTREAM["resources"]
        for name in UPSTREAM["resources"][r["type"]]["not_in_copy"]
        if r["inputs"].get(name) is not None
    ]


@pytest.mark.live
def test_no_stack_sets_an_input_the_upstream_reading_lacks(graphs, bootstrap_graphs, fixture_graphs):
    every = [*graphs.values(), *bootstrap_graphs.values(), *fixture_graphs.values()]
    assert inputs_set_beyond_the_reading(every) == []


def test_an_input_set_beyond_the_reading_is_named(fixture_graphs):
    graph = copy.deepcopy(fixture_graphs["large"])
    groups = graph.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) > 1
    groups[-1]["inputs"]["deletionProtectionEnabled"] = True  # the last of several
    assert inputs_set_beyond_the_reading([graph]) == [f"{groups[-1]['urn']}: deletionProtectionEnabled"]
