"""Karpenter (fixture project: `small` one spot pool; `large` an on-demand+spot pool and an arm64 Bottlerocket
pool): the AWS side, the controller, the node classes and pools, and what enabling it changes."""

from __future__ import annotations

import json

import pytest
from conftest import fixture_config, synth_fixture
from graphq import HELM, NODE_GROUP, ROLE, ROLE_POLICY, SUBNET, one

from tools.diff import diff

QUEUE = "aws:sqs/queue:Queue"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
KARPENTER = "picturesocial:infra:Karpenter"


def in_karpenter(graph, typ):
    return [r for r in graph.of_type(typ) if "picturesocial:infra:Karpenter$" in r["urn"]]


def test_the_interruption_queue_is_encrypted_short_lived_and_fed_by_five_rules(fixture_graphs):
    graph = fixture_graphs["large"]
    queue = one(graph, QUEUE, "interruptions")
    assert queue["inputs"]["name"] == "picturesocial-large-karpenter"
    assert (queue["inputs"]["messageRetentionSeconds"], queue["inputs"]["sqsManagedSseEnabled"]) == (
        300,
        True,
    )
    patterns = {r["name"]: json.loads(r["inputs"]["eventPattern"]) for r in graph.of_type(RULE)}
    assert patterns == {
        "health": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
        "spot-interruption": {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Spot Instance Interruption Warning"],
        },
        "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
        "instance-state-change": {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Instance State-change Notification"],
        },
        "capacity-reservation-interruption": {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"],
        },
    }
    arn = "arn:aws:sqs:eu-west-1:210987654321:picturesocial-large-karpenter"
    assert {t["name"]: t["inputs"]["arn"] for t in graph.of_type(TARGET)} == dict.fromkeys(patterns, arn)
    statements = json.loads(
        one(graph, "aws:sqs/queuePolicy:QueuePolicy", "interruptions")["inputs"]["policy"]
    )["Statement"]
    sends, deny = statements
    assert sends["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}
    assert (sends["Action"], sends["Resource"]) == ("sqs:SendMessage", arn)
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


def test_karpenters_nodes_join_through_an_ec2_linux_access_entry_with_the_node_policies(fixture_graphs):
    graph = fixture_graphs["large"]
    (entry,) = graph.of_type("aws:eks/accessEntry:AccessEntry")
    assert entry["inputs"]["type"] == "EC2_LINUX"
    assert (
        entry["inputs"]["principalArn"] == "arn:aws:iam::210987654321:role/picturesocial-large-karpenter-node"
    )
    assert not graph.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    role = next(r for r in in_karpenter(graph, ROLE) if r["name"] == "node-role")
    attached = sorted(
        a["inputs"]["policyArn"]
        for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["parent"] == role["parent"] and a["name"].startswith("node-role-")
    )
    assert attached == [
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    ]


def test_the_private_subnets_and_the_cluster_security_group_carry_the_discovery_tag(fixture_graphs):
    graph = fixture_graphs["large"]
    tags = {s["name"]: s["inputs"]["tags"].get("karpenter.sh/discovery") for s in graph.of_type(SUBNET)}
    assert {name: tag for name, tag in tags.items() if name.startswith("private-")} == {
        name: "picturesocial-large" for name in tags if name.startswith("private-")
    }
    assert {tag for name, tag in tags.items() if name.startswith("public-")} == {None}
    (tag,) = graph.of_type("aws:ec2/tag:Tag")
    assert (tag["inputs"]["key"], tag["inputs"]["value"]) == ("karpenter.sh/discovery", "picturesocial-large")
    assert tag["inputs"]["resourceId"].startswith("sg-")


def test_the_controller_role_is_scoped_as_upstream_scopes_it(fixture_graphs):
    graph = fixture_graphs["large"]
    role = one(graph, ROLE, "controller")
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:karpenter" in trust.values()
    statements = {
        s["Sid"]: s
        for s in json.loads(one(graph, ROLE_POLICY, "controller")["inputs"]["policy"])["Statement"]
    }
    actions = {
        a
        for s in statements.values()
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not [a for a in actions if a.endswith(":*")]
    assert statements["AllowPassingInstanceRole"]["Resource"] == (
        "arn:aws:iam::210987654321:role/picturesocial-large-karpenter-node"
    )
    assert statements["AllowInterruptionQueueActions"]["Resource"] == (
        "arn:aws:sqs:eu-west-1:210987654321:picturesocial-large-karpenter"
    )
    deletion = statements["AllowScopedDeletion"]["Condition"]["StringEquals"]
    assert deletion == {"aws:ResourceTag/kubernetes.io/cluster/picturesocial-large": "owned"}
    assert statements["AllowRegionalReadActions"]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": "eu-west-1"}
    }


def test_the_controller_comes_after_the_node_groups_dns_and_its_crds_on_the_managed_nodes(fixture_graphs):
    graph = fixture_graphs["large"]
    crds, controller = one(graph, HELM, "karpenter-crd"), one(graph, HELM, "karpenter")
    assert (crds["inputs"]["chart"], crds["inputs"]["version"]) == (
        "oci://public.ecr.aws/karpenter/karpenter-crd",
        "1.15.0",
    )
    assert (controller["inputs"]["chart"], controller["inputs"]["skipCrds"]) == (
        "oci://public.ecr.aws/karpenter/karpenter",
        True,
    )
    needs = {r["urn"] for r in graph.of_type(NODE_GROUP)} | {
        crds["urn"],
        one(graph, "aws:eks/addon:Addon", "coredns")["urn"],
    }
    assert needs <= set(controller["dependencies"])
    values = controller["inputs"]["values"]
    assert values["settings"]["clusterName"] == "picturesocial-large"
    assert values["settings"]["interruptionQueue"] == "picturesocial-large-karpenter"
    assert values["settings"]["clusterEndpoint"].startswith("https://")
    assert values["replicas"] == 2 and values["podDisruptionBudget"]["maxUnavailable"] == 1
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms == [
        {
            "matchExpressions": [
                {"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"},
                {"key": "eks.amazonaws.com/nodegroup", "operator": "Exists"},
            ]
        }
    ]


def test_one_node_class_per_ami_family_in_use_hardened_and_pinned(fixture_graphs):
    classes = {
        r["inputs"]["metadata"]["name"]: r["inputs"]["spec"]
        for r in fixture_graphs["large"].of_type(NODE_CLASS)
    }
    assert sorted(classes) == ["al2023", "bottlerocket"]
    al2023, bottlerocket = classes["al2023"], classes["bottlerocket"]
    assert al2023["amiSelectorTerms"] == [{"alias": "al2023@v20261112"}]
    assert bottlerocket["amiSelectorTerms"] == [{"alias": "bottlerocket@v1.68.1"}]
    assert al2023["role"] == "picturesocial-large-karpenter-node"
    assert al2023["metadataOptions"]["httpTokens"] == "required"
    assert al2023["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert al2023["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "rootVolume": True,
            "ebs": {
                "volumeSize": "80Gi",
                "volumeType": "gp3",
                "encrypted": True,
                "deleteOnTermination": True,
            },
        }
    ]
    # Bottlerocket's data volume is the root volume Karpenter sizes ephemeral-storage from, not the 4 GiB OS
    # one (karpenter-provider-aws pkg/providers/instancetype/types.go, ephemeralStorage).
    assert [(d["deviceName"], d.get("rootVolume")) for d in bottlerocket["blockDeviceMappings"]] == [
        ("/dev/xvda", None),
        ("/dev/xvdb", True),
    ]
    assert bottlerocket["blockDeviceMappings"][1]["ebs"]["volumeSize"] == "80Gi"
    discovery = [{"tags": {"karpenter.sh/discovery": "picturesocial-large"}}]
    assert al2023["subnetSelectorTerms"] == discovery and al2023["securityGroupSelectorTerms"] == discovery
    assert al2023["tags"] == {"project": "picturesocial", "environment": "large", "managed-by": "pulumi"}
    assert fixture_graphs["small"].of_type(NODE_CLASS)[0]["inputs"]["metadata"]["name"] == "al2023"


