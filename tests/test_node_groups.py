"""Managed node groups: own launch template (IMDSv2 hop 1, encrypted gp3), bounded rolling updates."""

from __future__ import annotations

from graphq import NODE_GROUP, one

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def test_every_root_volume_is_encrypted_gp3_of_the_configured_size(fixture_graphs):
    expected = {("small", "general"): 30, ("large", "general"): 50, ("large", "arm"): 30}
    found = {}
    for stack, graph in fixture_graphs.items():
        for template in graph.of_type(LAUNCH_TEMPLATE):
            (mapping,) = template["inputs"]["blockDeviceMappings"]
            assert mapping["ebs"]["volumeType"] == "gp3"
            assert mapping["ebs"]["encrypted"] == "true"
            found[(stack, template["name"])] = mapping["ebs"]["volumeSize"]
    assert found == expected


def test_one_node_group_per_entry_through_its_own_launch_template(fixture_graph):
    templates = {t["name"]: t for t in fixture_graph.of_type(LAUNCH_TEMPLATE)}
    groups = {g["name"]: g for g in fixture_graph.of_type(NODE_GROUP)}
    assert (
        set(groups)
        == set(templates)
        == ({"general"} if fixture_graph.stack == "small" else {"general", "arm"})
    )
    for name, group in groups.items():
        assert group["inputs"]["launchTemplate"]["id"] == templates[name]["id"]
        assert "diskSize" not in group["inputs"]  # set in the launch template, or EKS rejects the group
        assert "remoteAccess" not in group["inputs"]  # no SSH


def test_node_groups_follow_the_stack_settings(fixture_graphs):
    small = one(fixture_graphs["small"], NODE_GROUP, "general")["inputs"]
    assert (small["instanceTypes"], small["capacityType"]) == (["t3.medium", "t3a.medium"], "SPOT")
    # desiredSize defaults to minSize.
    assert small["scalingConfig"] == {"minSize": 2, "maxSize": 4, "desiredSize": 2}
    assert small["labels"] == {"workload": "general"} and small["version"] == "1.36"
    arm = one(fixture_graphs["large"], NODE_GROUP, "arm")["inputs"]
    assert (arm["amiType"], arm["capacityType"]) == ("AL2023_ARM_64_STANDARD", "ON_DEMAND")
    assert arm["taints"] == [{"key": "arch", "value": "arm64", "effect": "NO_SCHEDULE"}]
    general = one(fixture_graphs["large"], NODE_GROUP, "general")["inputs"]
    assert general["scalingConfig"] == {"minSize": 3, "maxSize": 9, "desiredSize": 4}


def test_rolling_updates_are_bounded(fixture_graphs):
    assert one(fixture_graphs["small"], NODE_GROUP, "general")["inputs"]["updateConfig"] == {
        "maxUnavailable": 1
    }
    assert one(fixture_graphs["large"], NODE_GROUP, "general")["inputs"]["updateConfig"] == {
        "maxUnavailable": 2
    }


def test_node_groups_are_auto_named_so_replacements_can_be_created_first(fixture_graph):
    for group in fixture_graph.of_type(NODE_GROUP):
        assert "nodeGroupName" not in group["inputs"]


def test_nodes_get_read_only_registry_access_and_nothing_broad(fixture_graph):
    policies = {
        a["inputs"]["policyArn"].rsplit("/", 1)[-1]
        for a in fixture_graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["name"].startswith("node-role-")
    }
    assert policies == {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
        "AmazonSSMManagedInstanceCore",
    }
