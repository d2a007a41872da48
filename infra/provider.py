"""The explicit providers every resource of the stack is created with, and the environment that carries
them."""

from __future__ import annotations

import pulumi_aws as aws
import pulumi_eks as eks

from infra.context import Environment
from settings import StackSettings


def environment(settings: StackSettings) -> Environment:
    # Explicit rather than the default providers: region, account guard and default tags are derived from the
    # typed settings in one place, and Pulumi.yaml disables default providers so a resource created without
    # one fails instead of landing in whatever region the shell happens to point at (docs/decisions/0001).
    aws_provider = aws.Provider(
        "aws",
        region=settings.region,
        allowed_account_ids=settings.allowed_account_ids,
        default_tags=aws.ProviderDefaultTagsArgs(tags=settings.tags),
    )
    # pulumi-eks' components are registered by the engine like resources: with `eks` in
    # pulumi:disable-default-providers they need a provider of their own, or the first preview stops with
    # "Default provider for 'eks' disabled" (pulumi-eks #917, #1508). It holds no configuration: the
    # component's AWS children use the aws provider passed beside it.
    return Environment.of(settings, aws_provider, eks.Provider("eks"))