def test_node_pools_carry_requirements_limits_disruption_and_wait_for_the_controller(fixture_graphs):
    graph = fixture_graphs["large"]
    pools = {r["inputs"]["metadata"]["name"]: r for r in graph.of_type(NODE_POOL)}
    default = pools["default"]["inputs"]["spec"]
    assert default["template"]["spec"]["requirements"] == [
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand", "spot"]},
        {"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": ["c", "m", "r"]},
        {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["5"]},
        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
    ]
    assert default["limits"] == {"cpu": "64", "memory": "256Gi"}
    assert default["disruption"] == {
        "consolidationPolicy": "WhenEmptyOrUnderutilized",
        "consolidateAfter": "5m",
        "budgets": [{"nodes": "10%"}, {"nodes": "0", "schedule": "0 8 * * mon-fri", "duration": "10h"}],
    }
    assert default["template"]["spec"]["expireAfter"] == "720h" and default["weight"] == 50
    assert default["template"]["spec"]["nodeClassRef"] == {
        "group": "karpenter.k8s.aws",
        "kind": "EC2NodeClass",
        "name": "al2023",
    }
    arm = pools["arm"]["inputs"]["spec"]["template"]
    assert arm["spec"]["taints"] == [{"key": "arch", "value": "arm64", "effect": "NoSchedule"}]
    assert arm["metadata"] == {"labels": {"workload": "arm"}} and arm["spec"]["expireAfter"] == "Never"
    controller = one(graph, HELM, "karpenter")["urn"]
    for pool in [*pools.values(), *graph.of_type(NODE_CLASS)]:
        assert controller in pool["dependencies"], pool["name"]


