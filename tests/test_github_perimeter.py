"""The path from a GitHub job to an account, as the bootstrap builds both sides of it: GitHub's (the
environment's branch policy, the subject template, the variables: bootstrap/repository.py) and AWS's (the
roles' trust: bootstrap/github.py), and the runner's webhook. Properties over every account, each with a bad
case."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from graphq import one
from iam_eval import allowed

from tools import ROOT

pytestmark = pytest.mark.live  # the bootstrap's own stack files
GITHUB = "token.actions.githubusercontent.com"
REPOSITORY = "example-org/picturesocial"
TEMPLATE = (
    "github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate"
    ":ActionsRepositoryOidcSubjectClaimCustomizationTemplate"
)
ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
BRANCH_POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
ENV_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
REPO_VARIABLE = "github:index/actionsVariable:ActionsVariable"
DEFAULT_CLAIMS = None  # GitHub's default subject (no template)


@dataclass(frozen=True)
class Job:
    """A job GitHub could run: where its workflow runs, on which event and ref, naming which environment."""

    repository: str
    event: str
    ref: str
    environment: str | None = None

    def __str__(self) -> str:
        return f"{self.repository} {self.event} {self.ref} environment={self.environment}"


def subject(job: Job, claims: list[str] | None) -> str:
    """The `sub` GitHub mints for the job (GitHub docs, "About security hardening with OpenID Connect"): the
    context is `environment:<name>` when the job names an environment, else `pull_request` on a pull request
    event, else `ref:<ref>`; the default subject is repo and context, a template lists the claims, each
    written `<claim>:<value>` but the context, written as it is ("Customizing the subject claims ...": e.g.
    `repo:ORG/REPO:environment:NAME:job_workflow_ref:...` for repo, context, job_workflow_ref)."""
    if job.environment:
        context = f"environment:{job.environment}"
    elif job.event == "pull_request":
        context = "pull_request"
    else:
        context = f"ref:{job.ref}"
    values = {"repo": job.repository, "ref": job.ref}
    parts = [
        context if claim == "context" else f"{claim}:{values[claim]}"
        for claim in claims or ["repo", "context"]
    ]
    return ":".join(parts)


def environment_admits(graph, job: Job) -> bool:
    """Whether GitHub starts a job naming ``job.environment`` in this account's graph: the environment exists
    and its deployment branch policy admits the job's branch (GitHub docs, "Managing environments for
    deployment": with custom branch policies only matching branches deploy; a pull request's ref is no branch
    of the repository)."""
    environments = [e for e in graph.of_type(ENVIRONMENT) if e["inputs"]["environment"] == job.environment]
    if not environments:
        return True  # GitHub creates a missing environment on first use, without any protection
    policy = environments[0]["inputs"].get("deploymentBranchPolicy") or {}
    if not policy.get("customBranchPolicies"):
        return True
    branches = [
        p["inputs"]["branchPattern"]
        for p in graph.of_type(BRANCH_POLICY)
        if p["inputs"]["environment"] == job.environment
    ]
    return job.ref.startswith("refs/heads/") and job.ref.removeprefix("refs/heads/") in branches


def assumes(graph, role: str, job: Job, claims: list[str] | None, *, with_github: bool = True) -> bool:
    """Whether the job gets a session of the role: GitHub runs it (the environment's gate) and mints its
    token, and the role's trust admits the token (the project's IAM evaluator)."""
    if with_github and job.environment and not environment_admits(graph, job):
        return False
    (found,) = [r for r in graph.of_type("aws:iam/role:Role") if r["inputs"]["name"] == role]
    trust = json.loads(found["inputs"]["assumeRolePolicy"])
    arn = f"arn:aws:iam::{json.loads(graph.config['aws:allowedAccountIds'])[0]}:role/{role}"
    token = {f"{GITHUB}:sub": subject(job, claims), f"{GITHUB}:aud": "sts.amazonaws.com"}
    return allowed(trust, "sts:AssumeRoleWithWebIdentity", arn, token)


def template_claims(bootstrap_graphs) -> list[str] | None:
    """The repository's subject template: the one bootstrap stack that owns it says which claims."""
    templates = [t for g in bootstrap_graphs.values() for t in g.of_type(TEMPLATE)]
    assert len(templates) == 1, f"{len(templates)} stacks manage the repository's one subject template"
    (template,) = templates
    assert template["inputs"]["useDefault"] is False
    return template["inputs"]["includeClaimKeys"]


