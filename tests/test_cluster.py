"""The control plane: pinned version, logging, encryption, access entries, endpoint, add-ons (fixture
stacks)."""

from __future__ import annotations

import json

import pulumi
import pytest
from graphq import EKS, NODE_GROUP, one, reaches

from tools.offline.cloud import FakeCloud


def eks(graph):
    return one(graph, EKS, "eks")["inputs"]


def test_cluster_version_is_the_pinned_one(fixture_graph):
    assert eks(fixture_graph)["version"] == "1.36"


@pytest.mark.parametrize("stack, days", [("small", 7), ("large", 365)])
def test_control_plane_logs_expire(fixture_graphs, stack, days):
    graph = fixture_graphs[stack]
    group = one(graph, "aws:cloudwatch/logGroup:LogGroup", "control-plane")
    assert group["inputs"]["name"] == f"/aws/eks/picturesocial-{stack}/cluster"
    assert group["inputs"]["retentionInDays"] == days
    # EKS creates the group itself if it does not exist yet, without retention: ours must come first.
    assert group["urn"] in one(graph, EKS, "eks")["dependencies"]


def test_secrets_are_encrypted_with_a_rotating_key(fixture_graph):
    key = one(fixture_graph, "aws:kms/key:Key", "secrets")
    assert key["inputs"]["enableKeyRotation"] is True
    assert eks(fixture_graph)["encryptionConfigKeyArn"].endswith(key["id"])


def test_admins_and_the_preview_role_get_access_entries_and_the_deploy_role_none(fixture_graphs):
    cluster = eks(fixture_graphs["large"])
    assert cluster["authenticationMode"] == "API"
    entries = cluster["accessEntries"]
    # Keyed by role name: adding one renames none. The deploy role is admin as the cluster's creator (EKS
    # bootstrapClusterCreatorAdminPermissions): an entry of its own would be a 409 on CreateAccessEntry.
    assert set(entries) == {"admin-operators", "admin-break-glass", "preview"}
    admins = {e["principalArn"]: e["accessPolicies"] for k, e in entries.items() if k.startswith("admin-")}
    assert sorted(admins) == [
        "arn:aws:iam::210987654321:role/break-glass",
        "arn:aws:iam::210987654321:role/operators",
    ]
    for policies in admins.values():
        assert policies == {
            "cluster-admin": {
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                "accessScope": {"type": "cluster"},
            }
        }
    assert entries["preview"] == {
        "principalArn": "arn:aws:iam::210987654321:role/picturesocial-preview",
        "accessPolicies": {
            "view": {
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                "accessScope": {"type": "cluster"},
            }
        },
    }
    assert all(
        e["principalArn"] != "arn:aws:iam::210987654321:role/picturesocial-deploy" for e in entries.values()
    )


def test_the_endpoint_admits_the_deploy_runner_and_the_operators_only(fixture_graphs):
    small, large = eks(fixture_graphs["small"]), eks(fixture_graphs["large"])
    for cluster in (small, large):
        assert (cluster["endpointPrivateAccess"], cluster["endpointPublicAccess"]) == (True, True)
    # The runner's address is the account's Elastic IP tagged Name=<picturesocial:ci.runner>-egress: what the
    # fake cloud answers for exactly that lookup (made up offline).
    lookup = pulumi.runtime.MockCallArgs(
        "aws:ec2/getElasticIp:getElasticIp", {"tags": {"Name": "picturesocial-runner-small-egress"}}, ""
    )
    runner_ip = FakeCloud(region="us-east-1", account="123456789012").call(lookup)["publicIp"]
    assert small["publicAccessCidrs"][0] == f"{runner_ip}/32" and runner_ip in fixture_graphs["small"].fakes
    assert small["publicAccessCidrs"][1:] == ["52.94.133.0/24"]
    assert len(large["publicAccessCidrs"]) == 1 and large["publicAccessCidrs"][0].endswith("/32")


def test_addons_are_managed_at_pinned_versions(fixture_graph):
    cluster = eks(fixture_graph)
    # The pins for 1.36 (settings/addons.py cites where each comes from), written out: a test that read them
    # from the table under test would pass whatever the table said.
    assert cluster["bootstrapSelfManagedAddons"] is False
    assert cluster["vpcCniOptions"]["addonVersion"] == "v1.23.2-eksbuild.1"
    assert cluster["kubeProxyAddonOptions"]["version"] == "v1.36.0-eksbuild.45"
    coredns = one(fixture_graph, "aws:eks/addon:Addon", "coredns")["inputs"]
    assert (coredns["addonName"], coredns["addonVersion"]) == ("coredns", "v1.14.7-eksbuild.11")


