"""Managed node groups: own launch template (IMDSv2 hop 1, encrypted gp3), bounded rolling updates."""

from __future__ import annotations

from conftest import stack_file

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def test_every_root_volume_is_encrypted_gp3(graph):
    groups = stack_file(graph.stack)["picturesocial:nodeGroups"]
    for template in graph.of_type(LAUNCH_TEMPLATE):
        (mapping,) = template["inputs"]["blockDeviceMappings"]
        assert mapping["ebs"]["volumeType"] == "gp3"
        assert mapping["ebs"]["encrypted"] == "true"
        assert mapping["ebs"]["volumeSize"] == groups[template["name"]]["diskSizeGiB"]


def test_one_node_group_per_entry_through_its_own_launch_template(graph):
    groups = stack_file(graph.stack)["picturesocial:nodeGroups"]
    templates = {t["name"]: t for t in graph.of_type(LAUNCH_TEMPLATE)}
    found = {g["name"]: g for g in graph.of_type(NODE_GROUP)}
    assert set(found) == set(groups) == set(templates)
    for name, group in found.items():
        assert group["inputs"]["launchTemplate"]["id"] == templates[name]["id"]
        assert "diskSize" not in group["inputs"]  # set in the launch template, or EKS rejects the group
        assert "remoteAccess" not in group["inputs"]  # no SSH


def test_node_groups_follow_the_stack_settings(graph):
    groups = stack_file(graph.stack)["picturesocial:nodeGroups"]
    for group in graph.of_type(NODE_GROUP):
        wanted, got = groups[group["name"]], group["inputs"]
        assert got["instanceTypes"] == wanted["instanceTypes"]
        assert got["capacityType"] == wanted["capacityType"]
        assert got["scalingConfig"] == {"minSize": wanted["minSize"], "maxSize": wanted["maxSize"],
                                        "desiredSize": wanted["desiredSize"]}
        assert got["labels"] == wanted["labels"]
        assert got["version"] == stack_file(graph.stack)["picturesocial:cluster"]["version"]


def test_rolling_updates_are_bounded(graph):
    for group in graph.of_type(NODE_GROUP):
        assert group["inputs"]["updateConfig"] == {"maxUnavailable": 1}


def test_node_groups_are_auto_named_so_replacements_can_be_created_first(graph):
    for group in graph.of_type(NODE_GROUP):
        assert "nodeGroupName" not in group["inputs"]


def test_dev_runs_on_spot_and_prod_on_demand_across_three_zones(graphs):
    (dev,) = graphs["dev"].of_type(NODE_GROUP)
    (prod,) = graphs["prod"].of_type(NODE_GROUP)
    assert dev["inputs"]["capacityType"] == "SPOT"
    assert prod["inputs"]["capacityType"] == "ON_DEMAND"
    assert len(prod["inputs"]["subnetIds"]) == 3


def test_nodes_get_read_only_registry_access(graph):
    policies = {a["inputs"]["policyArn"].rsplit("/", 1)[-1]
                for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a["name"].startswith("node-role-")}
    assert "AmazonEC2ContainerRegistryReadOnly" in policies
    assert not any("FullAccess" in p or "PowerUser" in p for p in policies)
