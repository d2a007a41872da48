"""Picturesocial bootstrap, once per AWS account: wires the typed settings to the components, exports what the
platform's workflows and stacks read (README, "One-time setup")."""

import sys
from pathlib import Path

# The repository's root: the settings machinery is shared with the platform (settings/), this project's own
# modules live in bootstrap/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi  # noqa: E402
import pulumi_aws as aws  # noqa: E402

from bootstrap import config as bootstrap_config  # noqa: E402
from bootstrap.billing import CostAllocationTags  # noqa: E402
from bootstrap.github import GithubAccess  # noqa: E402
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
runner = Runner("runner", settings, aws_provider=provider, opts=on_aws)
if settings.cost_allocation_tags:
    CostAllocationTags("cost-allocation-tags", settings.tags, opts=on_aws)

pulumi.export("previewRoleArn", github.preview_role.arn)
pulumi.export("deployRoleArn", github.deploy_role.arn)
pulumi.export("backendUrl", state.bucket.id.apply(lambda bucket: f"s3://{bucket}"))
pulumi.export("secretsProvider", f"awskms://{bootstrap_config.SECRETS_KEY_ALIAS}?region={settings.region}")
pulumi.export("runnerProject", settings.runner_project)
pulumi.export("runnerEgressCidr", runner.egress_cidr)