def test_network_policies_are_enforced_and_the_vpc_cni_logs_at_info(fixture_graph):
    options = eks(fixture_graph)["vpcCniOptions"]
    assert options["enableNetworkPolicy"] is True
    # pulumi-eks defaults both the daemon and the plugin to DEBUG.
    assert options["logLevel"] == "INFO"
    assert options["configurationValues"] == {"env": {"AWS_VPC_K8S_PLUGIN_LOG_LEVEL": "INFO"}}


def test_coredns_is_created_after_the_node_groups(fixture_graphs):
    graph = fixture_graphs["large"]
    coredns = one(graph, "aws:eks/addon:Addon", "coredns")
    groups = {g["urn"] for g in graph.of_type(NODE_GROUP)}
    assert len(groups) == 2 and groups <= set(coredns["dependencies"])
    # pulumi-eks must not create its own coredns add-on before nodes exist.
    assert eks(graph)["corednsAddonOptions"]["enabled"] is False


def test_no_default_node_group_and_no_extra_security_groups(fixture_graph):
    cluster = eks(fixture_graph)
    assert cluster["skipDefaultNodeGroup"] is True
    assert cluster["skipDefaultSecurityGroups"] is True
    assert cluster["nodeAssociatePublicIpAddress"] is False


def test_oidc_provider_and_standard_support(fixture_graph):
    cluster = eks(fixture_graph)
    assert cluster["createOidcProvider"] is True
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}


@pytest.mark.parametrize("stack, protected", [("small", False), ("large", True)])
def test_deletion_protection_follows_the_stack(fixture_graphs, stack, protected):
    assert eks(fixture_graphs[stack])["deletionProtection"] is protected


def test_kubernetes_provider_has_a_stable_identity(fixture_graph):
    provider = one(fixture_graph, "pulumi:providers:kubernetes", "cluster")["inputs"]
    assert provider["clusterIdentifier"] == f"picturesocial-{fixture_graph.stack}"
    assert provider["kubeconfig"] == "[secret]"


def test_stack_outputs(fixture_graph):
    outputs = fixture_graph.outputs
    assert set(outputs) >= {
        "clusterName",
        "kubeconfig",
        "oidcProviderArn",
        "oidcProviderUrl",
        "vpcId",
        "privateSubnetIds",
        "publicSubnetIds",
        "repositoryUrls",
        "region",
    }
    assert outputs["clusterName"] == f"picturesocial-{fixture_graph.stack}"
    assert outputs["kubeconfig"] == "[secret]"
    assert outputs["oidcProviderArn"].startswith("arn:aws:iam::")
    assert json.dumps(outputs).count("[unknown]") == 0


def test_every_aws_resource_naming_the_cluster_waits_for_it(fixture_graph):
    # Add-ons, access entries and node groups take the cluster's name as a plain string: nothing orders them
    # after the control plane unless they depend on it, and EKS refuses them while it is being built.
    (cluster,) = fixture_graph.of_type(EKS)
    naming = [
        r
        for r in fixture_graph.resources
        if r["type"].startswith("aws:") and r["inputs"].get("clusterName") == cluster["inputs"]["name"]
    ]
    assert {r["type"] for r in naming} >= {"aws:eks/addon:Addon", "aws:eks/nodeGroup:NodeGroup"}
    assert [r["name"] for r in naming if not reaches(fixture_graph, r["urn"], cluster["urn"])] == []


def test_the_cluster_runs_as_a_service_role_of_ours_that_carries_the_boundary(fixture_graphs):
    # pulumi-eks would create `<name>-eksRole-role` inside its component, without a boundary, unless it is
    # given one (nodejs/eks/cluster/cluster.ts `if (!args.serviceRole)`), and an instance role unless told
    # not to: the offline graph shows the role we pass.
    for stack, graph in fixture_graphs.items():
        role = one(graph, "aws:iam/role:Role", "service-role")
        cluster = eks(graph)
        assert cluster["serviceRole"] == role["urn"], stack
        assert cluster["createInstanceRole"] is False
        assert json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {
            "Service": "eks.amazonaws.com"
        }
        account = {"small": "123456789012", "large": "210987654321"}[stack]
        assert role["inputs"]["permissionsBoundary"] == (
            f"arn:aws:iam::{account}:policy/boundaries/picturesocial-workload-boundary"
        )
        (attachment,) = [
            a
            for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if role["urn"] in a["dependencies"]
        ]
        assert attachment["inputs"]["policyArn"] == "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
        # EKS checks the role's policy when it creates the cluster.
        assert attachment["urn"] in one(graph, EKS, "eks")["dependencies"]
        # The aliases of the role and attachment pulumi-eks created: an existing cluster keeps its role.
        assert any("eks:index:ServiceRole$aws:iam/role:Role::eks-eksRole-role" in a for a in role["aliases"])
