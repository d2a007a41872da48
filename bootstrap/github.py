"""Who GitHub Actions may act as in this account: the OIDC provider, a read-only preview role for pull
requests, and a deploy role for one GitHub environment, bounded so that it cannot touch the bootstrap itself.

Every name here is fixed (the roles, the boundary, the runner's project): the boundary names what it protects
before any of it exists, and the platform's stack files name the roles (picturesocial:ci)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from bootstrap.boundaries import (
    BOUNDARY_PATH,
    DEPLOY_BOUNDARY,
    DEPLOY_ROLE,
    PREVIEW_ROLE,
    WORKLOAD_BOUNDARY,
    deploy_boundary_document,
    workload_boundary_document,
)
from bootstrap.config import GITHUB_OIDC, BootstrapSettings
from infra.iam_documents import STS_AUDIENCE, document, web_identity_trust

# configure-aws-credentials exports one session's credentials for the whole job: a preview fits in an hour; a
# deploy gets two (a Kubernetes upgrade rolls every node group), the job's 90-minute timeout inside it.
PREVIEW_SESSION_SECONDS, DEPLOY_SESSION_SECONDS = 3600, 7200
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
# What `pulumi up` of the platform creates spans EC2, EKS, IAM, KMS, ECR, S3, DynamoDB, SQS, EventBridge,
# CloudWatch, SNS, API Gateway and Route 53: an explicit list would be most of AWS and drift with every
# change. AdministratorAccess, capped by the boundary (docs/decisions/0017).
ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"


def _statement(provider_arn: str, subject: str) -> dict:
    """One subject, for STS tokens only: StringEquals, except a pull request's subject, whose one wildcard is
    its number (StringLike; docs/decisions/0020)."""
    if "*" not in subject:
        return json.loads(web_identity_trust(provider_arn, GITHUB_OIDC, subject))["Statement"][0]
    return {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {f"{GITHUB_OIDC}:aud": STS_AUDIENCE},
            "StringLike": {f"{GITHUB_OIDC}:sub": subject},
        },
    }


def trust(provider_arn: str, *subjects: str) -> str:
    """Exactly these subjects of the one repository, one statement each."""
    return document(*(_statement(provider_arn, s) for s in subjects))


class GithubAccess(pulumi.ComponentResource):
    """The OIDC provider, the deploy role's boundary, and the two roles the workflows assume."""

    provider: aws.iam.OpenIdConnectProvider
    preview_role: aws.iam.Role
    deploy_role: aws.iam.Role
    deploy_boundary: aws.iam.Policy
    workload_boundary: aws.iam.Policy

    def __init__(self, name: str, settings: BootstrapSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("picturesocial:bootstrap:GithubAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=True)
        # One per account and URL. AWS validates GitHub's tokens against its own trusted CAs: no thumbprint.
        self.provider = aws.iam.OpenIdConnectProvider(
            "github", url=f"https://{GITHUB_OIDC}", client_id_lists=[STS_AUDIENCE], opts=protected
        )
        self.deploy_boundary = boundary = aws.iam.Policy(
            "deploy-boundary",
            name=DEPLOY_BOUNDARY,
            path=BOUNDARY_PATH,
            description="What picturesocial-deploy may never change: the bootstrap of its account",
            policy=deploy_boundary_document(settings),
            opts=protected,
        )
        self.preview_role = aws.iam.Role(
            "preview",
            name=PREVIEW_ROLE,
            description=f"Pull-request previews of {settings.github_repository}: read only",
            # Pull requests, and the nightly drift check on the default branch (docs/decisions/0029).
            assume_role_policy=self.provider.arn.apply(
                lambda arn: trust(arn, settings.preview_subject, settings.drift_subject)
            ),
            max_session_duration=PREVIEW_SESSION_SECONDS,
            # Read-only either way; bounded like every role (policy iam-roles-bounded, docs/decisions/0018).
            permissions_boundary=self.deploy_boundary.arn,
            opts=protected,
        )
        aws.iam.RolePolicyAttachment(
            "preview-read-only", role=self.preview_role.name, policy_arn=READ_ONLY, opts=child
        )
        for arn in settings.preview_permissions:
            aws.iam.RolePolicyAttachment(
                f"preview-{arn.rsplit('/', 1)[-1]}", role=self.preview_role.name, policy_arn=arn, opts=child
            )
        # The only boundary the deploy role may give a role (docs/decisions/0018): the platform's stacks
        # name it in picturesocial:ci.permissionsBoundaryArn.
        self.workload_boundary = aws.iam.Policy(
            "workload-boundary",
            name=WORKLOAD_BOUNDARY,
            path=BOUNDARY_PATH,
            description="The most any role of the picturesocial stacks may do: no IAM administration, "
            "nothing of the bootstrap",
            policy=workload_boundary_document(settings),
            opts=protected,
        )
        self.deploy_role = aws.iam.Role(
            "deploy",
            name=DEPLOY_ROLE,
            description=f"`pulumi up` from {settings.github_repository}, environment {settings.environment}",
            assume_role_policy=self.provider.arn.apply(lambda arn: trust(arn, settings.deploy_subject)),
            max_session_duration=DEPLOY_SESSION_SECONDS,
            permissions_boundary=boundary.arn,
            opts=protected,
        )
        aws.iam.RolePolicyAttachment(
            "deploy-administrator", role=self.deploy_role.name, policy_arn=ADMINISTRATOR, opts=child
        )
        self.register_outputs(
            {
                "previewRoleArn": self.preview_role.arn,
                "deployRoleArn": self.deploy_role.arn,
                "workloadBoundaryArn": self.workload_boundary.arn,
            }
        )
