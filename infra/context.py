"""What components share, passed as one typed object instead of long keyword lists.

``Environment`` is known before anything exists (from the settings: names, region, tags, providers).
``ClusterContext`` adds what the cluster and its compute give everything that runs on them; the add-ons that
other components wait for are added with ``with_addons``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from settings import StackSettings
from settings.names import PhysicalNames


@dataclass(frozen=True)
class Environment:
    names: PhysicalNames
    region: str
    account_id: str
    tags: dict[str, str]
    protect: bool
    # The bootstrap's workload boundary: every IAM role of the stack carries it (docs/decisions/0018).
    permissions_boundary: str
    aws_provider: aws.Provider
    eks_provider: eks.Provider

    @staticmethod
    def of(settings: StackSettings, aws_provider: aws.Provider, eks_provider: eks.Provider) -> Environment:
        return Environment(
            names=settings.names,
            region=settings.region,
            account_id=settings.account_id,
            tags=settings.tags,
            protect=settings.protect,
            permissions_boundary=settings.ci.permissions_boundary_arn,
            aws_provider=aws_provider,
            eks_provider=eks_provider,
        )

    @property
    def on_aws(self) -> pulumi.ResourceOptions:
        """AWS resources, and pulumi-eks components (which need a provider of their own package)."""
        return pulumi.ResourceOptions(providers=[self.aws_provider, self.eks_provider])


@dataclass(frozen=True)
class ClusterContext:
    environment: Environment
    kubernetes_version: str
    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    private_subnet_ids: list[pulumi.Output[str]]
    oidc_provider_arn: pulumi.Output[str]
    oidc_provider_url: pulumi.Output[str]
    kubernetes: k8s.Provider
    compute: list[pulumi.Resource]  # the node groups: what anything with pods waits for
    load_balancer_controller: pulumi.Resource | None = None  # LoadBalancer Services wait for it

    @property
    def names(self) -> PhysicalNames:
        return self.environment.names

    @property
    def on_cluster(self) -> pulumi.ResourceOptions:
        """Kubernetes objects, and the AWS resources beside them (IRSA roles)."""
        return pulumi.ResourceOptions(providers=[self.kubernetes, self.environment.aws_provider])

    def with_addons(self, load_balancer_controller: pulumi.Resource) -> ClusterContext:
        return dataclasses.replace(self, load_balancer_controller=load_balancer_controller)
