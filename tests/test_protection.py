"""Nothing lost, nothing stray: protection of stateful resources and one explicit, tagged provider."""

from __future__ import annotations

import json

import pytest

from conftest import one


@pytest.mark.parametrize("typ", ["aws:kms/key:Key", "aws:ecr/repository:Repository"])
def test_keys_and_repositories_are_protected_in_every_stack(graph, typ):
    found = graph.of_type(typ)
    assert found and all(r["protect"] for r in found)


def test_dev_cluster_can_be_torn_down(graphs):
    assert one(graphs["dev"], "eks:index:Cluster", "eks")["protect"] is False


def test_every_aws_resource_uses_the_stack_provider(graph):
    provider = one(graph, "pulumi:providers:aws", "aws")
    for resource in graph.resources:
        if resource["type"].startswith("aws:"):
            assert resource["provider"] == provider["urn"], resource["urn"]
    remote = one(graph, "eks:index:Cluster", "eks")
    assert remote["providers"]["aws"] == provider["urn"]


def test_default_tags_and_account_guard_are_set_once_on_the_provider(graph):
    inputs = one(graph, "pulumi:providers:aws", "aws")["inputs"]
    # Providers receive nested config as JSON text on the wire.
    assert json.loads(inputs["defaultTags"])["tags"] == {
        "project": "picturesocial", "environment": graph.stack, "managed-by": "pulumi"}
    assert inputs["region"] == "us-east-1"
    assert inputs["allowedAccountIds"]


def test_default_providers_are_disabled(graph):
    assert '"aws"' in graph.config["pulumi:disable-default-providers"]
