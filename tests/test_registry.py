"""ECR: one repository per API, immutable, scanned, encrypted, pruned; force delete only where configured."""

from __future__ import annotations

import json

import pytest

REPOSITORY = "aws:ecr/repository:Repository"


def test_one_repository_per_api_named_after_the_cluster(fixture_graph):
    names = {r["inputs"]["name"] for r in fixture_graph.of_type(REPOSITORY)}
    assert names == {f"picturesocial-{fixture_graph.stack}/{api}" for api in ("greeter", "photos", "thumbs")}


def test_every_repository_is_kms_encrypted(fixture_graph):
    # Immutable tags and scan on push: policy ecr-immutable-scanned (test_policies.py).
    for repo in fixture_graph.of_type(REPOSITORY):
        assert repo["inputs"]["encryptionConfigurations"] == [{"encryptionType": "KMS"}]


@pytest.mark.parametrize("stack, keep", [("small", 5), ("large", 50)])
def test_every_repository_expires_untagged_and_old_images(fixture_graphs, stack, keep):
    graph = fixture_graphs[stack]
    policies = {
        p["name"]: json.loads(p["inputs"]["policy"])
        for p in graph.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    }
    assert set(policies) == {r["name"] for r in graph.of_type(REPOSITORY)}
    for policy in policies.values():
        untagged, tagged = policy["rules"][-2:]
        assert untagged["selection"]["tagStatus"] == "untagged" and untagged["action"]["type"] == "expire"
        assert tagged["selection"]["tagStatus"] == "tagged" and tagged["selection"]["countNumber"] == keep


@pytest.mark.parametrize("stack, force", [("small", True), ("large", False)])
def test_force_delete_only_where_configured(fixture_graphs, stack, force):
    assert {r["inputs"]["forceDelete"] for r in fixture_graphs[stack].of_type(REPOSITORY)} == {force}


def test_the_lifecycle_policy_never_expires_a_tag_the_stack_deploys(fixture_graphs):
    graph = fixture_graphs["large"]
    policies = {
        p["name"]: json.loads(p["inputs"]["policy"])
        for p in graph.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    }
    # One exact-tag rule per deployed tag, above the rules that expire (ECR: an image matched by a rule cannot
    # be expired by a lower-priority one), expiring nothing but a second image of that immutable tag.
    kept = {
        name: [r["selection"]["tagPatternList"] for r in policy["rules"][:-2]]
        for name, policy in policies.items()
    }
    assert kept == {"greeter": [["2.0.0"]], "photos": [["3.1.0"], ["3.2.0-rc.1"]], "thumbs": [["0.9.0"]]}
    for policy in policies.values():
        priorities = [r["rulePriority"] for r in policy["rules"]]
        assert priorities == sorted(priorities) == list(range(1, len(priorities) + 1))
        for rule in policy["rules"][:-2]:
            assert (
                rule["selection"]["countType"] == "imageCountMoreThan"
                and rule["selection"]["countNumber"] == 1
            )
