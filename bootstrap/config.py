"""The bootstrap's settings: one stack per AWS account, keys under ``bootstrap:`` (and the AWS provider's
region and account), validated once with the platform's settings machinery: one line per problem, naming the
key."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator

from settings import aws_limits
from settings.base import Cidr, Model, matching
from settings.errors import SettingsError, from_validation_error, rule, show
from settings.models import AccountId, Region

NAMESPACE = "bootstrap"
# The secrets provider's key alias, as the README and the workflows use it.
SECRETS_KEY_ALIAS = "alias/picturesocial-pulumi"
GITHUB_OIDC = "token.actions.githubusercontent.com"

GithubRepository = Annotated[
    str,
    matching(
        r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}",
        "a GitHub repository written owner/name, such as example-org/picturesocial",
    ),
]
ManagedPolicyArn = Annotated[
    str,
    matching(
        r"arn:aws:iam::(aws|\d{12}):policy/[\w+=,.@/-]+",
        "a managed policy ARN such as arn:aws:iam::aws:policy/AWSBillingReadOnlyAccess",
    ),
]


class BootstrapSettings(Model):
    """One account's bootstrap, keyed as in ``bootstrap/Pulumi.<stack>.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    project: str
    stack: str
    region: Region = Field(alias="aws:region", description="the region of the bootstrap's resources")
    allowed_account_ids: list[AccountId] = Field(
        alias="aws:allowedAccountIds", min_length=1, max_length=1, description="the one account bootstrapped"
    )
    github_repository: GithubRepository = Field(
        alias="bootstrap:githubRepository", description="the repository whose workflows may assume the roles"
    )
    state_bucket: str = Field(alias="bootstrap:stateBucket", description="S3 bucket of the Pulumi state")
    environment: Literal["dev", "staging", "prod"] = Field(
        alias="bootstrap:environment", description="the GitHub environment whose jobs may deploy this account"
    )
    preview_permissions: list[ManagedPolicyArn] = Field(
        [],
        alias="bootstrap:previewPermissions",
        description="extra read-only managed policies for the preview role",
    )
    runner_connection_authorized: bool = Field(
        False,
        alias="bootstrap:runnerConnectionAuthorized",
        description="true once the runner's GitHub connection is authorized in the console: then the "
        "CodeBuild project and its webhook are created (CodeBuild refuses them on a PENDING connection)",
    )
    cost_allocation_tags: bool = Field(
        False,
        alias="bootstrap:costAllocationTags",
        description="true once the stacks' tags (project, environment, managed-by) appear in this account's "
        "billing data (a day after the first tagged resource): then they are activated as cost allocation "
        "tags, which the stacks' budgets filter on (Cost Explorer refuses a key it has not seen yet, and a "
        "linked account of an organization: activate them in the payer account then)",
    )
    runner_cidr: Cidr = Field(
        ipaddress.IPv4Network("10.255.0.0/24"),
        alias="bootstrap:runnerCidr",
        description="the runner's VPC (a /24 to /16, split in a public and a private half)",
    )

    @field_validator("state_bucket")
    @classmethod
    def _bucket_s3_accepts(cls, name: str) -> str:
        problem = aws_limits.check(name, "s3 CreateBucket.Bucket")
        if problem:
            raise rule(f"{show(name)} is {problem}")
        return name

    @field_validator("runner_cidr")
    @classmethod
    def _runner_cidr(cls, cidr: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if not cidr.is_private or not 16 <= cidr.prefixlen <= 24:
            raise rule(f'"{cidr}" must be a private range from /16 to /24')
        return cidr

    @property
    def account_id(self) -> str:
        return self.allowed_account_ids[0]

    @property
    def owner(self) -> str:
        return self.github_repository.split("/", 1)[0]

    @property
    def runner_project(self) -> str:
        # The name the platform's workflows put in `runs-on` (codebuild-<project>-<run id>-<attempt>).
        return f"picturesocial-runner-{self.environment}"

    @property
    def preview_subject(self) -> str:
        return f"repo:{self.github_repository}:pull_request"

    @property
    def deploy_subject(self) -> str:
        return f"repo:{self.github_repository}:environment:{self.environment}"

    @property
    def tags(self) -> dict[str, str]:
        return {"project": self.project, "environment": self.environment, "managed-by": "pulumi"}


def load(config: Mapping[str, Any], *, project: str, stack: str) -> BootstrapSettings:
    """``config`` as the CLI passes it (every value a string, lists as JSON text)."""
    import json

    wanted = {}
    for key, value in config.items():
        if key.split(":")[0] in (NAMESPACE, "aws"):
            try:
                wanted[key] = json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value
            except ValueError:
                wanted[key] = value
    try:
        return BootstrapSettings.model_validate({"project": project, "stack": stack, **wanted})
    except ValidationError as exc:
        raise from_validation_error(exc, model=BootstrapSettings) from None


def from_pulumi() -> BootstrapSettings:
    import pulumi

    config = {}
    for key in pulumi.runtime.get_config_env():
        namespace, _, name = key.partition(":")
        config[key] = pulumi.Config(namespace).get(name)
    return load(config, project=pulumi.get_project(), stack=pulumi.get_stack())


__all__ = ["BootstrapSettings", "SettingsError", "load", "from_pulumi"]
