"""The two permissions boundaries of an account (bootstrap/boundaries.py, docs/decisions/0018), evaluated
request by request with the project's IAM evaluator: the deploy role (AdministratorAccess under the deploy
boundary) and a platform role (anything under the workload boundary) against every action that would weaken
what the bootstrap protects, and against the ordinary work of a deploy."""

from __future__ import annotations

import json

import pytest
from iam_eval import allowed

from bootstrap import boundaries
from bootstrap.config import load

ACCOUNT = "123456789012"
SETTINGS = load(
    {
        "aws:region": "eu-west-1",
        "aws:allowedAccountIds": f'["{ACCOUNT}"]',
        "bootstrap:githubRepository": "example-org/picturesocial",
        "bootstrap:stateBucket": "state-of-the-tests",
        "bootstrap:environment": "staging",
        "bootstrap:adminRoles": '["platform-admin", "break-glass"]',
    },
    project="bootstrap",
    stack="staging",
)
DEPLOY = json.loads(boundaries.deploy_boundary_document(SETTINGS))
WORKLOAD = json.loads(boundaries.workload_boundary_document(SETTINGS))
ADMINISTRATOR_ACCESS = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

IAM = f"arn:aws:iam::{ACCOUNT}"
WORKLOAD_BOUNDARY = f"{IAM}:policy/boundaries/picturesocial-workload-boundary"
DEPLOY_BOUNDARY = f"{IAM}:policy/boundaries/picturesocial-deploy-boundary"
BOUNDED = {"iam:PermissionsBoundary": WORKLOAD_BOUNDARY}  # a request on a role that carries the boundary
OTHER = {"iam:PermissionsBoundary": f"{IAM}:policy/boundaries/made-up"}
ADMIN_POLICY = {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
PLATFORM_ROLE = f"{IAM}:role/node-role-7c1d2e3"
BUCKET = "arn:aws:s3:::state-of-the-tests"
SECRETS_KEY = {"kms:ResourceAliases": ["alias/picturesocial-pulumi"]}
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0f1e2d3c-aaaa-bbbb-cccc-000000000000"
RUNNER = "picturesocial-runner-staging"


def deploy_may(action: str, resource: str, context: dict | None = None) -> bool:
    # Allowed only if both the identity policy and the boundary allow it (IAM user guide, "Policy evaluation
    # logic", permissions boundaries).
    return allowed(ADMINISTRATOR_ACCESS, action, resource, context) and allowed(
        DEPLOY, action, resource, context
    )


def workload_may(action: str, resource: str, context: dict | None = None) -> bool:
    # The worst case: a platform role whose own policy allows everything.
    return allowed(ADMINISTRATOR_ACCESS, action, resource, context) and allowed(
        WORKLOAD, action, resource, context
    )


# -- the way out of the boundary: roles without it ------------------------------------------------------
ESCAPES = [
    ("create a role without a boundary", "iam:CreateRole", f"{IAM}:role/escape", {}),
    ("create a role with another boundary", "iam:CreateRole", f"{IAM}:role/escape", OTHER),
    (
        "create a role with the deploy boundary",
        "iam:CreateRole",
        f"{IAM}:role/escape",
        {"iam:PermissionsBoundary": DEPLOY_BOUNDARY},
    ),
    ("attach a policy to an unbounded role", "iam:AttachRolePolicy", f"{IAM}:role/legacy", ADMIN_POLICY),
    (
        "attach a policy to a role with another boundary",
        "iam:AttachRolePolicy",
        f"{IAM}:role/legacy",
        {**OTHER, **ADMIN_POLICY},
    ),
    ("put an inline policy on an unbounded role", "iam:PutRolePolicy", f"{IAM}:role/legacy", {}),
    (
        "put an inline policy on a role with another boundary",
        "iam:PutRolePolicy",
        f"{IAM}:role/legacy",
        OTHER,
    ),
    ("detach a policy from an unbounded role", "iam:DetachRolePolicy", f"{IAM}:role/legacy", {}),
    ("delete an inline policy of an unbounded role", "iam:DeleteRolePolicy", f"{IAM}:role/legacy", {}),
    ("replace a role's boundary", "iam:PutRolePermissionsBoundary", PLATFORM_ROLE, OTHER),
    ("remove a role's boundary", "iam:DeleteRolePermissionsBoundary", PLATFORM_ROLE, BOUNDED),
    ("remove an unbounded role's nothing", "iam:DeleteRolePermissionsBoundary", f"{IAM}:role/legacy", {}),
]
# -- the boundaries themselves ------------------------------------------------------------------------
Row = tuple[str, str, str, dict]
BOUNDARY_EDITS: list[Row] = [
    (f"{verb} the {which} boundary", action, arn, {})
    for which, arn in (("workload", WORKLOAD_BOUNDARY), ("deploy", DEPLOY_BOUNDARY))
    for verb, action in (
        ("add a version to", "iam:CreatePolicyVersion"),
        ("delete", "iam:DeletePolicy"),
        ("delete a version of", "iam:DeletePolicyVersion"),
        ("roll back", "iam:SetDefaultPolicyVersion"),
        ("re-tag", "iam:TagPolicy"),
    )
] + [("create a policy under /boundaries/", "iam:CreatePolicy", f"{IAM}:policy/boundaries/lookalike", {})]
# -- the bootstrap's roles and the administrators' --------------------------------------------------------
PROTECTED_ROLES = [
    "picturesocial-deploy",
    "picturesocial-preview",
    RUNNER,
    "platform-admin",
    "break-glass",
    "aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef",
]
ROLE_CHANGES = [
    (f"{verb} {role}", action, f"{IAM}:role/{role}", context)
    for role in PROTECTED_ROLES
    for verb, action, context in (
        ("rewrite the trust of", "iam:UpdateAssumeRolePolicy", {}),
        ("attach a policy to", "iam:AttachRolePolicy", ADMIN_POLICY),
        ("put an inline policy on", "iam:PutRolePolicy", {}),
        ("detach a policy from", "iam:DetachRolePolicy", {}),
        ("delete", "iam:DeleteRole", {}),
        ("pass", "iam:PassRole", {}),
        ("re-tag", "iam:TagRole", {}),
    )
] + [
    (
        "delete GitHub's OIDC provider",
        "iam:DeleteOpenIDConnectProvider",
        f"{IAM}:oidc-provider/token.actions.githubusercontent.com",
        {},
    ),
    (
        "add an audience to GitHub's OIDC provider",
        "iam:AddClientIDToOpenIDConnectProvider",
        f"{IAM}:oidc-provider/token.actions.githubusercontent.com",
        {},
    ),
]
# -- the state bucket, the secrets key, the runner ----------------------------------------------------------
STATE_CHANGES: list[Row] = [
    (f"{action} on the state bucket", action, BUCKET, {})
    for action in (
        "s3:DeleteBucket",
        "s3:PutBucketVersioning",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutEncryptionConfiguration",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketAcl",
        "s3:PutBucketOwnershipControls",
        "s3:PutLifecycleConfiguration",
        "s3:PutReplicationConfiguration",
    )
] + [
    ("delete an old version of a checkpoint", "s3:DeleteObjectVersion", f"{BUCKET}/.pulumi/stacks/x.json", {})
]
KEY_CHANGES = [
    (f"{action} on the secrets key", action, KEY, SECRETS_KEY)
    for action in (
        "kms:ScheduleKeyDeletion",
        "kms:DisableKey",
        "kms:PutKeyPolicy",
        "kms:DisableKeyRotation",
        "kms:CreateGrant",
    )
] + [
    (
        f"{action} of the secrets key's alias",
        action,
        f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/picturesocial-pulumi",
        {},
    )
    for action in ("kms:DeleteAlias", "kms:UpdateAlias")
]
RUNNER_CHANGES: list[Row] = (
    [
        (f"{action} on the runner", action, f"arn:aws:codebuild:eu-west-1:{ACCOUNT}:project/{RUNNER}", {})
        for action in (
            "codebuild:UpdateProject",
            "codebuild:DeleteProject",
            "codebuild:UpdateWebhook",
            "codebuild:DeleteWebhook",
            "codebuild:CreateWebhook",
        )
    ]
    + [
        (
            f"{action} on the runner's {tag}",
            action,
            f"arn:aws:ec2:eu-west-1:{ACCOUNT}:{kind}/x",
            {"aws:ResourceTag/Name": tag},
        )
        for action, kind, tag in (
            ("ec2:ReleaseAddress", "elastic-ip", f"{RUNNER}-egress"),
            ("ec2:DisassociateAddress", "elastic-ip", f"{RUNNER}-egress"),
            ("ec2:CreateTags", "elastic-ip", f"{RUNNER}-egress"),
            ("ec2:DeleteTags", "elastic-ip", f"{RUNNER}-egress"),
            ("ec2:DeleteNatGateway", "natgateway", RUNNER),
            ("ec2:CreateTags", "natgateway", RUNNER),
        )
    ]
    + [
        ("create a user", "iam:CreateUser", f"{IAM}:user/someone", {}),
        ("create an access key", "iam:CreateAccessKey", f"{IAM}:user/someone", {}),
    ]
)
WEAKENINGS = ESCAPES + BOUNDARY_EDITS + ROLE_CHANGES + STATE_CHANGES + KEY_CHANGES + RUNNER_CHANGES


@pytest.mark.parametrize("row", WEAKENINGS, ids=[row[0] for row in WEAKENINGS])
def test_the_deploy_role_is_denied_what_would_weaken_the_bootstrap(row):
    _, action, resource, context = row
    assert not deploy_may(action, resource, context)


@pytest.mark.parametrize("row", WEAKENINGS, ids=[row[0] for row in WEAKENINGS])
def test_a_platform_role_is_denied_whatever_the_deploy_role_is(row):
    _, action, resource, context = row
    assert not workload_may(action, resource, context)


# Ordinary platform work: what `pulumi up` of the stacks does.
DEPLOY_WORK = [
    ("create a role that carries the workload boundary", "iam:CreateRole", PLATFORM_ROLE, BOUNDED),
    (
        "attach a policy to it",
        "iam:AttachRolePolicy",
        PLATFORM_ROLE,
        {**BOUNDED, "iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"},
    ),
    ("put its inline policy", "iam:PutRolePolicy", PLATFORM_ROLE, BOUNDED),
    ("detach a policy from it", "iam:DetachRolePolicy", PLATFORM_ROLE, BOUNDED),
    ("delete its inline policy", "iam:DeleteRolePolicy", PLATFORM_ROLE, BOUNDED),
    ("give an existing role the workload boundary", "iam:PutRolePermissionsBoundary", PLATFORM_ROLE, BOUNDED),
    ("change its trust", "iam:UpdateAssumeRolePolicy", PLATFORM_ROLE, {}),
    ("delete it", "iam:DeleteRole", PLATFORM_ROLE, {}),
    ("pass it to EKS", "iam:PassRole", PLATFORM_ROLE, {"iam:PassedToService": "eks.amazonaws.com"}),
    ("create a granting policy", "iam:CreatePolicy", f"{IAM}:policy/picturesocial-x", {}),
    ("create the cluster", "eks:CreateCluster", f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/c", {}),
    ("version an app bucket", "s3:PutBucketVersioning", "arn:aws:s3:::picturesocial-dev-pictures", {}),
    ("write the state", "s3:PutObject", f"{BUCKET}/.pulumi/stacks/picturesocial/dev.json", {}),
    ("decrypt the secrets", "kms:Decrypt", KEY, SECRETS_KEY),
    (
        "delete the cluster's own key",
        "kms:ScheduleKeyDeletion",
        KEY,
        {"kms:ResourceAliases": ["alias/eks-x"]},
    ),
    (
        "release another address",
        "ec2:ReleaseAddress",
        f"arn:aws:ec2:eu-west-1:{ACCOUNT}:elastic-ip/y",
        {"aws:ResourceTag/Name": "picturesocial-dev-nat"},
    ),
]


@pytest.mark.parametrize("row", DEPLOY_WORK, ids=[row[0] for row in DEPLOY_WORK])
def test_the_deploy_role_does_its_ordinary_work(row):
    _, action, resource, context = row
    assert deploy_may(action, resource, context)


# What a platform role needs (Karpenter's instance profiles and node role, the controllers' service-linked
# roles, an API's bucket) and what it may never do although the deploy role may.
WORKLOAD_WORK = [
    (
        "pass the node role to EC2",
        "iam:PassRole",
        PLATFORM_ROLE,
        {"iam:PassedToService": "ec2.amazonaws.com"},
    ),
    ("create an instance profile", "iam:CreateInstanceProfile", f"{IAM}:instance-profile/p", {}),
    ("add the node role to it", "iam:AddRoleToInstanceProfile", f"{IAM}:instance-profile/p", {}),
    (
        "create a service-linked role",
        "iam:CreateServiceLinkedRole",
        f"{IAM}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing",
        {},
    ),
    ("read a role", "iam:GetRole", PLATFORM_ROLE, {}),
    ("launch a node", "ec2:RunInstances", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/*", {}),
    ("read its bucket", "s3:GetObject", "arn:aws:s3:::picturesocial-dev-pictures/a.jpg", {}),
]
WORKLOAD_NEVER = [
    ("create a role even with the boundary", "iam:CreateRole", PLATFORM_ROLE, BOUNDED),
    ("attach a policy to a bounded role", "iam:AttachRolePolicy", PLATFORM_ROLE, {**BOUNDED, **ADMIN_POLICY}),
    ("put an inline policy on a bounded role", "iam:PutRolePolicy", PLATFORM_ROLE, BOUNDED),
    ("change a bounded role's trust", "iam:UpdateAssumeRolePolicy", PLATFORM_ROLE, {}),
    ("create a policy", "iam:CreatePolicy", f"{IAM}:policy/picturesocial-x", {}),
    ("add a version to a policy", "iam:CreatePolicyVersion", f"{IAM}:policy/picturesocial-x", {}),
    ("create an OIDC provider", "iam:CreateOpenIDConnectProvider", f"{IAM}:oidc-provider/example.com", {}),
    ("read the Pulumi state", "s3:GetObject", f"{BUCKET}/.pulumi/stacks/picturesocial/prod.json", {}),
    ("decrypt the Pulumi secrets", "kms:Decrypt", KEY, SECRETS_KEY),
    ("change the password policy", "iam:UpdateAccountPasswordPolicy", "*", {}),
    ("leave the organization", "organizations:LeaveOrganization", "*", {}),
]


@pytest.mark.parametrize("row", WORKLOAD_WORK, ids=[row[0] for row in WORKLOAD_WORK])
def test_a_platform_role_does_what_the_controllers_need(row):
    _, action, resource, context = row
    assert workload_may(action, resource, context)


@pytest.mark.parametrize("row", WORKLOAD_NEVER, ids=[row[0] for row in WORKLOAD_NEVER])
def test_a_platform_role_administers_no_identity_and_reads_no_state(row):
    _, action, resource, context = row
    assert not workload_may(action, resource, context)


def test_the_administrators_roles_come_from_the_settings():
    # Only what the stack names is protected: a role the settings do not list is ordinary to the boundary.
    other = load(
        {**{k: v for k, v in SETTINGS_INPUT.items() if k != "bootstrap:adminRoles"}},
        project="bootstrap",
        stack="staging",
    )
    document = json.loads(boundaries.deploy_boundary_document(other))
    role = f"{IAM}:role/OrganizationAccountAccessRole"
    assert not allowed(document, "iam:UpdateAssumeRolePolicy", role)  # the default
    assert allowed(document, "iam:UpdateAssumeRolePolicy", f"{IAM}:role/platform-admin")
    assert not allowed(DEPLOY, "iam:UpdateAssumeRolePolicy", f"{IAM}:role/platform-admin")


SETTINGS_INPUT = {
    "aws:region": "eu-west-1",
    "aws:allowedAccountIds": f'["{ACCOUNT}"]',
    "bootstrap:githubRepository": "example-org/picturesocial",
    "bootstrap:stateBucket": "state-of-the-tests",
    "bootstrap:environment": "staging",
}


# -- the evaluator's own semantics (IAM user guide, "IAM JSON policy elements: Condition operators") -------
def deny_unless(operator: str, value: str) -> dict:
    return {
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "iam:CreateRole",
                "Resource": "*",
                "Condition": {operator: {"iam:PermissionsBoundary": value}},
            },
        ]
    }


@pytest.mark.parametrize(
    "operator, value, context, denied",
    [
        ("StringNotEquals", "arn:b", {}, True),  # a negated operator matches a request without the key
        ("StringNotEquals", "arn:b", {"iam:PermissionsBoundary": "arn:b"}, False),
        ("StringNotEquals", "arn:b", {"iam:PermissionsBoundary": "arn:c"}, True),
        ("StringNotEqualsIfExists", "arn:b", {}, True),
        ("StringNotLike", "arn:*", {}, True),
        ("StringNotLike", "arn:*", {"iam:PermissionsBoundary": "arn:b"}, False),
        (
            "ArnNotEquals",
            "arn:aws:iam::1:policy/b",
            {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/b"},
            False,
        ),
        ("ArnNotEquals", "arn:aws:iam::1:policy/b", {}, True),
        (
            "ArnNotLike",
            "arn:aws:iam::*:policy/b",
            {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/b"},
            False,
        ),
        (
            "ArnEquals",
            "arn:aws:iam::1:policy/b",
            {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/b"},
            True,
        ),
        ("ArnEquals", "arn:aws:iam::1:policy/b", {}, False),  # a positive operator needs the key
        ("StringEquals", "arn:b", {}, False),
        ("Null", "true", {}, True),
        ("Null", "true", {"iam:PermissionsBoundary": "arn:b"}, False),
    ],
)
def test_the_evaluator_reads_negated_and_arn_operators_as_iam_does(operator, value, context, denied):
    assert (
        allowed(deny_unless(operator, value), "iam:CreateRole", "arn:aws:iam::1:role/r", context)
        is not denied
    )


def test_the_evaluator_refuses_an_operator_it_does_not_know():
    with pytest.raises(ValueError, match="NumericLessThan"):
        allowed(
            deny_unless("NumericLessThan", "3"),
            "iam:CreateRole",
            "arn:aws:iam::1:role/r",
            {"iam:PermissionsBoundary": "1"},
        )
