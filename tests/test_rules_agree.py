"""The settings layer and the policy pack state some rules twice, on purpose: the settings stop a bad value
with one line before anything runs, the pack stops it in any plan, whatever produced it. The pack cannot
import the settings (the CLI loads it alone), so these tests hold the two to the same answers."""

from __future__ import annotations

import pytest
from graphq import resource
from pydantic import ValidationError

from policy.baseline import POLICIES
from settings.models import ApiStackSettings, EndpointSettings
from tools.offline.engine import Graph
from tools.offline.policy_run import run

BY_NAME = {p.name: p for p in POLICIES}


def cluster_with(cidrs: list[str]) -> Graph:
    vpc = {"endpointPublicAccess": True, "publicAccessCidrs": cidrs}
    return Graph("p", "s", [resource("aws:eks/cluster:Cluster", "c", {"vpcConfig": vpc})], {})


@pytest.mark.parametrize(
    "cidr, refused",
    [
        ("52.94.133.0/24", False),
        ("3.5.140.2/32", False),
        ("35.0.0.0/16", False),
        ("0.0.0.0/0", True),
        ("52.0.0.0/8", True),
        ("35.0.0.0/15", True),
        ("192.0.2.0/24", True),
        ("198.51.100.7/32", True),
        ("203.0.113.0/25", True),
    ],
)
def test_the_endpoint_allow_list_rules_agree(cidr, refused):
    try:
        EndpointSettings.model_validate({"publicCidrs": [cidr]})
        settings_refuse = False
    except ValidationError:
        settings_refuse = True
    policy_refuses = bool(run(cluster_with(["3.5.140.2/32", cidr]), [BY_NAME["eks-endpoint-private"]], {}))
    assert (settings_refuse, policy_refuses) == (refused, refused)


def test_the_moving_tag_is_refused_by_both():
    with pytest.raises(ValidationError):
        ApiStackSettings.model_validate({"tag": "latest"})
    image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/picturesocial-dev/api:latest"
    pod = {"containers": [{"name": "api", "image": image}]}
    manifest = {
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "x"},
        "spec": {"template": {"spec": pod}},
    }
    deployment = resource("kubernetes:apps/v1:Deployment", "api", manifest)
    violations = run(Graph("p", "s", [deployment], {}), [BY_NAME["images-from-ecr-tagged"]], {})
    assert [v.message for v in violations] == ["container api: image tag `latest` is mutable"]
