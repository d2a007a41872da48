"""Nothing lost, nothing stray: protection of stateful resources and explicit, tagged providers."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from graphq import EKS, one

from tools import ROOT


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


# -- a resource that is its parent's one of its kind is replaced by deleting first ----------------------

SINGLETONS = sorted(
    typ
    for typ, entry in yaml.safe_load((ROOT / "tools" / "data" / "replacement_inputs.yaml").read_text())[
        "types"
    ].items()
    if entry.get("singleton")
)


def created_before_deleted(graphs) -> list[str]:
    """Each singleton (a repository's lifecycle policy, a bucket's versioning, a queue's policy: the id is
    the parent's) that a replacement would create before deleting the old one, which then deletes the new."""
    return [
        r["urn"]
        for graph in graphs
        for r in graph.resources
        if r["type"] in SINGLETONS and not r["deleteBeforeReplace"]
    ]


def test_the_singleton_types_are_the_ones_whose_id_is_their_parents():
    assert SINGLETONS == [
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:ecr/registryPolicy:RegistryPolicy",
        "aws:ecr/replicationConfiguration:ReplicationConfiguration",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:sqs/queuePolicy:QueuePolicy",
    ]


def test_every_singleton_of_the_platform_is_replaced_by_deleting_first(fixture_graphs):
    graphs = list(fixture_graphs.values())
    created = {r["type"] for g in graphs for r in g.resources if r["type"] in SINGLETONS}
    # every kind the platform makes is here: a repository's policy, replication, a bucket's settings, ...
    assert "aws:ecr/lifecyclePolicy:LifecyclePolicy" in created and len(created) >= 7, sorted(created)
    assert created_before_deleted(graphs) == []


@pytest.mark.live
def test_every_singleton_of_the_bootstrap_is_replaced_by_deleting_first(bootstrap_graphs):
    graphs = list(bootstrap_graphs.values())
    assert any(r["type"] in SINGLETONS for g in graphs for r in g.resources)
    assert created_before_deleted(graphs) == []


def test_one_singleton_created_before_its_old_one_is_deleted_is_named(fixture_graphs):
    graph = copy.deepcopy(fixture_graphs["large"])
    policies = graph.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert len(policies) > 1
    policies[-1]["deleteBeforeReplace"] = False  # the last of several
    assert created_before_deleted([graph]) == [policies[-1]["urn"]]


@pytest.mark.live
def test_every_singleton_of_the_live_stacks_is_replaced_by_deleting_first(graphs):
    """The live stacks reach what the fixtures do not: the registry's policy (staging and prod pull from
    dev's registry) and its replication (dev pushes to them)."""
    live = list(graphs.values())
    created = {r["type"] for g in live for r in g.resources if r["type"] in SINGLETONS}
    assert {
        "aws:ecr/registryPolicy:RegistryPolicy",
        "aws:ecr/replicationConfiguration:ReplicationConfiguration",
    } <= created
    assert created_before_deleted(live) == []
