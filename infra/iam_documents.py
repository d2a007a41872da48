"""Policy documents that several components write alike (both projects): one copy, so a fix reaches all."""

from __future__ import annotations

import json
from typing import Any


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


STS_AUDIENCE = "sts.amazonaws.com"


def web_identity_trust(provider_arn: str, issuer: str, subject: str) -> str:
    """A role's trust policy for one subject of an OIDC issuer (an EKS cluster's service account, a GitHub
    workflow): exactly that subject, and only tokens minted for STS (CIS EKS 5.2.1), with StringEquals."""
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{issuer}:sub": subject, f"{issuer}:aud": STS_AUDIENCE}},
        }
    )


def service_may_assume(service: str, condition: dict[str, Any] | None = None) -> str:
    """A role's trust policy for one AWS service principal (``ec2.amazonaws.com``, ...)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return document(statement)


def deny_insecure_transport(service: str, resource: str | list[str]) -> dict[str, Any]:
    """A resource policy statement refusing every request of ``service`` (``s3``, ``sqs``) not made over TLS
    (S3 and SQS security best practices: ``aws:SecureTransport``)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": f"{service}:*",
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def account_administers_the_key(account: str) -> dict[str, Any]:
    """A key policy's first statement: the account (through IAM) administers the key, so that it never becomes
    unmanageable (KMS developer guide, "Default key policy")."""
    return {
        "Sid": "AccountAdministersTheKey",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def bucket_tls_only(bucket_arn: str) -> str:
    """A bucket policy that refuses plain HTTP on the bucket and on its objects."""
    return document(deny_insecure_transport("s3", [bucket_arn, f"{bucket_arn}/*"]))