def test_a_gpu_pool_with_its_taint_is_expressible():
    karpenter = fixture_config("small")["picturesocial:karpenter"]
    gpu = {
        "capacityTypes": ["on-demand"],
        "instanceCategories": ["g"],
        "limits": {"cpu": "32", "memory": "128Gi"},
        "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
        "labels": {"accelerator": "nvidia"},
    }
    graph = synth_fixture(
        "small", karpenter={**karpenter, "nodePools": {**karpenter["nodePools"], "gpu": gpu}}
    )
    spec = next(r for r in graph.of_type(NODE_POOL) if r["inputs"]["metadata"]["name"] == "gpu")["inputs"][
        "spec"
    ]
    assert spec["template"]["spec"]["taints"] == [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]
    assert {"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": ["g"]} in spec[
        "template"
    ]["spec"]["requirements"]


def test_enabling_karpenter_on_a_running_stack_is_creates_and_in_place_updates(fixture_graphs):
    before = synth_fixture("small", karpenter=None)
    after = fixture_graphs["small"]
    changes, _ = diff(json.loads(before.to_json()), json.loads(after.to_json()))
    assert not [c for c in changes if c.kind in ("replace", "delete")]
    updated = sorted(
        (c.type, c.urn.rsplit("::", 1)[-1], tuple(c.paths)) for c in changes if c.kind == "update"
    )
    assert updated == [
        (SUBNET, "private-use1-az1", ("tags.karpenter.sh/discovery",)),
        (SUBNET, "private-use1-az2", ("tags.karpenter.sh/discovery",)),
    ]
    created = {c.type for c in changes if c.kind == "create"}
    assert {QUEUE, RULE, TARGET, NODE_POOL, NODE_CLASS, HELM, "aws:eks/accessEntry:AccessEntry"} <= created


@pytest.mark.live
def test_every_live_stack_running_karpenter_has_its_queue_rules_entry_tags_and_pools(graphs):
    for stack, graph in graphs.items():
        if not graph.of_type(QUEUE) and not graph.of_type(NODE_POOL):
            continue  # Karpenter is off in this stack (picturesocial:karpenter.enabled): nothing to hold
        assert len(graph.of_type(RULE)) == 5, stack
        (queue,) = graph.of_type(QUEUE)
        assert queue["inputs"]["sqsManagedSseEnabled"] is True, stack
        assert [e["inputs"]["type"] for e in graph.of_type("aws:eks/accessEntry:AccessEntry")] == [
            "EC2_LINUX"
        ]
        private = [s for s in graph.of_type(SUBNET) if s["name"].startswith("private-")]
        assert all(
            s["inputs"]["tags"]["karpenter.sh/discovery"] == graph.outputs["clusterName"] for s in private
        )
        controller = one(graph, HELM, "karpenter")
        assert {g["urn"] for g in graph.of_type(NODE_GROUP)} <= set(controller["dependencies"]), stack
        pools = graph.of_type(NODE_POOL)
        assert pools and all(controller["urn"] in p["dependencies"] for p in pools), stack
        assert all(p["inputs"]["spec"]["limits"] for p in pools), stack


def inline_policies_over_the_iam_limit(graph) -> list[tuple[str, int]]:
    # IAM refuses a role whose inline policies exceed 10,240 characters, whitespace not counted (IAM user
    # guide, "IAM and AWS STS quotas"): the mocks accept anything.
    sizes = [
        (policy["name"], len("".join(policy["inputs"]["policy"].split())))
        for policy in graph.of_type(ROLE_POLICY)
    ]
    return [(name, size) for name, size in sizes if size > 10_240]


@pytest.mark.live
def test_every_inline_iam_policy_of_every_live_stack_fits_the_limit_iam_enforces(graphs):
    assert {stack: inline_policies_over_the_iam_limit(graph) for stack, graph in graphs.items()} == {
        stack: [] for stack in graphs
    }


def test_every_inline_iam_policy_of_the_fixture_stacks_fits_the_limit_iam_enforces(fixture_graphs):
    assert [inline_policies_over_the_iam_limit(graph) for graph in fixture_graphs.values()] == [[], []]
