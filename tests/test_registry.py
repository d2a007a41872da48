"""ECR: one repository per API, immutable, scanned, encrypted, pruned; force delete only in dev."""

from __future__ import annotations

import json

import pytest

from conftest import stack_file

REPOSITORY = "aws:ecr/repository:Repository"


def test_one_repository_per_api_named_after_stack(graph):
    apis = stack_file(graph.stack)["picturesocial:apis"]
    names = {r["inputs"]["name"] for r in graph.of_type(REPOSITORY)}
    assert names == {f"picturesocial-{graph.stack}/{api}" for api in apis}


def test_every_repository_is_kms_encrypted(graph):
    # Immutable tags and scan on push: policy ecr-immutable-scanned (test_policies.py).
    for repo in graph.of_type(REPOSITORY):
        assert repo["inputs"]["encryptionConfigurations"] == [{"encryptionType": "KMS"}]


def test_every_repository_expires_untagged_and_old_images(graph):
    policies = {p["name"]: json.loads(p["inputs"]["policy"])
                for p in graph.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")}
    assert set(policies) == {r["name"] for r in graph.of_type(REPOSITORY)}
    for policy in policies.values():
        statuses = [rule["selection"]["tagStatus"] for rule in policy["rules"]]
        assert statuses == ["untagged", "tagged"]
        assert all(rule["action"]["type"] == "expire" for rule in policy["rules"])


@pytest.mark.parametrize("stack, force", [("dev", True), ("staging", False), ("prod", False)])
def test_force_delete_only_in_dev(graphs, stack, force):
    assert {r["inputs"]["forceDelete"] for r in graphs[stack].of_type(REPOSITORY)} == {force}
