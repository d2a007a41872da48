"""The VPC: public and private subnets per AZ, NAT per strategy, route tables and VPC endpoints."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.context import Environment
from settings.models import NetworkSettings

MAX_AZS = 6
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "logs")
# Zone IDs EKS refuses for control-plane subnets ("CreateCluster ... cannot create cluster ... because ...
# does not currently have sufficient capacity"): us-east-1 use1-az3, us-west-1 usw1-az2, ca-central-1 cac1-az3
# (EKS user guide, "View Amazon EKS networking requirements for VPC and subnets", 2026). Zone *names* map to
# different zone IDs in every account, so zones are chosen, named and placed by ID.
EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})


def choose_zones(zone_ids: list[str], count: int) -> list[str]:
    """The first ``count`` zone IDs EKS accepts, in ID order: the same physical zones in every account, and
    the choice only grows when ``count`` does."""
    return sorted(z for z in zone_ids if z not in EKS_UNSUPPORTED_ZONE_IDS)[:count]


@dataclass(frozen=True)
class SubnetPlan:
    private: ipaddress.IPv4Network
    public: ipaddress.IPv4Network


def subnet_plan(cidr: ipaddress.IPv4Network, az_index: int) -> SubnetPlan:
    """The subnets of the AZ at ``az_index``, from the VPC CIDR alone.

    The VPC is cut into 8 equal blocks: blocks 0-5 are the private subnets of AZs 0-5 (large: with the
    VPC CNI every pod takes a VPC address), block 6 is cut into 8 public subnets (load balancers and NAT
    only), block 7 is spare. The position of a subnet depends on its AZ index only, so adding an AZ
    never renumbers the existing ones.
    """
    if not 0 <= az_index < MAX_AZS:
        raise ValueError(f"az_index {az_index} outside 0..{MAX_AZS - 1}")
    blocks = list(cidr.subnets(prefixlen_diff=3))
    public_blocks = list(blocks[6].subnets(prefixlen_diff=3))
    return SubnetPlan(private=blocks[az_index], public=public_blocks[az_index])


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]
    # What a node in a private subnet needs before it can pull images and join the cluster.
    egress: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        settings: NetworkSettings,
        environment: Environment,
        *,
        private_subnet_tags: dict[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:infra:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster_name, region = environment.names.cluster, environment.region

        zones = aws.get_availability_zones(
            state="available",
            # Local Zones and Wavelength Zones are opt-in and lack EKS capacity.
            filters=[
                aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])
            ],
            opts=pulumi.InvokeOptions(parent=self),
        )
        chosen = choose_zones(list(zones.zone_ids), settings.availability_zones)
        if len(chosen) < settings.availability_zones:
            raise pulumi.RunError(
                f"picturesocial:network.availabilityZones: {settings.availability_zones} is more than the "
                f"{len(chosen)} zones of {region} that EKS accepts ({', '.join(chosen)})"
            )

        vpc = aws.ec2.Vpc(
            "vpc",
            cidr_block=str(settings.cidr),
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": cluster_name},
            opts=pulumi.ResourceOptions(parent=self, protect=environment.protect),
        )
        igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id, tags={"Name": cluster_name}, opts=child)

        public_rt = aws.ec2.RouteTable(
            "public", vpc_id=vpc.id, tags={"Name": f"{cluster_name}-public"}, opts=child
        )
        aws.ec2.Route(
            "public-internet",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )

        cluster_tag = f"kubernetes.io/cluster/{cluster_name}"
        # EKS and the load balancer controller may add or rewrite the cluster tag themselves; a
        # refresh must not show that as drift (pulumi-eks #271).
        ignore_cluster_tag = [f'tags["{cluster_tag}"]', f'tagsAll["{cluster_tag}"]']

        def subnet(
            kind: str, zone: str, cidr: str, load_balancer_role: str, extra_tags: dict[str, str] | None = None
        ) -> aws.ec2.Subnet:
            # Logical names carry the zone ID (use1-az1): what the subnet is, stable when the list grows. The
            # role tag tells the load balancer controller where internet-facing (elb) or internal NLBs may go.
            return aws.ec2.Subnet(
                f"{kind}-{zone}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone_id=zone,
                map_public_ip_on_launch=False,
                tags={
                    "Name": f"{cluster_name}-{kind}-{zone}",
                    load_balancer_role: "1",
                    cluster_tag: "shared",
                    **(extra_tags or {}),
                },
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=ignore_cluster_tag),
            )

        public_subnets: dict[str, aws.ec2.Subnet] = {}
        private_subnets: dict[str, aws.ec2.Subnet] = {}
        for index, zone in enumerate(chosen):
            plan = subnet_plan(settings.cidr, index)
            public_subnets[zone] = subnet("public", zone, str(plan.public), "kubernetes.io/role/elb")
            aws.ec2.RouteTableAssociation(
                f"public-{zone}", subnet_id=public_subnets[zone].id, route_table_id=public_rt.id, opts=child
            )
            private_subnets[zone] = subnet(
                "private", zone, str(plan.private), "kubernetes.io/role/internal-elb", private_subnet_tags
            )

        # NAT: one in the first zone (dev: cheap, one point of failure) or one per zone (prod).
        nat_zones = list(public_subnets) if settings.nat_gateways == "perAz" else chosen[:1]
        nats: dict[str, aws.ec2.NatGateway] = {}
        for zone in nat_zones:
            eip = aws.ec2.Eip(
                f"nat-{zone}", domain="vpc", tags={"Name": f"{cluster_name}-nat-{zone}"}, opts=child
            )
            nats[zone] = aws.ec2.NatGateway(
                f"nat-{zone}",
                allocation_id=eip.id,
                subnet_id=public_subnets[zone].id,
                tags={"Name": f"{cluster_name}-nat-{zone}"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
            )

        self.egress = []
        private_tables = []
        for zone, private in private_subnets.items():
            table = aws.ec2.RouteTable(
                f"private-{zone}", vpc_id=vpc.id, tags={"Name": f"{cluster_name}-private-{zone}"}, opts=child
            )
            aws.ec2.RouteTableAssociation(
                f"private-{zone}", subnet_id=private.id, route_table_id=table.id, opts=child
            )
            nat = nats.get(zone, nats[nat_zones[0]])
            self.egress.append(
                aws.ec2.Route(
                    f"private-{zone}-nat",
                    route_table_id=table.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat.id,
                    opts=child,
                )
            )
            private_tables.append(table)

        if settings.vpc_endpoints:
            self.egress.append(
                aws.ec2.VpcEndpoint(
                    "s3",
                    vpc_id=vpc.id,
                    service_name=f"com.amazonaws.{region}.s3",
                    vpc_endpoint_type="Gateway",
                    route_table_ids=[t.id for t in private_tables],
                    tags={"Name": f"{cluster_name}-s3"},
                    opts=child,
                )
            )
            endpoint_sg = aws.ec2.SecurityGroup(
                "endpoints",
                vpc_id=vpc.id,
                description="HTTPS from the VPC to interface endpoints",
                tags={"Name": f"{cluster_name}-endpoints"},
                opts=child,
            )
            aws.vpc.SecurityGroupIngressRule(
                "endpoints-https",
                security_group_id=endpoint_sg.id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ipv4=str(settings.cidr),
                description="HTTPS from the VPC",
                opts=child,
            )
            for service in INTERFACE_ENDPOINTS:
                self.egress.append(
                    aws.ec2.VpcEndpoint(
                        service.replace(".", "-"),
                        vpc_id=vpc.id,
                        service_name=f"com.amazonaws.{region}.{service}",
                        vpc_endpoint_type="Interface",
                        private_dns_enabled=True,
                        subnet_ids=[s.id for s in private_subnets.values()],
                        security_group_ids=[endpoint_sg.id],
                        tags={"Name": f"{cluster_name}-{service}"},
                        opts=child,
                    )
                )

        self.vpc_id = vpc.id
        self.private_subnet_ids = [s.id for s in private_subnets.values()]
        self.public_subnet_ids = [s.id for s in public_subnets.values()]
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
            }
        )
