"""Stores: ECR, S3 and DynamoDB hardening, and protection of everything stateful where the stack asks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import (
    DEPLOYMENT,
    MANDATORY,
    STATEFUL,
    _get,
    _objects,
    _resource_policy,
)

DEPLOYED_IMAGE = re.compile(r"^[^/]+/(?P<repository>[^:@]+):(?P<tag>[^@]+)(@sha256:[a-f0-9]{64})?$")


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


def _encrypted_at_rest(args: ResourceValidationArgs) -> Iterable[str]:
    if args.resource_type == "aws:sqs/queue:Queue":
        if args.props.get("sqsManagedSseEnabled") is not True and not args.props.get("kmsMasterKeyId"):
            yield "the queue stores messages unencrypted (sqsManagedSseEnabled or kmsMasterKeyId)"
    else:  # a launch template: every volume its instances get
        devices = args.props.get("blockDeviceMappings") or []
        plain = [
            d.get("deviceName", str(i))
            for i, d in enumerate(devices)
            if str(_get(d, "ebs.encrypted")).lower() != "true"
        ]
        if not devices or plain:
            yield (
                "every volume of the launch template must be encrypted "
                "(blockDeviceMappings[].ebs.encrypted): "
                f"{plain or 'none declared'}"
            )


# Types whose own deletion protection AWS honours besides Pulumi's `protect` (a console or CLI delete).
DELETION_PROTECTION = {"aws:dynamodb/table:Table": "deletionProtectionEnabled"}


def _deletion_protection(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource in args.resources:
        key = DELETION_PROTECTION.get(resource.resource_type)
        if key and resource.opts.protect and resource.props.get(key) is not True:
            report(
                f"{resource.resource_type} {resource.name} is protected in the stack but {key} is not true: "
                "AWS would still delete it outside Pulumi",
                resource.urn,
            )


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


def _applies(rule: dict, tag: str) -> bool:
    """Whether an ECR lifecycle rule selects an image carrying ``tag`` (ECR user guide, lifecycle policy
    properties: tagPatternList wildcards, tagPrefixList prefixes; untagged rules never select a tagged
    image)."""
    selection = rule.get("selection") or {}
    status = selection.get("tagStatus")
    if status == "any":
        return True
    if status != "tagged":
        return False
    patterns = selection.get("tagPatternList") or []
    prefixes = selection.get("tagPrefixList") or []
    return any(re.fullmatch(".*".join(map(re.escape, p.split("*"))), tag) for p in patterns) or any(
        tag.startswith(prefix) for prefix in prefixes
    )


def _shields(rule: dict, tag: str) -> bool:
    """A rule that selects exactly this (immutable, so single-image) tag and expires beyond one image: it
    keeps the image, and rules of lower priority cannot expire what it selected."""
    selection = rule.get("selection") or {}
    return (
        selection.get("tagStatus") == "tagged"
        and selection.get("tagPatternList") == [tag]
        and not selection.get("tagPrefixList")
        and selection.get("countType") == "imageCountMoreThan"
        and (selection.get("countNumber") or 0) >= 1
    )


def _lifecycle_keeps_deployed(args: StackValidationArgs, report: ReportViolation) -> None:
    """ECR evaluates lifecycle rules by priority, and an image selected by a rule cannot be expired by one of
    lower priority (ECR user guide, lifecycle policy evaluation rules): the first rule selecting a deployed
    image must be its keep rule, or a keep-last-N rule expires the digest a stack file names."""
    policies = {}
    for resource in _objects(args, "aws:ecr/lifecyclePolicy:LifecyclePolicy"):
        text = resource.props.get("policy")
        if isinstance(resource.props.get("repository"), str) and isinstance(text, str):
            policies[resource.props["repository"]] = (resource, json.loads(text).get("rules") or [])
    for deployment in _objects(args, DEPLOYMENT):
        spec = _get(deployment.props, "spec.template.spec") or {}
        for container in spec.get("containers", []):
            match = DEPLOYED_IMAGE.match(container.get("image") or "")
            if match is None or match.group("repository") not in policies:
                continue
            repository, tag = match.group("repository"), match.group("tag")
            resource, rules = policies[repository]
            first = next(
                (r for r in sorted(rules, key=lambda r: r.get("rulePriority", 0)) if _applies(r, tag)), None
            )
            if first is not None and not _shields(first, tag):
                report(
                    f"the lifecycle policy of {repository} can expire {tag}, which Deployment "
                    f"{_get(deployment.props, 'metadata.name')} runs: rule {first.get('rulePriority')} "
                    f"({first.get('description', '')}) selects it before any rule keeping it",
                    resource.urn,
                )


POLICIES = [
    StackValidationPolicy(
        name="lifecycle-keeps-deployed-images",
        description="No ECR lifecycle rule can expire an image a Deployment of the stack runs",
        validate=_lifecycle_keeps_deployed,
        enforcement_level=MANDATORY,
    ),
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
    _resource_policy(
        "stores-encrypted-at-rest",
        "Queues and every node volume are encrypted at rest",
        ["aws:sqs/queue:Queue", "aws:ec2/launchTemplate:LaunchTemplate"],
        _encrypted_at_rest,
    ),
    StackValidationPolicy(
        name="deletion-protection-where-protected",
        description="A resource the stack protects also turns on the deletion protection AWS offers for it",
        validate=_deletion_protection,
        enforcement_level=MANDATORY,
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
