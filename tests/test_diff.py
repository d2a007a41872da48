"""Blast radius and the guard: what a typical change does to each environment, read offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from conftest import STACKS, stack_file, with_extra_api
from tools.diff import diff, main
from tools.offline import synthesize
from tools.offline.engine import ROOT


def body(graph):
    return json.loads(graph.to_json())


def changes_of(graphs, stack, overrides):
    changes, _ = diff(body(graphs[stack]), body(synthesize(stack, config_overrides=overrides)))
    return changes


def kinds(changes):
    return sorted((c.kind, c.type, c.urn.rsplit("::", 1)[-1]) for c in changes)


def test_bumping_one_tag_changes_only_that_deployment_in_that_stack(graphs):
    apis = {**stack_file("staging")["picturesocial:apis"], "pictures": {"tag": "1.0.1"}}
    changes = changes_of(graphs, "staging", {"picturesocial:apis": apis})
    assert kinds(changes) == [("update", "kubernetes:apps/v1:Deployment", "pictures")]
    assert changes[0].paths == ["spec.template.metadata.labels.app.kubernetes.io/version",
                                "spec.template.spec.containers[0].image"]
    for other in set(STACKS) - {"staging"}:  # the other stacks' files are untouched: nothing moves there
        assert diff(body(graphs[other]), body(synthesize(other)))[0] == []


def test_adding_an_api_only_creates(graphs, tmp_path):
    changes = changes_of(graphs, "dev", with_extra_api(tmp_path))
    assert changes and {c.kind for c in changes} == {"create"}
    assert not [c for c in changes if c.guarded]


def test_raising_a_node_groups_max_size_is_one_in_place_update(graphs):
    groups = stack_file("prod")["picturesocial:nodeGroups"]
    changes = changes_of(graphs, "prod", {"picturesocial:nodeGroups": {
        "general": {**groups["general"], "maxSize": 12}}})
    assert kinds(changes) == [("update", "aws:eks/nodeGroup:NodeGroup", "general")]
    assert changes[0].paths == ["scalingConfig.maxSize"] and not changes[0].guarded


def test_changing_instance_types_replaces_that_node_group_only_and_is_guarded(graphs):
    groups = stack_file("prod")["picturesocial:nodeGroups"]
    changes = changes_of(graphs, "prod", {"picturesocial:nodeGroups": {
        "general": {**groups["general"], "instanceTypes": ["m7i.large"]}}})
    assert kinds(changes) == [("replace", "aws:eks/nodeGroup:NodeGroup", "general")]
    assert changes[0].guarded


def test_renaming_an_api_is_caught_by_the_guard(graphs, tmp_path):
    catalog = yaml.safe_load((ROOT / "workloads/catalog.yaml").read_text())
    catalog["apis"]["photos"] = catalog["apis"].pop("pictures")
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog))
    apis = {"helloworld": {"tag": "1.0.0"}, "photos": {"tag": "1.0.0"}}
    changes = changes_of(graphs, "prod", {"picturesocial:apis": apis, "picturesocial:catalog": str(path)})
    deleted = {(c.type, c.urn.rsplit("::", 1)[-1]) for c in changes if c.kind == "delete"}
    assert ("kubernetes:apps/v1:Deployment", "pictures") in deleted
    assert ("aws:ecr/repository:Repository", "pictures") in deleted
    assert any(c.guarded for c in changes)


def test_a_resource_type_missing_from_the_table_is_reported_not_guessed(graphs):
    old, new = body(graphs["dev"]), body(graphs["dev"])
    target = next(r for r in new["resources"] if r["type"] == "aws:ec2/vpc:Vpc")
    target["inputs"] = {**target["inputs"], "cidrBlock": "10.99.0.0/16"}
    (change,) = diff(old, new, table={})[0]
    assert change.kind == "update" and change.unknown
    assert "[unknown replacement behaviour]" in change.line()


def test_an_alias_keeps_a_renamed_resource(graphs):
    old, new = body(graphs["dev"]), body(graphs["dev"])
    vpc = next(r for r in new["resources"] if r["type"] == "aws:ec2/vpc:Vpc")
    old_urn = vpc["urn"]
    vpc["urn"] = old_urn.rsplit("::", 1)[0] + "::main-vpc"
    vpc["aliases"] = [json.dumps({"spec": {"name": "vpc"}})]
    assert diff(old, new)[0] == []
    vpc["aliases"] = []
    assert {c.kind for c in diff(old, new)[0]} == {"create", "delete"}


@pytest.fixture
def graph_dirs(graphs, tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    (old / "graph.json").write_text(graphs["prod"].to_json())
    changed = body(graphs["prod"])
    changed["resources"] = [r for r in changed["resources"] if r["type"] != "aws:dynamodb/table:Table"]
    (new / "graph.json").write_text(json.dumps(changed))
    table_urn = next(r["urn"] for r in graphs["prod"].resources if r["type"] == "aws:dynamodb/table:Table")
    return old, new, table_urn


def test_guard_exits_3_when_a_table_would_be_deleted(graph_dirs, capsys):
    old, new, urn = graph_dirs
    assert main([str(old), str(new)]) == 3
    out = capsys.readouterr().out
    assert f"- delete {urn}" in out and f"blocked: delete of aws:dynamodb/table:Table {urn}" in out
    assert out.strip().splitlines()[-1] == "0 to create, 0 to update, 0 to replace, 1 to delete, 102 unchanged"


def test_guard_lets_an_acknowledged_deletion_through(graph_dirs):
    old, new, urn = graph_dirs
    assert main([str(old), str(new), "--allow", urn]) == 0


def test_diff_against_a_git_ref_synthesizes_both_sides():
    result = subprocess.run([sys.executable, "-m", "tools.diff", "--base", "HEAD", "--stack", "dev"], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode in (0, 3), result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "== dev: HEAD -> working tree"
    assert lines[-1].endswith("unchanged") and " to create, " in lines[-1]
