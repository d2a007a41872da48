"""Picturesocial bootstrap, once per AWS account: wires the typed settings to the components, exports what the
platform's workflows and stacks read (README, "One-time setup")."""

import sys
from pathlib import Path

# The repository's root: the settings machinery is shared with the platform (settings/), this project's own
# modules live in bootstrap/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi  # noqa: E402
import pulumi_aws as aws  # noqa: E402
import pulumi_github as github_provider  # noqa: E402

from bootstrap import config as bootstrap_config  # noqa: E402
from bootstrap.billing import CostAllocationTags  # noqa: E402
from bootstrap.github import GithubAccess  # noqa: E402
from bootstrap.repository import GithubRepository  # noqa: E402
from bootstrap.runner import Runner  # noqa: E402
from bootstrap.state import StateBackend  # noqa: E402

try:
    settings = bootstrap_config.from_pulumi()
except bootstrap_config.SettingsError as exc:
    raise pulumi.RunError(str(exc)) from None

provider = aws.Provider(
    "aws",
    region=settings.region,
    allowed_account_ids=settings.allowed_account_ids,
    default_tags=aws.ProviderDefaultTagsArgs(tags=settings.tags),
)
on_aws = pulumi.ResourceOptions(provider=provider)

github = GithubAccess("github", settings, opts=on_aws)
state = StateBackend(
    "state",
    settings,
    users={"preview": github.preview_role.arn, "deploy": github.deploy_role.arn},
    opts=on_aws,
)


def bounded_by_the_deploy_boundary(args: pulumi.ResourceTransformationArgs):
    """The runner's service role carries the deploy boundary like the bootstrap's other roles (policy
    iam-roles-bounded, docs/decisions/0018): its own policy is scoped, the boundary keeps it off the
    bootstrap if that policy ever widens."""
    if args.type_ == "aws:iam/role:Role" and not args.props.get("permissions_boundary"):
        props = {**args.props, "permissions_boundary": github.deploy_boundary.arn}
        return pulumi.ResourceTransformationResult(props, args.opts)
    return None


runner = Runner(
    "runner",
    settings,
    aws_provider=provider,
    opts=pulumi.ResourceOptions.merge(
        on_aws, pulumi.ResourceOptions(transformations=[bounded_by_the_deploy_boundary])
    ),
)

# The GitHub side, with a token of a repository administrator in GITHUB_TOKEN (the provider reads it from the
# environment: pulumi_github Provider `token`; never in a stack file). The owner is the repository's.
github_api = github_provider.Provider("github", owner=settings.owner)
backend_url = state.bucket.id.apply(lambda bucket: f"s3://{bucket}")
secrets_provider = f"awskms://{bootstrap_config.SECRETS_KEY_ALIAS}?region={settings.region}"
suffix = settings.environment.upper()  # GitHub variable names are not case-sensitive (GitHub docs, variables)
GithubRepository(
    "repository",
    settings,
    # What pulumi-up.yml reads in the environment's jobs.
    variables={
        "AWS_DEPLOY_ROLE": github.deploy_role.arn,
        "PULUMI_BACKEND_URL": backend_url,
        "PULUMI_SECRETS_PROVIDER": secrets_provider,
    },
    # What preview.yml reads per stack, outside any environment.
    repository_variables={
        f"AWS_PREVIEW_ROLE_{suffix}": github.preview_role.arn,
        f"PULUMI_BACKEND_URL_{suffix}": backend_url,
    },
    opts=pulumi.ResourceOptions(provider=github_api),
)
if settings.cost_allocation_tags:
    CostAllocationTags("cost-allocation-tags", settings.tags, opts=on_aws)

pulumi.export("previewRoleArn", github.preview_role.arn)
pulumi.export("deployRoleArn", github.deploy_role.arn)
pulumi.export("workloadBoundaryArn", github.workload_boundary.arn)
pulumi.export("backendUrl", backend_url)
pulumi.export("secretsProvider", secrets_provider)
pulumi.export("runnerProject", settings.runner_project)
pulumi.export("runnerEgressCidr", runner.egress_cidr)
