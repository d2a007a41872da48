"""Picturesocial platform: wires the typed stack settings to components and exports outputs."""

from pathlib import Path

import pulumi

import settings
from infra.addons import MetricsServer, NodeAddons
from infra.ci import runner_egress_cidr
from infra.cluster import Cluster
from infra.data_stores import DataStores
from infra.load_balancer_controller import LoadBalancerController
from infra.network import Network
from infra.node_groups import NodeGroups
from infra.provider import providers
from infra.registry import Registry
from workloads.api import ApiWorkload, DataAccess
from workloads.namespace import ApiNamespace

try:
    config = settings.from_pulumi(Path(__file__).parent)
except settings.SettingsError as exc:
    # RunError: the CLI prints the message alone, without a Python traceback.
    raise pulumi.RunError(str(exc)) from None
stack = config.stack  # the stack file's values; config.apis and config.catalog add the API catalog

explicit = providers(stack)
on_aws = explicit.for_aws

# -- AWS platform --------------------------------------------------------------------------------
network = Network("network", stack.network, cluster_name=stack.cluster_name, region=stack.region,
                  protect=stack.protect, opts=on_aws)
operators = [str(cidr) for cidr in stack.cluster.endpoint.public_cidrs]
cluster = Cluster("cluster", stack.cluster, cluster_name=stack.cluster_name, vpc_id=network.vpc_id,
                  private_subnet_ids=network.private_subnet_ids,
                  public_access_cidrs=runner_egress_cidr(stack.ci).apply(lambda runner: [runner, *operators]),
                  preview_role_arn=stack.ci.preview_role_arn, protect=stack.protect, opts=on_aws)
node_groups = NodeGroups("node-groups", stack.node_groups, cluster_name=stack.cluster_name,
                         kubernetes_version=stack.cluster.version, subnet_ids=network.private_subnet_ids,
                         instance_tags=stack.tags, depends_on=[cluster.cluster, *network.egress], opts=on_aws)
nodes = list(node_groups.groups.values())
node_addons = NodeAddons("node-addons", cluster_name=stack.cluster_name, versions=stack.cluster.addons,
                         node_groups=nodes, opts=on_aws)
running = [*nodes, node_addons.coredns]  # what anything with pods needs first
registry = Registry("registry", stack.registry, prefix=stack.cluster_name, protect=stack.protect, opts=on_aws,
                    deployed_tags={name: [api.tag] + ([api.canary.tag] if api.canary else [])
                                   for name, api in config.apis.items()})
data = DataStores("data", config.catalog, prefix=stack.cluster_name, protect=stack.protect, opts=on_aws)

# -- platform add-ons on the cluster ---------------------------------------------------------------
on_cluster = pulumi.ResourceOptions(providers=[cluster.provider, explicit.aws])
MetricsServer("metrics-server", k8s_provider=cluster.provider, needs=running, opts=on_cluster)
lb_controller = LoadBalancerController(
    "load-balancer-controller", cluster_name=stack.cluster_name, region=stack.region, vpc_id=network.vpc_id,
    oidc_provider_arn=cluster.oidc_provider_arn, oidc_provider_url=cluster.oidc_provider_url,
    k8s_provider=cluster.provider, needs=running, opts=on_cluster)

# -- the APIs, one namespace per business domain ------------------------------------------------------
namespaces = {}
for namespace, apis in config.catalog.namespaces.items():
    calls = [(api.namespace, api.spec.port) for api in config.apis.values() if namespace in api.spec.allow_from]
    load_balanced = any(config.apis[api].spec.exposed for api in apis)
    namespaces[namespace] = ApiNamespace(namespace, egress_to=calls, load_balanced=load_balanced,
                                         protect=stack.protect, opts=on_cluster)
access = DataAccess(
    bucket_names={k: b.bucket for k, b in data.buckets.items()}, bucket_arns={k: b.arn for k, b in data.buckets.items()},
    table_names={k: t.name for k, t in data.tables.items()}, table_arns={k: t.arn for k, t in data.tables.items()})
for name, api in config.apis.items():
    ApiWorkload(name, api, repository_url=registry.repository_urls[name], region=stack.region,
                vpc_cidr=str(stack.network.cidr), oidc_provider_arn=cluster.oidc_provider_arn,
                oidc_provider_url=cluster.oidc_provider_url, data=access, load_balancer_controller=lb_controller.release,
                opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(
                    depends_on=[namespaces[api.namespace].namespace])))

pulumi.export("region", stack.region)
pulumi.export("clusterName", stack.cluster_name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
pulumi.export("oidcProviderUrl", cluster.oidc_provider_url)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("publicSubnetIds", network.public_subnet_ids)
pulumi.export("repositoryUrls", registry.repository_urls)
pulumi.export("namespaces", config.catalog.namespaces)
pulumi.export("buckets", {k: b.bucket for k, b in data.buckets.items()})
pulumi.export("tables", {k: t.name for k, t in data.tables.items()})
