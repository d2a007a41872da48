"""The GitHub side of the account's trust, next to the AWS side it must agree with (bootstrap/github.py):
the account's GitHub environment, which admits jobs of `main` only and (prod) waits for a reviewer; the
variables the workflows read; and, in the one stack that owns it, the repository's OIDC subject template that
puts the ref in every token's subject, so the deploy role's trust can name `refs/heads/main`
(docs/decisions/0020).

Arguments as pulumi-github 6.15.0 defines them (pulumi_github/repository_environment.py,
repository_environment_deployment_policy.py, actions_environment_variable.py, actions_variable.py,
actions_repository_oidc_subject_claim_customization_template.py): `repository` is the name without the owner,
which the provider takes from its own `owner`."""

from __future__ import annotations

import pulumi
import pulumi_github as github

from bootstrap.config import OIDC_SUBJECT_CLAIMS, BootstrapSettings


class GithubRepository(pulumi.ComponentResource):
    """The environment with its branch policy and reviewers, its variables, the repository variables of this
    account, and (owner stack only) the subject template."""

    environment: github.RepositoryEnvironment
    subject_template: github.ActionsRepositoryOidcSubjectClaimCustomizationTemplate | None

    def __init__(
        self,
        name: str,
        settings: BootstrapSettings,
        *,
        variables: dict[str, pulumi.Input[str]],
        repository_variables: dict[str, pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:bootstrap:GithubRepository", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        repository, environment = settings.repository_name, settings.environment
        reviewers = settings.reviewers
        self.environment = github.RepositoryEnvironment(
            environment,
            repository=repository,
            environment=environment,
            # Jobs that name the environment run only from branches matching its policies (below: main).
            # GitHub docs, "Managing environments for deployment": deployment branches and tags, "Selected
            # branches".
            deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=False, custom_branch_policies=True
            ),
            reviewers=[github.RepositoryEnvironmentReviewerArgs(teams=reviewers.teams, users=reviewers.users)]
            if reviewers.teams or reviewers.users
            else None,
            # The author of a change does not approve its deploy, and administrators do not skip the rules.
            prevent_self_review=True,
            can_admins_bypass=False,
            opts=child,
        )
        github.RepositoryEnvironmentDeploymentPolicy(
            f"{environment}-{settings.deploy_branch}",
            repository=repository,
            environment=self.environment.environment,
            branch_pattern=settings.deploy_branch,
            opts=child,
        )
        for variable, value in sorted(variables.items()):
            github.ActionsEnvironmentVariable(
                f"{environment}-{variable}",
                repository=repository,
                environment=self.environment.environment,
                variable_name=variable,
                value=value,
                opts=child,
            )
        # Named per account (…_DEV, …_STAGING, …_PROD): each account's stack owns its own, none is shared.
        for variable, value in sorted(repository_variables.items()):
            github.ActionsVariable(
                variable, repository=repository, variable_name=variable, value=value, opts=child
            )
        # One template per repository: the owner stack alone manages it (bootstrap:repositorySettingsOwner).
        # GitHub docs: create the matching trust first, then the template; so the owner's stack goes last
        # (README, "One-time setup").
        self.subject_template = None
        if settings.owns_repository_settings:
            self.subject_template = github.ActionsRepositoryOidcSubjectClaimCustomizationTemplate(
                "oidc-subject",
                repository=repository,
                use_default=False,
                include_claim_keys=list(OIDC_SUBJECT_CLAIMS),
                opts=child,
            )
        self.register_outputs({"environment": self.environment.environment})
