"""Picturesocial platform: wires the typed stack settings to components and exports outputs."""

from pathlib import Path

import pulumi

import settings
from infra.addons import cluster_addons
from infra.budget import Budget
from infra.cluster import Cluster
from infra.context import ClusterContext
from infra.data_stores import DataStores
from infra.edge import PublicEdge
from infra.karpenter import Karpenter, karpenter_discovery_tags
from infra.network import Network
from infra.node_groups import NodeGroups
from infra.observability import Alarms, ContainerInsights
from infra.provider import environment
from infra.registry import Registry
from workloads.api import ApiWorkload
from workloads.namespace import ApiNamespace

try:
    config = settings.from_pulumi(Path(__file__).parent)
except settings.SettingsError as exc:
    # RunError: the CLI prints the message alone, without a Python traceback.
    raise pulumi.RunError(str(exc)) from None
for warning in config.warnings:  # e.g. a Kubernetes version near its end of support
    pulumi.log.warn(warning)
stack = config.stack
env = environment(stack)

# -- AWS platform --------------------------------------------------------------------------------------------
network = Network(
    "network", stack.network, env, private_subnet_tags=karpenter_discovery_tags(stack), opts=env.on_aws
)
cluster = Cluster("cluster", stack.cluster, env, network=network, ci=stack.ci, opts=env.on_aws)
node_groups = NodeGroups(
    "node-groups", stack.node_groups, env, cluster=cluster, network=network, opts=env.on_aws
)
registry = Registry("registry", stack.registry, env, deployed_tags=config.deployed_tags, opts=env.on_aws)
data = DataStores("data", config.catalog, env, opts=env.on_aws)

# -- on the cluster ------------------------------------------------------------------------------------------
context = ClusterContext(
    environment=env,
    kubernetes_version=stack.cluster.version,
    vpc_id=network.vpc_id,
    vpc_cidr=str(stack.network.cidr),
    private_subnet_ids=network.private_subnet_ids,
    oidc_provider_arn=cluster.oidc_provider_arn,
    oidc_provider_url=cluster.oidc_provider_url,
    kubernetes=cluster.provider,
    compute=list(node_groups.groups.values()),
)
addons = cluster_addons(stack.cluster, context)
context = context.with_addons(load_balancer_controller=addons.load_balancer_controller)
if stack.karpenter.enabled:
    Karpenter(
        "karpenter",
        stack.karpenter,
        context,
        cluster_security_group_id=cluster.security_group_id,
        kubeconfig=cluster.kubeconfig,
        needs=[*context.compute, addons.coredns],
        opts=context.on_cluster,
    )
ContainerInsights(
    "container-insights",
    stack.observability,
    stack.cluster,
    context,
    needs=[addons.coredns],
    opts=env.on_aws,
)

# -- the APIs, one namespace per business domain -------------------------------------------------------------
namespaces = {
    name: ApiNamespace(name, spec, context, opts=context.on_cluster)
    for name, spec in config.catalog.namespaces.items()
}
edge = PublicEdge("edge", stack.edge, context, apis=config.apis, opts=env.on_aws)
for name, api in config.apis.items():
    workload = ApiWorkload(
        name,
        api,
        context,
        repository_url=registry.repository_urls[name],
        data=data.access,
        frontend_security_group=(
            edge.load_balancer_security_groups[name].id
            if name in edge.load_balancer_security_groups
            else None
        ),
        opts=pulumi.ResourceOptions.merge(
            context.on_cluster, pulumi.ResourceOptions(depends_on=[namespaces[api.namespace].namespace])
        ),
    )
    if api.spec.public is not None and workload.load_balancer is not None:
        edge.connect(name, workload.load_balancer)

alarms = Alarms(
    "alarms",
    stack.observability,
    env,
    apis=config.apis,
    edge=edge,
    budget_alerts=stack.cost.monthly_budget is not None,
    opts=env.on_aws,
)
if stack.cost.monthly_budget is not None:
    Budget("budget", stack.cost, env, topic=alarms.topic, opts=env.on_aws)

pulumi.export("region", stack.region)
pulumi.export("clusterName", stack.cluster_name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
pulumi.export("oidcProviderUrl", cluster.oidc_provider_url)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("publicSubnetIds", network.public_subnet_ids)
pulumi.export("repositoryUrls", registry.repository_urls)
pulumi.export("namespaces", {name: spec.apis for name, spec in config.catalog.namespaces.items()})
pulumi.export("buckets", data.access.bucket_names)
pulumi.export("tables", data.access.table_names)
pulumi.export("alarmTopicArn", alarms.topic.arn)
pulumi.export("apiEndpoint", edge.api.api_endpoint)
pulumi.export("apiUrl", edge.url)
pulumi.export("routes", {route.key: route.api for route in edge.routes})
