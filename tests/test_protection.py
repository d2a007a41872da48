"""Nothing lost, nothing stray: protection of stateful resources and explicit, tagged providers."""

from __future__ import annotations

import json

import pytest
from graphq import EKS, one


@pytest.mark.parametrize("stack, protected", [("small", False), ("large", True)])
def test_stateful_resources_follow_picturesocial_protect_so_dev_can_be_destroyed(
    fixture_graphs, stack, protected
):
    graph = fixture_graphs[stack]
    stateful = [
        "eks:index:Cluster",
        "aws:ec2/vpc:Vpc",
        "aws:kms/key:Key",
        "aws:ecr/repository:Repository",
        "aws:s3/bucket:Bucket",
        "aws:dynamodb/table:Table",
        "kubernetes:core/v1:Namespace",
    ]
    for typ in stateful:
        found = graph.of_type(typ)
        assert found and {r["protect"] for r in found} == {protected}, typ


def test_every_aws_resource_uses_the_stack_provider(fixture_graph):
    provider = one(fixture_graph, "pulumi:providers:aws", "aws")
    for resource in fixture_graph.resources:
        if resource["type"].startswith("aws:"):
            assert resource["provider"] == provider["urn"], resource["urn"]
    remote = one(fixture_graph, EKS, "eks")
    assert remote["providers"]["aws"] == provider["urn"]
    assert remote["provider"] == one(fixture_graph, "pulumi:providers:eks", "eks")["urn"]


@pytest.mark.parametrize("stack, region", [("small", "us-east-1"), ("large", "eu-west-1")])
def test_default_tags_and_account_guard_are_set_once_on_the_provider(fixture_graphs, stack, region):
    inputs = one(fixture_graphs[stack], "pulumi:providers:aws", "aws")["inputs"]
    # Providers receive nested config as JSON text on the wire.
    assert json.loads(inputs["defaultTags"])["tags"] == {
        "project": "picturesocial",
        "environment": stack,
        "managed-by": "pulumi",
    }
    assert inputs["region"] == region
    assert json.loads(inputs["allowedAccountIds"]) == [
        {"small": "123456789012", "large": "210987654321"}[stack]
    ]


def test_default_providers_are_disabled_for_every_package_the_program_uses(fixture_graph):
    assert set(json.loads(fixture_graph.config["pulumi:disable-default-providers"])) == {
        "aws",
        "kubernetes",
        "eks",
    }
