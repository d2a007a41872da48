"""The VPC layout: private nodes, NAT per environment, discovery tags, stable subnet numbering."""

from __future__ import annotations

import ipaddress

import pytest
from conftest import synth_fixture
from graphq import NODE_GROUP, SUBNET

from infra.network import choose_zones, subnet_plan
from tools.offline import SynthError

ZONES = {"small": 2, "large": 3}


def private_subnet_ids(fixture_graph):
    return {
        r["id"]
        for r in fixture_graph.of_type(SUBNET)
        if r["inputs"]["tags"].get("kubernetes.io/role/internal-elb") == "1"
    }


def public_subnet_ids(fixture_graph):
    return {
        r["id"]
        for r in fixture_graph.of_type(SUBNET)
        if r["inputs"]["tags"].get("kubernetes.io/role/elb") == "1"
    }


def test_node_groups_span_every_private_subnet(fixture_graph):
    # That no node runs in a public subnet is the policy node-groups-private-subnets (test_policies.py).
    for group in fixture_graph.of_type(NODE_GROUP):
        assert set(group["inputs"]["subnetIds"]) == private_subnet_ids(fixture_graph)


def test_no_subnet_gives_instances_public_ips(fixture_graph):
    assert all(s["inputs"]["mapPublicIpOnLaunch"] is False for s in fixture_graph.of_type(SUBNET))


def test_one_public_and_one_private_subnet_per_zone(fixture_graph):
    zones = ZONES[fixture_graph.stack]
    subnets = fixture_graph.of_type(SUBNET)
    assert len(private_subnet_ids(fixture_graph)) == len(public_subnet_ids(fixture_graph)) == zones
    assert len({s["inputs"]["availabilityZoneId"] for s in subnets}) == zones


@pytest.mark.parametrize("stack, expected", [("small", 1), ("large", 3)])
def test_nat_gateway_count_follows_the_strategy(fixture_graphs, stack, expected):
    assert len(fixture_graphs[stack].of_type("aws:ec2/natGateway:NatGateway")) == expected


def test_per_az_nat_keeps_each_zone_on_its_own_gateway(fixture_graphs):
    prod = fixture_graphs["large"]
    nat_subnet = {n["id"]: n["inputs"]["subnetId"] for n in prod.of_type("aws:ec2/natGateway:NatGateway")}
    zone_of = {s["id"]: s["inputs"]["availabilityZoneId"] for s in prod.of_type(SUBNET)}
    routes = [r for r in prod.of_type("aws:ec2/route:Route") if "natGatewayId" in r["inputs"]]
    assert len(routes) == 3
    table_zone = {}
    for assoc in prod.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation"):
        table_zone[assoc["inputs"]["routeTableId"]] = zone_of[assoc["inputs"]["subnetId"]]
    for route in routes:
        assert (
            zone_of[nat_subnet[route["inputs"]["natGatewayId"]]]
            == table_zone[route["inputs"]["routeTableId"]]
        )


def test_subnets_carry_load_balancer_discovery_and_cluster_tags(fixture_graph):
    cluster_tag = f"kubernetes.io/cluster/picturesocial-{fixture_graph.stack}"
    for subnet in fixture_graph.of_type(SUBNET):
        tags = subnet["inputs"]["tags"]
        assert tags[cluster_tag] == "shared"
        is_private = subnet["name"].startswith("private-")
        assert tags.get("kubernetes.io/role/internal-elb") == ("1" if is_private else None)
        assert tags.get("kubernetes.io/role/elb") == (None if is_private else "1")
        # Tags EKS writes to subnets must not show up as drift on every refresh.
        assert f'tags["{cluster_tag}"]' in subnet["ignoreChanges"]


def test_subnets_lie_inside_the_vpc_and_never_overlap(fixture_graph):
    vpc = ipaddress.IPv4Network(fixture_graph.of_type("aws:ec2/vpc:Vpc")[0]["inputs"]["cidrBlock"])
    nets = [ipaddress.IPv4Network(s["inputs"]["cidrBlock"]) for s in fixture_graph.of_type(SUBNET)]
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_adding_a_zone_does_not_renumber_existing_subnets(fixture_graphs):
    wider = synth_fixture(
        "small",
        network={
            "cidr": "10.50.0.0/16",
            "availabilityZones": 3,
            "natGateways": "single",
            "vpcEndpoints": False,
        },
    )
    before = {s["name"]: s["inputs"]["cidrBlock"] for s in fixture_graphs["small"].of_type(SUBNET)}
    after = {s["name"]: s["inputs"]["cidrBlock"] for s in wider.of_type(SUBNET)}
    assert set(after) - set(before) == {"private-use1-az4", "public-use1-az4"}
    assert {name: after[name] for name in before} == before


