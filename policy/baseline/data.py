"""Stores: ECR, S3 and DynamoDB hardening, and protection of everything stateful where the stack asks."""

from __future__ import annotations

import json
from collections.abc import Iterable

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import (
    MANDATORY,
    STATEFUL,
    _get,
    _resource_policy,
)


def _ecr(args: ResourceValidationArgs) -> Iterable[str]:
    if args.props.get("imageTagMutability") != "IMMUTABLE":
        yield "ECR tags must be IMMUTABLE: a pushed tag must always mean the same image"
    if not _get(args.props, "imageScanningConfiguration.scanOnPush"):
        yield "ECR repositories must scan on push"


def _public_access_block(args: ResourceValidationArgs) -> Iterable[str]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    off = [flag for flag in flags if args.props.get(flag) is not True]
    if off:
        yield f"S3 public access is not fully blocked: {off} not true"


def _bucket_encryption(args: ResourceValidationArgs) -> Iterable[str]:
    rules = args.props.get("rules") or []
    algorithms = {_get(r, "applyServerSideEncryptionByDefault.sseAlgorithm") for r in rules}
    if not algorithms & {"aws:kms", "aws:kms:dsse", "AES256"}:
        yield "S3 default encryption is not configured"


def _tls_only(args: ResourceValidationArgs) -> Iterable[str]:
    document = args.props.get("policy")
    statements = json.loads(document).get("Statement", []) if isinstance(document, str) else []
    denies_plain_http = [
        s
        for s in statements
        if s.get("Effect") == "Deny"
        and _get(s, "Condition.Bool", {}).get("aws:SecureTransport") in ("false", False)
        and s.get("Action") in ("s3:*", ["s3:*"])
        and s.get("Principal") in ("*", {"AWS": "*"})
    ]
    if not denies_plain_http:
        yield "the bucket policy must deny every s3 action without TLS (Deny if aws:SecureTransport is false)"


def _dynamodb_encryption(args: ResourceValidationArgs) -> Iterable[str]:
    if not _get(args.props, "serverSideEncryption.enabled"):
        yield "DynamoDB tables must be encrypted with a KMS key (serverSideEncryption.enabled)"


def _pitr(args: ResourceValidationArgs) -> Iterable[str]:
    if not _get(args.props, "pointInTimeRecovery.enabled"):
        yield "DynamoDB tables must have point-in-time recovery"


def _protected_in_prod(args: StackValidationArgs, report: ReportViolation) -> None:
    if not args.get_config().get("requireProtection"):
        return
    for resource in args.resources:
        if resource.resource_type in STATEFUL and not resource.opts.protect:
            report(
                f"{resource.resource_type} {resource.name} holds state and must be protected in this stack",
                resource.urn,
            )
        if resource.resource_type == "aws:s3/bucket:Bucket" and resource.props.get("forceDestroy"):
            report(
                f"bucket {resource.name} has forceDestroy: a destroy would delete its objects", resource.urn
            )


POLICIES = [
    _resource_policy(
        "ecr-immutable-scanned",
        "ECR repositories have immutable tags and scan on push",
        ["aws:ecr/repository:Repository"],
        _ecr,
    ),
    _resource_policy(
        "s3-public-access-blocked",
        "S3 public access is fully blocked",
        ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
        _public_access_block,
    ),
    _resource_policy(
        "s3-encrypted",
        "S3 default encryption is on",
        ["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"],
        _bucket_encryption,
    ),
    _resource_policy(
        "dynamodb-pitr", "DynamoDB tables have point-in-time recovery", ["aws:dynamodb/table:Table"], _pitr
    ),
    _resource_policy(
        "s3-tls-only",
        "Bucket policies deny every request without TLS",
        ["aws:s3/bucketPolicy:BucketPolicy"],
        _tls_only,
    ),
    _resource_policy(
        "dynamodb-encrypted",
        "DynamoDB tables are encrypted with a KMS key",
        ["aws:dynamodb/table:Table"],
        _dynamodb_encryption,
    ),
    StackValidationPolicy(
        name="stateful-resources-protected",
        description="Stateful resources are protected where the stack requires it (prod)",
        validate=_protected_in_prod,
        enforcement_level=MANDATORY,
        config_schema=PolicyConfigSchema(
            properties={"requireProtection": {"type": "boolean", "default": False}}
        ),
    ),
]
