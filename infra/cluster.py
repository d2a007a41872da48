"""The EKS control plane: secrets key, control-plane log group, the cluster, and its Kubernetes provider."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from infra.context import Environment
from infra.iam_documents import service_may_assume
from infra.network import Network
from settings.models import CiSettings, ClusterSettings

CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# Read everything but Secrets and RBAC (EKS user guide, "Review access policy permissions"). Enough for a
# preview to read live objects; its server-side dry runs are refused, and pulumi-kubernetes then previews from
# the program's inputs alone (docs/decisions/0010).
CLUSTER_VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
# pulumi-eks runs the VPC CNI at DEBUG for both the daemon and the plugin unless told otherwise
# (nodejs/eks/addons/cni-addon.ts computeEnv); the plugin's level has no typed option, only the add-on's env.
CNI_LOG_LEVEL = "INFO"
# The managed policy pulumi-eks attaches to the service role it would create (nodejs/eks/cluster/cluster.ts,
# `managedPolicies = ["AmazonEKSClusterPolicy"]` without auto mode).
EKS_CLUSTER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"


def pulumi_eks_child(cluster_urn: str, path: str, name: str) -> str:
    """The URN a child of the pulumi-eks component had (``path``: its type chain below eks:index:Cluster):
    the alias that keeps a role pulumi-eks created when this program takes it over."""
    prefix, _, rest = cluster_urn.partition("::")
    project, _, rest = rest.partition("::")
    # The engine leaves the root stack out of a URN's type chain (the mock engine puts it in).
    parent_type = rest.partition("::")[0].removeprefix("pulumi:pulumi:Stack$")
    return f"{prefix}::{project}::{parent_type}$eks:index:Cluster${path}::{name}"


class Cluster(pulumi.ComponentResource):
    kubernetes_version: str
    kubeconfig: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_provider_url: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(
        self,
        name: str,
        settings: ClusterSettings,
        environment: Environment,
        *,
        network: Network,
        ci: CiSettings,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:infra:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names, protect = environment.names, environment.protect
        cluster_name = names.cluster
        self.kubernetes_version = settings.version
        # The public endpoint admits the deploy runner's fixed egress address and the operators' CIDRs
        # (docs/decisions/0009). The address is the bootstrap's protected Elastic IP, found in the account by
        # its Name tag: a lookup in AWS, where a stack reference would need the bootstrap's state in this
        # stack's backend. None, or more than one, fails the preview (and tools.preflight says so first).
        operators = [str(cidr) for cidr in settings.endpoint.public_cidrs]
        runner_address = aws.ec2.get_elastic_ip_output(
            tags={"Name": f"{ci.runner}-egress"},
            opts=pulumi.InvokeOutputOptions(parent=self, provider=environment.aws_provider),
        )
        public_access_cidrs = runner_address.public_ip.apply(lambda ip: [f"{ip}/32", *operators])

        # Secrets envelope encryption (CIS 5.3.1). Removing it later replaces the cluster, and deleting the
        # key makes every Secret unreadable: protected with the cluster (picturesocial:protect). Where the
        # cluster is disposable (dev), so is the key: the secrets it encrypts go with the cluster.
        secrets_key = aws.kms.Key(
            "secrets",
            description=f"EKS secrets envelope encryption for {cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        aws.kms.Alias("secrets", name=names.secrets_key_alias, target_key_id=secrets_key.key_id, opts=child)

        # EKS writes control-plane logs to this exact group; creating it first is the only way to set a
        # retention (EKS itself creates it with "never expire").
        log_group = aws.cloudwatch.LogGroup(
            "control-plane",
            name=names.control_plane_log_group,
            retention_in_days=settings.log_retention_days,
            opts=child,
        )

        # The cluster's service role, created here so that it carries the workload boundary
        # (docs/decisions/0018): left to pulumi-eks, its ServiceRole component creates `<name>-eksRole-role`
        # with no way to set one (pulumi/pulumi-eks nodejs/eks/cluster/cluster.ts, `if (!args.serviceRole)`;
        # nodejs/eks/servicerole.ts). The same trust and policy as that role, and the aliases of that role and
        # its attachment (`<name>-eksRole-<sha1(policy ARN)[:8]>`): an existing cluster keeps its role (the
        # cluster's roleArn forces a replacement) and its policy is never detached.
        own_urn = self.urn
        service_role = aws.iam.Role(
            "service-role",
            description=f"EKS service role of {cluster_name}",
            assume_role_policy=service_may_assume("eks.amazonaws.com"),
            permissions_boundary=environment.permissions_boundary,
            opts=pulumi.ResourceOptions(
                parent=self,
                aliases=[
                    own_urn.apply(
                        lambda urn: pulumi_eks_child(
                            urn, "eks:index:ServiceRole$aws:iam/role:Role", "eks-eksRole-role"
                        )
                    )
                ],
            ),
        )
        service_role_policy = aws.iam.RolePolicyAttachment(
            "service-role",
            role=service_role.name,
            policy_arn=EKS_CLUSTER_POLICY,
            opts=pulumi.ResourceOptions(
                parent=self,
                aliases=[
                    own_urn.apply(
                        lambda urn: pulumi_eks_child(
                            urn,
                            "eks:index:ServiceRole$aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                            "eks-eksRole-4b490823",
                        )
                    )
                ],
            ),
        )

        addons = settings.addons
        access_entries = {
            # Keyed by the role's name, not its position: adding an admin never renames another entry.
            f"admin-{arn.rsplit('/', 1)[-1]}": eks.AccessEntryArgs(
                principal_arn=arn,
                access_policies={
                    "cluster-admin": eks.AccessPolicyAssociationArgs(
                        policy_arn=CLUSTER_ADMIN_POLICY,
                        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    )
                },
            )
            for arn in settings.admin_role_arns
        }
        # Pull-request previews read the cluster (picturesocial:ci.previewRoleArn); nothing they run can
        # write.
        access_entries["preview"] = eks.AccessEntryArgs(
            principal_arn=ci.preview_role_arn,
            access_policies={
                "view": eks.AccessPolicyAssociationArgs(
                    policy_arn=CLUSTER_VIEW_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                )
            },
        )
        self.cluster = eks.Cluster(
            "eks",
            name=cluster_name,
            version=settings.version,
            vpc_id=network.vpc_id,
            # The control plane's network interfaces and every node live in private subnets only.
            private_subnet_ids=network.private_subnet_ids,
            node_associate_public_ip_address=False,
            # Nodes and pods use the private endpoint; the public one admits only the deploy runner's fixed
            # egress address and the operators' CIDRs (docs/decisions/0009).
            endpoint_private_access=True,
            endpoint_public_access=True,
            public_access_cidrs=public_access_cidrs,
            enabled_cluster_log_types=list(settings.log_types),
            encryption_config_key_arn=secrets_key.arn,
            authentication_mode=eks.AuthenticationMode.API,
            access_entries=access_entries,
            create_oidc_provider=True,
            service_role=service_role,
            # Managed node groups are created by infra/node_groups.py with our own launch template; no
            # instance role either (pulumi-eks would create `<name>-instanceRole`, unbounded, with
            # create_instance_role true or a default node group: cluster.ts `args.createInstanceRole ||`).
            skip_default_node_group=True,
            create_instance_role=False,
            # Without self-managed nodes, pulumi-eks' extra security groups would be a second SG
            # tagged for the cluster on every node and break the load balancer controller.
            skip_default_security_groups=True,
            # Every add-on is an EKS managed add-on at a pinned version; nothing is installed unmanaged.
            bootstrap_self_managed_addons=False,
            vpc_cni_options=eks.VpcCniOptionsArgs(
                addon_version=addons["vpc-cni"],
                enable_network_policy=True,
                log_level=CNI_LOG_LEVEL,
                configuration_values={"env": {"AWS_VPC_K8S_PLUGIN_LOG_LEVEL": CNI_LOG_LEVEL}},
            ),
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(version=addons["kube-proxy"]),
            # coredns needs nodes to become ACTIVE; it is created after the node groups (infra/addons.py).
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            deletion_protection=settings.deletion_protection,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=settings.support_type),
            # EKS checks the role's policy when the cluster is created: attached first.
            opts=pulumi.ResourceOptions(
                parent=self, protect=protect, depends_on=[log_group, service_role_policy]
            ),
        )

        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig_json)
        # With skip_default_security_groups: the security group EKS created, which managed nodes join too.
        self.security_group_id = self.cluster.cluster_security_group_id
        self.oidc_provider_arn = self.cluster.oidc_provider_arn
        self.oidc_provider_url = self.cluster.oidc_provider_url
        # Our own provider with a stable cluster_identifier: a kubeconfig change (new token command,
        # endpoint flip) is then an update, not a replacement of the provider and of every object it
        # manages (pulumi-eks #207, #764).
        self.provider = k8s.Provider(
            "cluster",
            kubeconfig=self.kubeconfig,
            cluster_identifier=cluster_name,
            enable_server_side_apply=True,
            opts=child,
        )
        self.register_outputs({"oidcProviderArn": self.oidc_provider_arn})
