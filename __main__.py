"""Picturesocial platform: wires the typed stack settings to components and exports outputs."""

import pulumi

import settings
from infra.addons import NodeAddons
from infra.cluster import Cluster
from infra.network import Network
from infra.node_groups import NodeGroups
from infra.provider import aws_provider
from infra.registry import Registry

try:
    config = settings.from_pulumi()
except settings.SettingsError as exc:
    # RunError: the CLI prints the message alone, without a Python traceback.
    raise pulumi.RunError(str(exc)) from None

on_aws = pulumi.ResourceOptions(providers=[aws_provider(config)])

network = Network("network", config.network, cluster_name=config.cluster_name, region=config.region,
                  protect=config.protect, opts=on_aws)
cluster = Cluster("cluster", config.cluster, cluster_name=config.cluster_name, vpc_id=network.vpc_id,
                  private_subnet_ids=network.private_subnet_ids, protect=config.protect, opts=on_aws)
node_groups = NodeGroups("node-groups", config.node_groups, cluster_name=config.cluster_name,
                         kubernetes_version=config.cluster.version, subnet_ids=network.private_subnet_ids,
                         instance_tags=config.tags, depends_on=[cluster.cluster, *network.egress], opts=on_aws)
NodeAddons("node-addons", cluster_name=config.cluster_name, versions=config.cluster.addons,
           node_groups=list(node_groups.groups.values()), opts=on_aws)
registry = Registry("registry", config.registry, api_names=sorted(config.apis),
                    prefix=config.cluster_name, opts=on_aws)

pulumi.export("region", config.region)
pulumi.export("clusterName", config.cluster_name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
pulumi.export("oidcProviderUrl", cluster.oidc_provider_url)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("publicSubnetIds", network.public_subnet_ids)
pulumi.export("repositoryUrls", registry.repository_urls)
