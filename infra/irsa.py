"""IAM roles for Kubernetes service accounts (IRSA): trust scoped to one service account."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.iam_documents import web_identity_trust


def trust_policy(oidc_provider_arn: str, oidc_provider_url: str, namespace: str, service_account: str) -> str:
    """Exactly this service account of this cluster's issuer."""
    issuer = oidc_provider_url.removeprefix("https://")
    return web_identity_trust(
        oidc_provider_arn, issuer, f"system:serviceaccount:{namespace}:{service_account}"
    )


def service_account_role(
    name: str,
    *,
    oidc_provider_arn: pulumi.Input[str],
    oidc_provider_url: pulumi.Input[str],
    namespace: str,
    service_account: str,
    policy: pulumi.Input[str],
    permissions_boundary: str,
    parent: pulumi.Resource,
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """The role and its inline policy: a controller's release depends on both, so that `pulumi destroy` takes
    the controller's permissions away only after the objects it must clean up (tools/offline/teardown.py)."""
    role = aws.iam.Role(
        name,
        description=f"IRSA role of {namespace}/{service_account}",
        permissions_boundary=permissions_boundary,
        assume_role_policy=pulumi.Output.all(oidc_provider_arn, oidc_provider_url).apply(
            lambda args: trust_policy(args[0], args[1], namespace, service_account)
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    grant = aws.iam.RolePolicy(name, role=role.id, policy=policy, opts=pulumi.ResourceOptions(parent=parent))
    return role, grant
