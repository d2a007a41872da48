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


# The repository's subject template (bootstrap/repository.py, docs/decisions/0020): repo, context, ref. GitHub
# docs, "About security hardening with OpenID Connect", "Customizing the subject claims for an organization or
# repository" (context: `environment:<name>` for a job naming an environment, else `pull_request` for a pull
# request event, else `ref:<ref>`: the nightly drift check's scheduled run on main).
GITHUB_SUBJECT = re.compile(
    r"^repo:(?P<repository>[^/:*?]+/[^:*?]+)"
    r":(?P<context>pull_request|environment:[A-Za-z0-9_.-]+|ref:refs/heads/[A-Za-z0-9_./-]+)"
    r":ref:(?P<ref>[^:]+)$"
)
# Only main deploys; a pull request's ref is refs/pull/<number>/merge, whose number is the one wildcard a
# trust may hold (StringLike), and only in a pull_request subject.
DEPLOY_REF = "refs/heads/main"
PULL_REQUEST_REF = "refs/pull/*/merge"


def _github_subject_problems(role_name: str, condition: dict, config: dict, *, deploy: bool) -> list[str]:
    """What is wrong with one trust statement's condition: an operator other than StringEquals/StringLike, a
    token of another audience, a subject not of the template, another repository, another environment or
    branch, a wildcard anywhere but a pull request's number."""
    problems = []
    if set(condition) - {"StringEquals", "StringLike"}:
        problems.append(
            f"role {role_name} trusts GitHub under {sorted(set(condition) - {'StringEquals', 'StringLike'})}"
        )
    equals, like = condition.get("StringEquals") or {}, condition.get("StringLike") or {}
    if equals.get(f"{GITHUB_OIDC}:aud") != "sts.amazonaws.com" or f"{GITHUB_OIDC}:aud" in like:
        problems.append(f"role {role_name} trusts GitHub tokens of any audience")
    others = (set(equals) | set(like)) - {f"{GITHUB_OIDC}:aud", f"{GITHUB_OIDC}:sub"}
    if others:
        problems.append(f"role {role_name} trusts GitHub on {sorted(others)}: sub and aud only")
    subjects = [
        (op, c[f"{GITHUB_OIDC}:sub"])
        for op, c in (("StringEquals", equals), ("StringLike", like))
        if f"{GITHUB_OIDC}:sub" in c
    ]
    if len(subjects) != 1 or not isinstance(subjects[0][1], str):
        return [
            *problems,
            f"role {role_name} trusts GitHub subject {[s for _, s in subjects]!r}: exactly one subject",
        ]
    operator, subject = subjects[0]
    match = GITHUB_SUBJECT.match(subject)
    if match is None:
        return [
            *problems,
            f"role {role_name} trusts GitHub subject {subject!r}: one "
            "repo:<owner>/<name>:<context>:ref:<ref> subject",
        ]
    repository, context, ref = match["repository"], match["context"], match["ref"]
    if repository != config["repository"]:
        problems.append(f"role {role_name} trusts {repository!r}, not {config['repository']!r}")
    if context == "pull_request":
        if (operator, ref) != ("StringLike", PULL_REQUEST_REF):
            problems.append(
                f"role {role_name} trusts pull requests on {operator} {ref!r}: StringLike "
                f"{PULL_REQUEST_REF!r}, the number the only wildcard"
            )
    elif context.startswith("ref:"):
        # No environment: only the read-only drift check's scheduled run on main (docs/decisions/0029).
        if operator != "StringEquals" or (context, ref) != (f"ref:{DEPLOY_REF}", DEPLOY_REF):
            problems.append(
                f"role {role_name} trusts {context} on {operator} {ref!r}: a job without environment is "
                f"admitted only as the drift check on {DEPLOY_REF}, exactly"
            )
    else:
        if operator != "StringEquals" or "*" in ref or "?" in ref:
            problems.append(f"role {role_name} trusts {context!r} through a wildcard: StringEquals, exactly")
        if context != f"environment:{config['environment']}":
            problems.append(
                f"role {role_name} trusts GitHub {context!r}; this account deploys environment "
                f"{config['environment']!r} only"
            )
        if ref != DEPLOY_REF:
            problems.append(f"role {role_name} trusts {context} on {ref!r}: only {DEPLOY_REF} deploys")
    if deploy and context != f"environment:{config['environment']}":
        problems.append(
            f"deploy role {role_name} trusts {context!r}: it admits the environment "
            f"{config['environment']!r} only"
        )
    return problems


def _github_trust(args: StackValidationArgs, report: ReportViolation) -> None:
    """Roles GitHub's OIDC tokens may assume admit subjects of one repository: its pull requests and the
    nightly drift check on main (the preview, read-only), or its environment's jobs on main (the deploy
    role); never another repository, another branch or a wildcard beyond a pull request's number
    (`repo:org/*` lets every repository of the organization in). The stack's policy config names the
    repository, the one environment that may deploy, and the deploy role, which admits that environment
    and nothing else."""
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
            for problem in _github_subject_problems(
                role.name,
                condition,
                {"repository": repository, "environment": environment},
                deploy=role.props.get("name") == deploy_role,
            ):
                report(problem, role.urn)
            for operator in ("StringEquals", "StringLike"):
                match = GITHUB_SUBJECT.match(
                    str((condition.get(operator) or {}).get(f"{GITHUB_OIDC}:sub", ""))
                )
                if match:
                    repositories.add(match["repository"])
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
        description="Roles trusting GitHub admit one subject of the configured repository, for STS only: "
        "its pull requests, or its environment's jobs on main (the deploy role); no other wildcard",
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
