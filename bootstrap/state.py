"""Where Pulumi keeps the platform's state and encrypts its secrets: an S3 bucket and a KMS key."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from bootstrap.config import SECRETS_KEY_ALIAS, BootstrapSettings
from infra.buckets import private_bucket
from infra.iam_documents import account_administers_the_key


class StateBackend(pulumi.ComponentResource):
    """The state bucket (versioned, SSE-KMS, private, TLS only, old versions expiring) and the secrets key
    (``--secrets-provider awskms://alias/picturesocial-pulumi``). Both protected: losing either loses every
    stack of the account."""

    bucket: aws.s3.Bucket
    key: aws.kms.Key

    def __init__(
        self,
        name: str,
        settings: BootstrapSettings,
        *,
        users: dict[str, pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:bootstrap:StateBackend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=True)
        account = settings.account_id

        # The account's root lets IAM policies administer the key (without it the key becomes unmanageable);
        # only the two GitHub roles may use it, the preview role to decrypt only.
        self.key = aws.kms.Key(
            "secrets",
            description="Pulumi secrets of the picturesocial stacks (awskms://alias/picturesocial-pulumi)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(**users).apply(
                lambda roles: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            account_administers_the_key(account),
                            {
                                "Sid": "DeploysUseTheKey",
                                "Effect": "Allow",
                                "Principal": {"AWS": roles["deploy"]},
                                "Action": [
                                    "kms:Encrypt",
                                    "kms:Decrypt",
                                    "kms:GenerateDataKey*",
                                    "kms:DescribeKey",
                                ],
                                "Resource": "*",
                            },
                            {
                                # A preview decrypts the stack's data key to read its state, and writes
                                # nothing: no new data key, no encryption (docs/decisions/0019).
                                "Sid": "PreviewsDecrypt",
                                "Effect": "Allow",
                                "Principal": {"AWS": roles["preview"]},
                                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                                "Resource": "*",
                            },
                        ],
                    }
                )
            ),
            opts=protected,
        )
        aws.kms.Alias("secrets", name=SECRETS_KEY_ALIAS, target_key_id=self.key.key_id, opts=child)

        self.bucket = private_bucket(
            "state", settings.state_bucket, protect=True, parent=self, kms_key_arn=self.key.arn
        )
        # Every `pulumi up` writes a new version of each checkpoint: keep 90 days of history, not all of it.
        aws.s3.BucketLifecycleConfiguration(
            "state",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-old-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=90
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            # The bucket's one lifecycle configuration (its id is the bucket's name): a replacement deletes
            # the old one first (tools/data/replacement_inputs.yaml, singleton).
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.register_outputs({"bucket": self.bucket.id})
