"""The bootstrap's settings: one stack per AWS account, keys under ``bootstrap:`` (and the AWS provider's
region and account), validated once with the platform's settings machinery: one line per problem, naming the
key."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from settings import aws_limits
from settings.base import Cidr, Model, matching
from settings.errors import SettingsError, from_validation_error, rule, show
from settings.models import AccountId, Region

NAMESPACE = "bootstrap"
# The secrets provider's key alias, as the README and the workflows use it.
SECRETS_KEY_ALIAS = "alias/picturesocial-pulumi"
GITHUB_OIDC = "token.actions.githubusercontent.com"
# The repository's OIDC subject template (bootstrap/repository.py): the default subject (repo, then context:
# `environment:<name>`, `pull_request` or `ref:<ref>`) followed by the ref, so the deploy role's trust names
# the branch as well as the environment (GitHub docs, "About security hardening with OpenID Connect",
# "Customizing the subject claims for an organization or repository": `repo:ORG/REPO:environment:NAME:...`
# for the keys repo, context, ...; docs/decisions/0020).
OIDC_SUBJECT_CLAIMS = ("repo", "context", "ref")
# The only branch whose runs may deploy. A setting so that a stack file saying otherwise stops with a reason.
DEPLOY_BRANCH = "main"
# GitHub: "up to 6 IDs for teams", and for users, per environment (pulumi_github
# RepositoryEnvironmentReviewerArgs).
MAX_REVIEWERS = 6
Environment = Literal["dev", "staging", "prod"]

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
# IAM user guide, "IAM object quotas": a role name is up to 64 characters of letters, digits and +=,.@_-.
RoleName = Annotated[
    str,
    matching(
        r"[\w+=,.@-]{1,64}", "an IAM role name (up to 64 letters, digits and +=,.@_-), such as platform-admin"
    ),
]


class Reviewers(Model):
    """Who approves a deploy job of the environment: GitHub team and user IDs (numbers, as GitHub's API takes
    them: `gh api orgs/<org>/teams/<slug> --jq .id`, `gh api users/<login> --jq .id`)."""

    teams: list[Annotated[int, Field(gt=0)]] = Field(
        [], max_length=MAX_REVIEWERS, description="GitHub team IDs, any one of whose members may approve"
    )
    users: list[Annotated[int, Field(gt=0)]] = Field(
        [], max_length=MAX_REVIEWERS, description="GitHub user IDs, any one of whom may approve"
    )


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
    deploy_branch: str = Field(
        DEPLOY_BRANCH,
        alias="bootstrap:deployBranch",
        description="the branch whose runs may deploy: main, and only main",
    )
    reviewers: Reviewers = Field(
        Reviewers(),
        alias="bootstrap:reviewers",
        description="required reviewers of the environment's deploy jobs: "
        f"`{{teams: [id, ...], users: [id, ...]}}`, up to {MAX_REVIEWERS} of each; prod needs at least one",
    )
    repository_settings_owner: Environment = Field(
        "dev",
        alias="bootstrap:repositorySettingsOwner",
        description="the one account's stack that owns the repository-wide GitHub settings (the OIDC subject "
        "template); the same value in every stack file",
    )
    state_bucket: str = Field(alias="bootstrap:stateBucket", description="S3 bucket of the Pulumi state")
    environment: Environment = Field(
        alias="bootstrap:environment", description="the GitHub environment whose jobs may deploy this account"
    )
    preview_permissions: list[ManagedPolicyArn] = Field(
        [],
        alias="bootstrap:previewPermissions",
        description="extra read-only managed policies for the preview role",
    )
    admin_roles: list[RoleName] = Field(
        # AWS Organizations creates this role, with AdministratorAccess, in every account it creates
        # (Organizations user guide, "Accessing a member account that has a management account access role").
        ["OrganizationAccountAccessRole"],
        alias="bootstrap:adminRoles",
        description="the roles the account's administrators use (platform-admin, break-glass, ...): no "
        "bounded role may change their trust or policies, pass or delete them",
    )
    runner_connection_authorized: bool = Field(
        False,
        alias="bootstrap:runnerConnectionAuthorized",
        description="true once the runner's GitHub connection is authorized in the console: then the "
        "CodeBuild project and its webhook are created (CodeBuild refuses them on a PENDING connection)",
    )
    runner_actors: list[Annotated[int, Field(gt=0)]] = Field(
        [],
        alias="bootstrap:runnerActors",
        description="GitHub account IDs (numbers: `gh api users/<login> --jq .id`) whose queued jobs may "
        "start the runner; empty: any account the repository lets run workflows (README, the runner and "
        "forks)",
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

    @field_validator("github_repository", mode="before")
    @classmethod
    def _one_repository(cls, name: object) -> object:
        if isinstance(name, str) and any(c in name for c in "*?["):
            raise rule(
                f"{show(name)} must name one repository: a wildcard trusts every repository it matches"
            )
        return name

    @field_validator("deploy_branch")
    @classmethod
    def _main_only(cls, branch: str) -> str:
        if branch != DEPLOY_BRANCH:
            raise rule(
                f"{show(branch)} must be {show(DEPLOY_BRANCH)}: only reviewed main-branch runs deploy "
                "(docs/decisions/0020)"
            )
        return branch

    @model_validator(mode="after")
    def _prod_is_reviewed(self) -> BootstrapSettings:
        if self.environment == "prod" and not (self.reviewers.teams or self.reviewers.users):
            raise rule(
                "prod's deploy jobs need at least one required reviewer (a team or user ID)",
                field="bootstrap:reviewers",
            )
        return self

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
    def repository_name(self) -> str:
        return self.github_repository.split("/", 1)[1]

    @property
    def owns_repository_settings(self) -> bool:
        return self.environment == self.repository_settings_owner

    @property
    def preview_subject(self) -> str:
        """A pull request of the repository (context `pull_request`), its ref `refs/pull/<number>/merge`: the
        one wildcard, the number (StringLike), in a subject whose every other part is fixed."""
        return f"repo:{self.github_repository}:pull_request:ref:refs/pull/*/merge"

    @property
    def drift_subject(self) -> str:
        """The nightly drift check (docs/decisions/0029): a scheduled workflow runs on the default
        branch, main, with no environment, so under the subject template (repo, context, ref) its context
        is the ref too: repo:<owner>/<name>:ref:refs/heads/main:ref:refs/heads/main (GitHub docs, "OpenID
        Connect reference", the context claim; "Customizing the subject claims")."""
        ref = f"refs/heads/{self.deploy_branch}"
        return f"repo:{self.github_repository}:ref:{ref}:ref:{ref}"

    @property
    def deploy_subject(self) -> str:
        """A job of the account's environment running on main, exactly."""
        environment, ref = f"environment:{self.environment}", f"refs/heads/{self.deploy_branch}"
        return f"repo:{self.github_repository}:{environment}:ref:{ref}"

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
