"""A private S3 bucket as every bucket of both projects is made: all four public-access blocks, SSE-KMS with a
bucket key, versioning, and a policy refusing plain HTTP."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.iam_documents import bucket_tls_only


def private_bucket(
    name: str,
    bucket_name: str,
    *,
    protect: bool,
    parent: pulumi.Resource,
    kms_key_arn: pulumi.Input[str] | None = None,
) -> aws.s3.Bucket:
    """``kms_key_arn``: the bucket's own key; without it, S3's AWS-managed key. A protected bucket is never
    emptied by a destroy (no force_destroy)."""
    # Each setting below is the bucket's one of its kind (its id is the bucket's name): a replacement created
    # before the old one is deleted would be deleted with it (versioning suspended, encryption or the
    # policy removed), so a replacement deletes first (tools/data/replacement_inputs.yaml, singleton).
    child = pulumi.ResourceOptions(parent=parent, delete_before_replace=True)
    bucket = aws.s3.Bucket(
        name,
        bucket=bucket_name,
        force_destroy=not protect,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
                ),
                bucket_key_enabled=True,
            )
        ],
        opts=child,
    )
    aws.s3.BucketVersioning(
        name,
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=child,
    )
    aws.s3.BucketPolicy(name, bucket=bucket.id, policy=bucket.arn.apply(bucket_tls_only), opts=child)
    return bucket
