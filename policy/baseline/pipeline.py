"""The path from GitHub to an account: who may assume the roles (OIDC trust) and which account a
provider may act in."""

from __future__ import annotations

import json
import re

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import (
    MANDATORY,
    _objects,
)

GITHUB_OIDC = "token.actions.githubusercontent.com"


GITHUB_SUBJECT = re.compile(
    r"^repo:([^/*?]+/[^:*?]+):(pull_request|environment:[A-Za-z0-9_.-]+|ref:refs/heads/[A-Za-z0-9_./-]+)$"
)


def _github_trust(args: StackValidationArgs, report: ReportViolation) -> None:
    """Roles GitHub's OIDC tokens may assume admit exact subjects of one repository: its pull requests, one
    of its environments, or one branch (the nightly drift check's, on the default branch); never a wildcard
    (`repo:org/*` lets every repository of the organization in). The stack's policy config names the
    repository, the one environment that may deploy, and the deploy role, which admits that environment and
    nothing else."""
    config = args.get_config()
    repository, environment, deploy_role = (
        config.get("repository"),
        config.get("deployEnvironment"),
        config.get("deployRole"),
    )
    repositories: set[str] = set()
    for role in _objects(args, "aws:iam/role:Role"):
        document = role.props.get("assumeRolePolicy")
        if not isinstance(document, str) or GITHUB_OIDC not in document:
            continue
        if not (repository and environment and deploy_role):
            report(
                f"role {role.name} trusts GitHub, and the policy config does not name the repository, "
                "deployEnvironment and deployRole it may trust (policy/config/bootstrap/<stack>.json)",
                role.urn,
            )
            return
        for statement in json.loads(document).get("Statement", []):
            condition = statement.get("Condition") or {}
            equals = condition.get("StringEquals") or {}
            if set(condition) - {"StringEquals"}:
                report(
                    f"role {role.name} trusts GitHub under {sorted(set(condition) - {'StringEquals'})}",
                    role.urn,
                )
            if equals.get(f"{GITHUB_OIDC}:aud") != "sts.amazonaws.com":
                report(f"role {role.name} trusts GitHub tokens of any audience", role.urn)
            subject = equals.get(f"{GITHUB_OIDC}:sub")
            match = GITHUB_SUBJECT.match(subject) if isinstance(subject, str) else None
            if match is None:
                report(
                    f"role {role.name} trusts GitHub subject {subject!r}: one repo:<owner>/<name> subject",
                    role.urn,
                )
            else:
                repositories.add(match.group(1))
                if match.group(1) != repository:
                    report(f"role {role.name} trusts {match.group(1)!r}, not {repository!r}", role.urn)
                if (
                    match.group(2).startswith("environment:")
                    and match.group(2) != f"environment:{environment}"
                ):
                    report(
                        f"role {role.name} trusts GitHub {match.group(2)!r}; this account deploys "
                        f"environment {environment!r} only",
                        role.urn,
                    )
                if role.props.get("name") == deploy_role and match.group(2) != f"environment:{environment}":
                    report(
                        f"deploy role {role.name} trusts {match.group(2)!r}: it admits the environment "
                        f"{environment!r} only",
                        role.urn,
                    )
    if len(repositories) > 1:
        report(f"GitHub roles of this stack trust several repositories: {sorted(repositories)}", None)


def _account_guard(args: StackValidationArgs, report: ReportViolation) -> None:
    """The AWS provider acts only in the account this stack is for (its policy config says which)."""
    expected = args.get_config().get("expectedAccountId")
    providers = [p for p in args.resources if p.resource_type == "pulumi:providers:aws"]
    if not expected:
        report("no expectedAccountId is configured for this stack (policy/config/<stack>.json)", None)
        return
    for provider in providers:
        allowed = provider.props.get("allowedAccountIds")
        allowed = json.loads(allowed) if isinstance(allowed, str) else allowed
        if allowed != [expected]:
            report(
                f"the AWS provider {provider.name} allows accounts {allowed}, not exactly [{expected!r}]",
                provider.urn,
            )


POLICIES = [
    StackValidationPolicy(
        name="github-oidc-trust-scoped",
        description="Roles trusting GitHub admit one exact subject of the configured repository, for STS "
        "only; the deploy role admits its environment only",
        validate=_github_trust,
        enforcement_level=MANDATORY,
        config_schema=PolicyConfigSchema(
            properties={
                "repository": {"type": "string"},
                "deployEnvironment": {"type": "string"},
                "deployRole": {"type": "string"},
            }
        ),
    ),
    StackValidationPolicy(
        name="account-guard",
        description="The AWS provider allows exactly the stack's expected account",
        validate=_account_guard,
        enforcement_level=MANDATORY,
        config_schema=PolicyConfigSchema(properties={"expectedAccountId": {"type": "string"}}),
    ),
]