def jobs(stack: str) -> list[Job]:
    """Every kind of job that could ask for a role of the account: this repository's and another's, on main,
    another branch, a tag, a pull request; in the account's environment, another one, none."""
    refs = ["refs/heads/main", "refs/heads/feature", "refs/tags/v1", "refs/pull/7/merge"]
    found = []
    for repository in (REPOSITORY, "example-org/other", "attacker/picturesocial"):
        for ref in refs:
            event = "pull_request" if ref.startswith("refs/pull/") else "push"
            for environment in (stack, "dev" if stack != "dev" else "prod", None):
                found.append(Job(repository, event, ref, environment))
            found.append(Job(repository, "workflow_dispatch", ref, stack))
    return found


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_only_main_jobs_of_the_accounts_environment_deploy_and_only_pull_requests_and_main_preview(
    bootstrap_graphs, stack
):
    graph = bootstrap_graphs[stack]
    claims = template_claims(bootstrap_graphs)
    deployers = {str(job) for job in jobs(stack) if assumes(graph, "picturesocial-deploy", job, claims)}
    previewers = {str(job) for job in jobs(stack) if assumes(graph, "picturesocial-preview", job, claims)}
    assert deployers == {
        f"{REPOSITORY} push refs/heads/main environment={stack}",
        f"{REPOSITORY} workflow_dispatch refs/heads/main environment={stack}",
    }
    # The read-only preview: the repository's pull requests, and its reviewed main branch outside any
    # environment (the nightly drift check, docs/decisions/0029); never another branch or repository.
    assert previewers == {
        f"{REPOSITORY} pull_request refs/pull/7/merge environment=None",
        f"{REPOSITORY} push refs/heads/main environment=None",
    }
    # Each side holds on its own: the trust alone refuses another branch in the environment, and the
    # environment alone refuses it before any token is minted.
    feature = Job(REPOSITORY, "push", "refs/heads/feature", stack)
    assert not assumes(graph, "picturesocial-deploy", feature, claims, with_github=False)
    assert not environment_admits(graph, feature)


def test_the_perimeter_check_sees_one_account_open_to_another_branch(bootstrap_graphs):
    # Bad cases, one account of three wrong: the default template (no ref in the subject) with an environment
    # that admits any branch, and a trust that names the environment but not the ref.
    claims = template_claims(bootstrap_graphs)
    graph = copy.deepcopy(bootstrap_graphs["staging"])
    feature = Job(REPOSITORY, "push", "refs/heads/feature", "staging")
    for environment in graph.of_type(ENVIRONMENT):
        environment["inputs"]["deploymentBranchPolicy"] = {
            "customBranchPolicies": False,
            "protectedBranches": False,
        }
    assert not assumes(graph, "picturesocial-deploy", feature, claims)  # the trust still pins main
    role = one(graph, "aws:iam/role:Role", "deploy")
    role["inputs"]["assumeRolePolicy"] = role["inputs"]["assumeRolePolicy"].replace(
        ":ref:refs/heads/main", ""
    )
    assert assumes(graph, "picturesocial-deploy", feature, DEFAULT_CLAIMS)  # both gone: any branch deploys


def test_one_stack_owns_the_repository_settings_and_every_stack_file_agrees():
    files = {
        stack: yaml.safe_load((ROOT / "bootstrap" / f"Pulumi.{stack}.yaml").read_text())["config"]
        for stack in ("dev", "staging", "prod")
    }
    assert {c["bootstrap:githubRepository"] for c in files.values()} == {REPOSITORY}
    assert {c.get("bootstrap:repositorySettingsOwner", "dev") for c in files.values()} == {"dev"}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_environment_admits_main_only_and_prod_waits_for_a_reviewer(bootstrap_graphs, stack):
    graph = bootstrap_graphs[stack]
    (environment,) = graph.of_type(ENVIRONMENT)
    inputs = environment["inputs"]
    assert (inputs["repository"], inputs["environment"]) == ("picturesocial", stack)
    assert inputs["deploymentBranchPolicy"] == {"customBranchPolicies": True, "protectedBranches": False}
    assert (inputs["canAdminsBypass"], inputs["preventSelfReview"]) == (False, True)
    (policy,) = graph.of_type(BRANCH_POLICY)
    assert (policy["inputs"]["environment"], policy["inputs"]["branchPattern"]) == (stack, "main")
    reviewers = inputs.get("reviewers") or []
    assert bool(reviewers and (reviewers[0].get("teams") or reviewers[0].get("users"))) == (stack == "prod")
    # Every GitHub resource goes through the explicit provider, owned by the repository's owner.
    provider = one(graph, "pulumi:providers:github", "github")
    assert provider["inputs"]["owner"] == "example-org"
    assert {r["provider"] for r in graph.resources if r["type"].startswith("github:")} == {provider["urn"]}


# What the workflows read from `vars`: `vars.NAME`, and `vars[format('NAME_{0}', matrix.stack)]`.
VARS = re.compile(r"vars\.([A-Z_]+)|vars\[format\('([A-Z_]+)\{0\}', matrix\.stack\)\]")


