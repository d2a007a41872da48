"""The two permissions boundaries of an account (docs/decisions/0018), both under the /boundaries/ path and
both protected from the roles they bound.

- The **deploy boundary** caps ``picturesocial-deploy`` (AdministratorAccess): everything, except weakening
  the bootstrap (state bucket, secrets key, runner, the GitHub identities, the account's administrator roles,
  the boundaries themselves) and except creating or changing a role that does not carry the workload boundary.
- The **workload boundary** caps every role the platform's stacks create (IRSA roles, node roles, Karpenter's,
  the controllers', the cluster's service role): the same protections, no identity administration at all
  (a workload creates no role, policy, user or key) and no access to the Pulumi state or its secrets key.

The pattern is the IAM user guide's "Delegating responsibility to others using permissions boundaries"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html): creating a principal, or
changing its permissions or boundary, only with ``iam:PermissionsBoundary`` equal to the delegated boundary;
the boundary policy itself may not be edited or deleted; deleting a boundary is denied.
"""

from __future__ import annotations

import json
from typing import Any

from bootstrap.config import GITHUB_OIDC, SECRETS_KEY_ALIAS, BootstrapSettings

PREVIEW_ROLE, DEPLOY_ROLE = "picturesocial-preview", "picturesocial-deploy"
DEPLOY_BOUNDARY = "picturesocial-deploy-boundary"
WORKLOAD_BOUNDARY = "picturesocial-workload-boundary"
# IAM path of permissions boundaries: documents that cap what a role's policies allow and grant nothing
# themselves (the policy pack reads grants, not boundaries, by this path). Only the bootstrap writes here.
BOUNDARY_PATH = "/boundaries/"

# Role actions whose request carries iam:PermissionsBoundary: the boundary being set (CreateRole,
# PutRolePermissionsBoundary) or the one the role already has (the policy actions). Service Authorization
# Reference, "Actions defined by AWS Identity and Access Management": the condition key column of each.
BOUNDED_ROLE_ACTIONS = [
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
]
# What a role's identity may never do to an identity the bootstrap or the account's administrators own.
IDENTITY_WRITES = [
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
]
# The IAM actions a workload needs: reads, passing its node role to EC2 (Karpenter), the instance profiles
# Karpenter v1 manages for its node class, and service-linked roles (the load balancer controller's
# elasticloadbalancing, EKS's own). STS stays usable: its resources are IAM role ARNs too.
WORKLOAD_IAM = [
    "iam:Get*",
    "iam:List*",
    "iam:PassRole",
    "iam:CreateServiceLinkedRole",
    "iam:CreateInstanceProfile",
    "iam:DeleteInstanceProfile",
    "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:TagInstanceProfile",
    "iam:UntagInstanceProfile",
    "sts:*",
]


def arn(settings: BootstrapSettings, boundary: str) -> str:
    return f"arn:aws:iam::{settings.account_id}:policy{BOUNDARY_PATH}{boundary}"


def protected_identities(settings: BootstrapSettings) -> list[str]:
    """The identities no bounded role may change, pass or delete: the bootstrap's, and the roles the account's
    administrators use (``bootstrap:adminRoles``, and IAM Identity Center's). The boundary policies are kept
    by KeepTheBoundaryPolicies (deploy) and NoIdentityAdministration (workload)."""
    account = settings.account_id
    return [
        f"arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC}",
        f"arn:aws:iam::{account}:role/{PREVIEW_ROLE}",
        f"arn:aws:iam::{account}:role/{DEPLOY_ROLE}",
        f"arn:aws:iam::{account}:role/{settings.runner_project}",
        *(f"arn:aws:iam::{account}:role/{name}" for name in settings.admin_roles),
        # Roles IAM Identity Center creates for permission sets (path /aws-reserved/sso.amazonaws.com/).
        f"arn:aws:iam::{account}:role/aws-reserved/*",
    ]


def _protections(settings: BootstrapSettings) -> list[dict[str, Any]]:
    """What neither boundary lets a role weaken: the bootstrap of the account."""
    account, region = settings.account_id, settings.region
    bucket = f"arn:aws:s3:::{settings.state_bucket}"
    return [
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
            "Action": IDENTITY_WRITES,
            "Resource": protected_identities(settings),
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
                    "aws:ResourceTag/Name": [f"{settings.runner_project}-egress", settings.runner_project]
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
    ]


def deploy_boundary_document(settings: BootstrapSettings) -> str:
    """The deploy role's boundary: everything its AdministratorAccess allows, but the bootstrap, and every
    role it creates or changes carries the workload boundary."""
    workload = arn(settings, WORKLOAD_BOUNDARY)
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "CapNothingElse", "Effect": "Allow", "Action": "*", "Resource": "*"},
                *_protections(settings),
                {
                    # A role without the workload boundary, or with another one, could be given
                    # AdministratorAccess and a trust that admits this role: the way out of this boundary.
                    # StringNotEquals also matches a request without the key (a role created unbounded).
                    "Sid": "OnlyRolesWithTheWorkloadBoundary",
                    "Effect": "Deny",
                    "Action": BOUNDED_ROLE_ACTIONS,
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": workload}},
                },
                {
                    "Sid": "NoRoleLosesItsBoundary",
                    "Effect": "Deny",
                    "Action": "iam:DeleteRolePermissionsBoundary",
                    "Resource": "*",
                },
                {
                    # Editing the workload boundary would widen every bounded role at once; a new policy
                    # under /boundaries/ would be read as a boundary (and skipped) by the policy pack.
                    "Sid": "KeepTheBoundaryPolicies",
                    "Effect": "Deny",
                    "Action": [
                        "iam:CreatePolicy",
                        "iam:CreatePolicyVersion",
                        "iam:DeletePolicy",
                        "iam:DeletePolicyVersion",
                        "iam:SetDefaultPolicyVersion",
                        "iam:TagPolicy",
                        "iam:UntagPolicy",
                    ],
                    "Resource": f"arn:aws:iam::{settings.account_id}:policy{BOUNDARY_PATH}*",
                },
            ],
        }
    )


def workload_boundary_document(settings: BootstrapSettings) -> str:
    """The boundary of every role the platform creates: what its own policy allows (each is scoped), but no
    identity administration, nothing of the bootstrap, and neither the Pulumi state nor its secrets key."""
    account = settings.account_id
    bucket = f"arn:aws:s3:::{settings.state_bucket}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "CapNothingElse", "Effect": "Allow", "Action": "*", "Resource": "*"},
                *_protections(settings),
                {
                    # Every IAM resource of the account, every action but the few a workload needs: no role,
                    # policy, user, group, key or provider is created or changed by a workload.
                    "Sid": "NoIdentityAdministration",
                    "Effect": "Deny",
                    "NotAction": WORKLOAD_IAM,
                    "Resource": f"arn:aws:iam::{account}:*",
                },
                {
                    # The account-wide IAM actions (no resource ARN) and the organization.
                    "Sid": "NoAccountAdministration",
                    "Effect": "Deny",
                    "Action": [
                        "iam:*Account*",
                        "iam:*PasswordPolicy",
                        "iam:SetSecurityTokenServicePreferences",
                        "organizations:*",
                        "account:*",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "NoPulumiState",
                    "Effect": "Deny",
                    "Action": "s3:*",
                    "Resource": [bucket, f"{bucket}/*"],
                },
                {
                    "Sid": "NoPulumiSecrets",
                    "Effect": "Deny",
                    "Action": "kms:*",
                    "Resource": "*",
                    "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": SECRETS_KEY_ALIAS}},
                },
            ],
        }
    )
