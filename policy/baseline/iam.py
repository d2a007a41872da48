"""IAM: granting policies name their actions and scope their mutations; node roles hold the node policies
only. Permissions boundaries (path /boundaries/) cap and grant nothing, so they are read as caps."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import (
    MANDATORY,
    _get,
    _objects,
    _resource_policy,
)

# Permissions boundaries cap what a role's policies allow and grant nothing themselves (bootstrap/github.py);
# they live under this IAM path and are read as caps, not grants.
BOUNDARY_PATH = "/boundaries/"


def _grants(args: ResourceValidationArgs) -> bool:
    return args.props.get("path") != BOUNDARY_PATH


def _allow_statements(args: ResourceValidationArgs) -> Iterable[dict[str, Any]]:
    """The Allow statements of an IAM policy resource that grants (not a permissions boundary)."""
    document = args.props.get("policy")
    if not _grants(args) or not isinstance(document, str):
        return
    statements = json.loads(document).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") == "Allow":
            yield statement


def _iam_wildcards(args: ResourceValidationArgs) -> Iterable[str]:
    for statement in _allow_statements(args):
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            if "*" in action:
                yield f"IAM policy grants wildcard action {action!r}; list the actions"


# Verbs that read; any other action changes something (IAM service authorization reference naming).
READ_ONLY_VERBS = (
    "Describe",
    "Get",
    "List",
    "Detect",
    "Search",
    "Lookup",
    "BatchGet",
    "Query",
    "Scan",
    "View",
)


def _iam_mutations_scoped(args: ResourceValidationArgs) -> Iterable[str]:
    for statement in _allow_statements(args):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if "*" not in resources or statement.get("Condition"):
            continue
        actions = statement.get("Action", [])
        mutating = [
            a
            for a in ([actions] if isinstance(actions, str) else actions)
            if not a.split(":")[-1].startswith(READ_ONLY_VERBS)
        ]
        if mutating:
            yield (
                f'IAM statement {statement.get("Sid", "")!r} allows {mutating} on every resource ("*") '
                "with no condition; name the resources or add a condition"
            )


def _role_bounded(args: ResourceValidationArgs) -> Iterable[str]:
    """Every role carries a permissions boundary from /boundaries/ (docs/decisions/0018): the deploy role's
    boundary refuses to create or change any other, so an unbounded role would fail half-way through `pulumi
    up`; here it fails the preview, before anything changes. The bootstrap's own roles carry the deploy
    boundary, the platform's the workload boundary."""
    role = args.props.get("name") or args.name
    boundary = args.props.get("permissionsBoundary")
    if not boundary:
        yield f"IAM role {role} has no permissions boundary; give it the account's workload boundary"
    elif f":policy{BOUNDARY_PATH}" not in boundary:
        yield (
            f"IAM role {role} has permissions boundary {boundary!r}, not one of the bootstrap's "
            f"(policy{BOUNDARY_PATH}...)"
        )


# The node role's managed policies (infra/node_groups.py): kubelet, VPC CNI, read-only ECR, SSM instead of
# SSH.
NODE_ROLE_POLICIES = {
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
}


def _trusts(role: Any, service: str) -> bool:
    document = role.props.get("assumeRolePolicy")
    statements = json.loads(document).get("Statement", []) if isinstance(document, str) else []
    return any(_get(s, "Principal.Service") == service for s in statements)


def _node_role_policies(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every role EC2 instances assume (node roles) has exactly the node policies, and no inline policy: a
    broader node role is what every pod could borrow."""
    for role in (r for r in _objects(args, "aws:iam/role:Role") if _trusts(r, "ec2.amazonaws.com")):
        attached: set[str] = {
            a.props.get("policyArn", "")
            for a in args.resources
            if a.resource_type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
            and role in a.dependencies
        }
        if attached != NODE_ROLE_POLICIES:
            report(
                f"node role {role.name} has managed policies {sorted(attached)}, not exactly "
                f"{sorted(NODE_ROLE_POLICIES)}",
                role.urn,
            )
        inline = [p.name for p in _objects(args, "aws:iam/rolePolicy:RolePolicy") if role in p.dependencies]
        if inline:
            report(f"node role {role.name} has inline policies {inline}", role.urn)


POLICIES = [
    _resource_policy(
        "iam-no-wildcard-actions",
        "IAM policies grant no wildcard actions",
        ["aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"],
        _iam_wildcards,
    ),
    _resource_policy(
        "iam-mutations-scoped",
        'IAM statements that change something on every resource ("*") carry a condition',
        ["aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"],
        _iam_mutations_scoped,
    ),
    _resource_policy(
        "iam-roles-bounded",
        "Every IAM role carries a permissions boundary of the bootstrap (policy/boundaries/)",
        ["aws:iam/role:Role"],
        _role_bounded,
    ),
    StackValidationPolicy(
        name="node-role-has-node-policies-only",
        description="Node roles have exactly the node managed policies and no inline policy",
        validate=_node_role_policies,
        enforcement_level=MANDATORY,
    ),
]
