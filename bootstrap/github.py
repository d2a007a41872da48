"""Who GitHub Actions may act as in this account: the OIDC provider, a read-only preview role for pull
requests, and a deploy role for one GitHub environment, bounded so that it cannot touch the bootstrap itself.

Every name here is fixed (the roles, the boundary, the runner's project): the boundary names what it protects
before any of it exists, and the platform's stack files name the roles (picturesocial:ci)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from bootstrap.config import GITHUB_OIDC, SECRETS_KEY_ALIAS, BootstrapSettings
from infra.iam_documents import STS_AUDIENCE, document, web_identity_trust

# configure-aws-credentials exports one session's credentials for the whole job: a preview fits in an hour; a
# deploy gets two (a Kubernetes upgrade rolls every node group), the job's 90-minute timeout inside it.
PREVIEW_SESSION_SECONDS, DEPLOY_SESSION_SECONDS = 3600, 7200
PREVIEW_ROLE, DEPLOY_ROLE = "picturesocial-preview", "picturesocial-deploy"
BOUNDARY = "picturesocial-deploy-boundary"
# IAM path of permissions boundaries: documents that cap what a role's policies allow and grant nothing
# themselves (the policy pack reads grants, not boundaries, by this path).
BOUNDARY_PATH = "/boundaries/"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
# What `pulumi up` of the platform creates spans EC2, EKS, IAM, KMS, ECR, S3, DynamoDB, SQS, EventBridge,
# CloudWatch, SNS, API Gateway and Route 53: an explicit list would be most of AWS and drift with every
# change. AdministratorAccess, capped by the boundary (docs/decisions/0017).
ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"


def trust(provider_arn: str, *subjects: str) -> str:
    """Exactly these subjects of the one repository, one statement each, and only tokens minted for STS:
    StringEquals, no wildcard."""
    statements = [
        json.loads(web_identity_trust(provider_arn, GITHUB_OIDC, s))["Statement"][0] for s in subjects
    ]
    return document(*statements)


def boundary_document(settings: BootstrapSettings) -> str:
    """Everything the attached policies allow, except changing what the bootstrap owns: the state bucket's
    configuration and old versions, the secrets key and its alias, the OIDC provider, the two roles, this
    boundary, and the runner."""
    account, region = settings.account_id, settings.region
    bucket = f"arn:aws:s3:::{settings.state_bucket}"
    identities = [
        f"arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC}",
        f"arn:aws:iam::{account}:role/{PREVIEW_ROLE}",
        f"arn:aws:iam::{account}:role/{DEPLOY_ROLE}",
        f"arn:aws:iam::{account}:role/{settings.runner_project}",
        f"arn:aws:iam::{account}:policy{BOUNDARY_PATH}{BOUNDARY}",
    ]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "CapNothingElse", "Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Sid": "KeepTheStateBucket",
                    "Effect": "Deny",
                    "Action": [
                        "s3:DeleteBucket",
                        "s3:DeleteBucketPolicy",
                        "s3:PutBucketPolicy",
                        "s3:PutBucketAcl",
                        "s3:PutBucketVersioning",
                        "s3:PutEncryptionConfiguration",
                        "s3:PutLifecycleConfiguration",
                        "s3:PutBucketPublicAccessBlock",
                        "s3:PutBucketOwnershipControls",
                        "s3:PutBucketRequestPayment",
                        "s3:PutReplicationConfiguration",
                        "s3:PutBucketObjectLockConfiguration",
                        "s3:DeleteObjectVersion",
                    ],
                    "Resource": [bucket, f"{bucket}/*"],
                },
                {
                    "Sid": "KeepTheSecretsKey",
                    "Effect": "Deny",
                    "Action": [
                        "kms:ScheduleKeyDeletion",
                        "kms:DisableKey",
                        "kms:PutKeyPolicy",
                        "kms:DisableKeyRotation",
                        "kms:CreateGrant",
                    ],
                    "Resource": "*",
                    "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": SECRETS_KEY_ALIAS}},
                },
                {
                    "Sid": "KeepTheSecretsKeyAlias",
                    "Effect": "Deny",
                    "Action": ["kms:DeleteAlias", "kms:UpdateAlias"],
                    "Resource": f"arn:aws:kms:{region}:{account}:{SECRETS_KEY_ALIAS}",
                },
                {
                    "Sid": "KeepTheIdentities",
                    "Effect": "Deny",
                    "Action": [
                        "iam:Add*",
                        "iam:Attach*",
                        "iam:Create*",
                        "iam:Delete*",
                        "iam:Detach*",
                        "iam:PassRole",
                        "iam:Put*",
                        "iam:Remove*",
                        "iam:SetDefaultPolicyVersion",
                        "iam:Tag*",
                        "iam:Untag*",
                        "iam:Update*",
                    ],
                    "Resource": identities,
                },
                {
                    "Sid": "KeepTheRunner",
                    "Effect": "Deny",
                    "Action": ["codebuild:Create*", "codebuild:Delete*", "codebuild:Update*"],
                    "Resource": f"arn:aws:codebuild:{region}:{account}:project/{settings.runner_project}",
                },
                {
                    # The address every cluster's endpoint admits (docs/decisions/0009), and its NAT gateway.
                    "Sid": "KeepTheRunnerAddress",
                    "Effect": "Deny",
                    "Action": [
                        "ec2:ReleaseAddress",
                        "ec2:DisassociateAddress",
                        "ec2:DeleteNatGateway",
                        "ec2:CreateTags",
                        "ec2:DeleteTags",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "aws:ResourceTag/Name": [
                                f"{settings.runner_project}-egress",
                                settings.runner_project,
                            ]
                        }
                    },
                },
                {
                    # The platform creates roles, never users: no long-lived credentials from a deploy.
                    "Sid": "NoLongLivedCredentials",
                    "Effect": "Deny",
                    "Action": [
                        "iam:CreateUser",
                        "iam:CreateAccessKey",
                        "iam:CreateLoginProfile",
                        "iam:UpdateLoginProfile",
                        "iam:CreateServiceSpecificCredential",
                    ],
                    "Resource": "*",
                },
            ],
        }
    )


class GithubAccess(pulumi.ComponentResource):
    """The OIDC provider, the deploy role's boundary, and the two roles the workflows assume."""

    provider: aws.iam.OpenIdConnectProvider
    preview_role: aws.iam.Role
    deploy_role: aws.iam.Role

    def __init__(self, name: str, settings: BootstrapSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("picturesocial:bootstrap:GithubAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=True)
        # One per account and URL. AWS validates GitHub's tokens against its own trusted CAs: no thumbprint.
        self.provider = aws.iam.OpenIdConnectProvider(
            "github", url=f"https://{GITHUB_OIDC}", client_id_lists=[STS_AUDIENCE], opts=protected
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
            opts=protected,
        )
        aws.iam.RolePolicyAttachment(
            "preview-read-only", role=self.preview_role.name, policy_arn=READ_ONLY, opts=child
        )
        for arn in settings.preview_permissions:
            aws.iam.RolePolicyAttachment(
                f"preview-{arn.rsplit('/', 1)[-1]}", role=self.preview_role.name, policy_arn=arn, opts=child
            )
        boundary = aws.iam.Policy(
            "deploy-boundary",
            name=BOUNDARY,
            path=BOUNDARY_PATH,
            description="What picturesocial-deploy may never change: the bootstrap of its account",
            policy=boundary_document(settings),
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
            {"previewRoleArn": self.preview_role.arn, "deployRoleArn": self.deploy_role.arn}
        )
