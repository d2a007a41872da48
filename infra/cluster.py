"""The EKS control plane: secrets key, control-plane log group, the cluster, and its Kubernetes provider."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from settings.models import ClusterSettings

CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


class Cluster(pulumi.ComponentResource):
    name: str
    kubeconfig: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_provider_url: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(self, name: str, settings: ClusterSettings, *, cluster_name: str,
                 vpc_id: pulumi.Input[str], private_subnet_ids: list[pulumi.Input[str]],
                 protect: bool, opts: pulumi.ResourceOptions | None = None):
        super().__init__("picturesocial:infra:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.name = cluster_name

        # Secrets envelope encryption (CIS 5.3.1). Removing it later replaces the cluster, and deleting
        # the key makes every Secret unreadable: protected in every stack.
        secrets_key = aws.kms.Key(
            "secrets", description=f"EKS secrets envelope encryption for {cluster_name}",
            enable_key_rotation=True, deletion_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self, protect=True))
        aws.kms.Alias("secrets", name=f"alias/{cluster_name}-eks-secrets", target_key_id=secrets_key.key_id,
                      opts=child)

        # EKS writes control-plane logs to this exact group; creating it first is the only way to set a
        # retention (EKS itself creates it with "never expire").
        log_group = aws.cloudwatch.LogGroup(
            "control-plane", name=f"/aws/eks/{cluster_name}/cluster",
            retention_in_days=settings.log_retention_days, opts=child)

        addons = settings.addons
        access_entries = {
            # Keyed by the role's name, not its position: adding an admin never renames another entry.
            f"admin-{arn.rsplit('/', 1)[-1]}": eks.AccessEntryArgs(
                principal_arn=arn,
                access_policies={"cluster-admin": eks.AccessPolicyAssociationArgs(
                    policy_arn=CLUSTER_ADMIN_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"))},
            )
            for arn in settings.admin_role_arns
        }
        self.cluster = eks.Cluster(
            "eks",
            name=cluster_name,
            version=settings.version,
            vpc_id=vpc_id,
            # The control plane's network interfaces and every node live in private subnets only.
            private_subnet_ids=private_subnet_ids,
            node_associate_public_ip_address=False,
            endpoint_private_access=settings.endpoint.private,
            endpoint_public_access=settings.endpoint.public,
            public_access_cidrs=[str(c) for c in settings.endpoint.public_cidrs] or None,
            enabled_cluster_log_types=list(settings.log_types),
            encryption_config_key_arn=secrets_key.arn,
            authentication_mode=eks.AuthenticationMode.API,
            access_entries=access_entries,
            create_oidc_provider=True,
            # Managed node groups are created by infra/node_groups.py with our own launch template.
            skip_default_node_group=True,
            # Without self-managed nodes, pulumi-eks' extra security groups would be a second SG
            # tagged for the cluster on every node and break the load balancer controller.
            skip_default_security_groups=True,
            # Every add-on is an EKS managed add-on at a pinned version; nothing is installed unmanaged.
            bootstrap_self_managed_addons=False,
            vpc_cni_options=eks.VpcCniOptionsArgs(addon_version=addons["vpc-cni"], enable_network_policy=True),
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(version=addons["kube-proxy"]),
            # coredns needs nodes to become ACTIVE; it is created after the node groups (infra/addons.py).
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            deletion_protection=settings.deletion_protection,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            opts=pulumi.ResourceOptions(parent=self, protect=protect, depends_on=[log_group]),
        )

        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig_json)
        self.oidc_provider_arn = self.cluster.oidc_provider_arn
        self.oidc_provider_url = self.cluster.oidc_provider_url
        # Our own provider with a stable cluster_identifier: a kubeconfig change (new token command,
        # endpoint flip) is then an update, not a replacement of the provider and of every object it
        # manages (pulumi-eks #207, #764).
        self.provider = k8s.Provider(
            "cluster", kubeconfig=self.kubeconfig, cluster_identifier=cluster_name,
            enable_server_side_apply=True, opts=child)
        self.register_outputs({"name": cluster_name, "oidcProviderArn": self.oidc_provider_arn})
