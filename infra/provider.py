"""The one AWS provider every AWS resource of the stack is created with."""

from __future__ import annotations

import pulumi_aws as aws

from settings import StackSettings


def aws_provider(settings: StackSettings) -> aws.Provider:
    # Explicit rather than the default provider: region, account guard and default tags are derived
    # from the typed settings in one place, and Pulumi.yaml disables default providers so a resource
    # created without it fails instead of landing in whatever region the shell happens to point at.
    return aws.Provider(
        "aws",
        region=settings.region,
        allowed_account_ids=settings.allowed_account_ids,
        default_tags=aws.ProviderDefaultTagsArgs(tags=settings.tags),
    )
