"""The explicit providers every resource of the stack is created with."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

from settings import StackSettings


@dataclass(frozen=True)
class Providers:
    aws: aws.Provider
    # pulumi-eks' components are registered by the engine like resources: with `eks` in
    # pulumi:disable-default-providers they need a provider of their own, or the first preview stops with
    # "Default provider for 'eks' disabled" (pulumi engine source_eval.go; pulumi-eks #917, #1508). It holds no
    # configuration: the component's AWS children use the aws provider passed beside it.
    eks: eks.Provider

    @property
    def for_aws(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(providers=[self.aws, self.eks])


def providers(settings: StackSettings) -> Providers:
    # Explicit rather than the default providers: region, account guard and default tags are derived from the
    # typed settings in one place, and Pulumi.yaml disables default providers so a resource created without one
    # fails instead of landing in whatever region the shell happens to point at.
    return Providers(
        aws=aws.Provider(
            "aws",
            region=settings.region,
            allowed_account_ids=settings.allowed_account_ids,
            default_tags=aws.ProviderDefaultTagsArgs(tags=settings.tags),
        ),
        eks=eks.Provider("eks"),
    )