def workflow_variables(name: str) -> set[str]:
    text = (ROOT / ".github" / "workflows" / name).read_text()
    return {plain or f"{prefix}{{stack}}" for plain, prefix in VARS.findall(text)}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_variable_the_workflows_read_is_set_by_the_accounts_bootstrap(bootstrap_graphs, stack):
    graph = bootstrap_graphs[stack]
    outputs = graph.outputs
    environment = {v["inputs"]["variableName"]: v["inputs"]["value"] for v in graph.of_type(ENV_VARIABLE)}
    repository = {v["inputs"]["variableName"]: v["inputs"]["value"] for v in graph.of_type(REPO_VARIABLE)}
    assert {v["inputs"]["environment"] for v in graph.of_type(ENV_VARIABLE)} == {stack}
    # pulumi-up.yml runs in the environment; preview.yml outside any, one stack per matrix entry. GitHub
    # variable names are not case-sensitive (GitHub docs, variables: naming conventions).
    assert (
        set(environment)
        == workflow_variables("pulumi-up.yml")
        == {
            "AWS_DEPLOY_ROLE",
            "PULUMI_BACKEND_URL",
            "PULUMI_SECRETS_PROVIDER",
        }
    )
    assert set(repository) == {n.format(stack=stack.upper()) for n in workflow_variables("preview.yml")}
    assert environment == {
        "AWS_DEPLOY_ROLE": outputs["deployRoleArn"],
        "PULUMI_BACKEND_URL": outputs["backendUrl"],
        "PULUMI_SECRETS_PROVIDER": outputs["secretsProvider"],
    }
    assert repository == {
        f"AWS_PREVIEW_ROLE_{stack.upper()}": outputs["previewRoleArn"],
        f"PULUMI_BACKEND_URL_{stack.upper()}": outputs["backendUrl"],
    }


# --- the runner's webhook ---------------------------------------------------------------------------------
def groups_without_a_narrowing_filter(filter_groups: list[dict]) -> list[int]:
    """Filter groups that start a build on every queued job: a build starts when any group matches, so one
    such group among several opens the runner (CodeBuild user guide, "GitHub webhook events")."""
    return [
        index
        for index, group in enumerate(filter_groups)
        if not [f for f in group["filters"] if f["type"] != "EVENT" and not f.get("excludeMatchedPattern")]
    ]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_filter_group_of_the_runner_narrows_the_queued_jobs(bootstrap_graphs, stack):
    webhook = one(bootstrap_graphs[stack], "aws:codebuild/webhook:Webhook", "runner")["inputs"]
    assert webhook["filterGroups"] and groups_without_a_narrowing_filter(webhook["filterGroups"]) == []


def test_the_filter_group_check_sees_one_open_group_of_several():
    narrow = {
        "filters": [
            {"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"},
            {"type": "WORKFLOW_NAME", "pattern": "^deploy$"},
        ]
    }
    open_group = {"filters": [{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}]}
    excluded_only = {
        "filters": [
            {"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"},
            {"type": "WORKFLOW_NAME", "pattern": "^test$", "excludeMatchedPattern": True},
        ]
    }
    assert groups_without_a_narrowing_filter([narrow, open_group, narrow]) == [1]
    assert groups_without_a_narrowing_filter([narrow, excluded_only]) == [1]


def test_the_runner_starts_for_exactly_the_workflows_with_jobs_on_it(bootstrap_graphs):
    # The workflow_job event carries the run's workflow name: a reusable workflow's job (pulumi-up.yml) runs
    # in its caller's run (deploy). The pattern admits exactly the runs that have a job on a CodeBuild runner.
    workflows = {
        p.name: yaml.safe_load(p.read_text()) for p in (ROOT / ".github" / "workflows").glob("*.yml")
    }
    callers = {
        called.removeprefix("./.github/workflows/"): name
        for name, w in workflows.items()
        for job in w["jobs"].values()
        if (called := job.get("uses", "")).startswith("./.github/workflows/")
    }
    on_runner = {
        workflows[callers.get(name, name)]["name"]
        for name, w in workflows.items()
        for job in w["jobs"].values()
        if str(job.get("runs-on", "")).startswith("codebuild-")
    }
    webhook = one(bootstrap_graphs["dev"], "aws:codebuild/webhook:Webhook", "runner")["inputs"]
    (group,) = webhook["filterGroups"]
    (pattern,) = [f["pattern"] for f in group["filters"] if f["type"] == "WORKFLOW_NAME"]
    names = {w["name"] for w in workflows.values()}
    assert {n for n in names if re.search(pattern, n)} == on_runner == {"deploy", "preview", "drift"}


def test_named_actors_narrow_the_runner_further():
    from bootstrap import config
    from bootstrap.runner import webhook_filter_groups

    stack = yaml.safe_load((ROOT / "bootstrap" / "Pulumi.dev.yaml").read_text())["config"]
    values = {k: json.dumps(v) if isinstance(v, list) else v for k, v in stack.items()}
    settings = config.load({**values, "bootstrap:runnerActors": "[583231, 9919]"}, project="p", stack="dev")
    (group,) = webhook_filter_groups(settings)
    filters: list[Any] = list(group.filters)  # type: ignore[arg-type]  # plain Args here, no Outputs
    assert [(f.type, f.pattern) for f in filters] == [
        ("EVENT", "WORKFLOW_JOB_QUEUED"),
        ("WORKFLOW_NAME", "^(deploy|preview|drift)$"),
        ("ACTOR_ACCOUNT_ID", "^(583231|9919)$"),
    ]