def test_subnet_plan_for_the_reference_vpc():
    plan = subnet_plan(ipaddress.IPv4Network("10.0.0.0/16"), 0)
    assert (str(plan.private), str(plan.public)) == ("10.0.0.0/19", "10.0.192.0/22")
    last = subnet_plan(ipaddress.IPv4Network("10.0.0.0/16"), 5)
    assert (str(last.private), str(last.public)) == ("10.0.160.0/19", "10.0.212.0/22")


@pytest.mark.parametrize("stack, endpoints", [("small", 0), ("large", 5)])
def test_vpc_endpoints_only_where_enabled(fixture_graphs, stack, endpoints):
    found = fixture_graphs[stack].of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert len(found) == endpoints
    if endpoints:
        services = {e["inputs"]["serviceName"].removeprefix("com.amazonaws.eu-west-1.") for e in found}
        assert services == {"s3", "ecr.api", "ecr.dkr", "sts", "logs"}
        gateway = [e for e in found if e["inputs"]["vpcEndpointType"] == "Gateway"]
        assert [g["inputs"]["serviceName"] for g in gateway] == ["com.amazonaws.eu-west-1.s3"]


def test_node_groups_wait_for_their_subnets_egress(fixture_graph):
    egress = {r["urn"] for r in fixture_graph.of_type("aws:ec2/route:Route") if "natGatewayId" in r["inputs"]}
    egress |= {r["urn"] for r in fixture_graph.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert egress
    for group in fixture_graph.of_type(NODE_GROUP):
        assert egress <= set(group["dependencies"])


def test_subnets_are_placed_by_zone_id_and_never_where_eks_refuses_the_control_plane(fixture_graphs):
    # The fake cloud answers like a real us-east-1 account: names a-f map to use1-az4, az6, az1, az2, az3,
    # az5. use1-az3 (zone e) is one EKS refuses: three zones are az1, az2, az4, and a fourth skips az3 for
    # az5.
    wider = synth_fixture(
        "small",
        network={
            "cidr": "10.50.0.0/16",
            "availabilityZones": 4,
            "natGateways": "single",
            "vpcEndpoints": False,
        },
    )
    zones = {s["inputs"]["availabilityZoneId"] for s in wider.of_type(SUBNET)}
    assert zones == {"use1-az1", "use1-az2", "use1-az4", "use1-az5"}
    assert all("availabilityZone" not in s["inputs"] for s in wider.of_type(SUBNET))  # never by name
    assert {s["name"] for s in fixture_graphs["large"].of_type(SUBNET)} == {
        f"{kind}-euw1-az{n}" for kind in ("private", "public") for n in (1, 2, 3)
    }


def test_zone_choice_skips_the_zones_eks_refuses():
    assert choose_zones(["use1-az3", "use1-az1", "use1-az6", "use1-az2"], 3) == [
        "use1-az1",
        "use1-az2",
        "use1-az6",
    ]
    assert choose_zones(["usw1-az1", "usw1-az2", "usw1-az3"], 3) == ["usw1-az1", "usw1-az3"]
    assert choose_zones(["cac1-az1", "cac1-az2", "cac1-az3", "cac1-az4"], 3) == [
        "cac1-az1",
        "cac1-az2",
        "cac1-az4",
    ]


def test_too_few_usable_zones_stop_with_one_line():
    with pytest.raises(SynthError) as caught:
        synth_fixture(
            "small",
            network={
                "cidr": "10.50.0.0/16",
                "availabilityZones": 6,
                "natGateways": "single",
                "vpcEndpoints": False,
            },
        )
    assert str(caught.value) == (
        "picturesocial:network.availabilityZones: 6 is more than the 5 zones of us-east-1 that "
        "EKS accepts (use1-az1, use1-az2, use1-az4, use1-az5, use1-az6)"
    )
