"""The app's data: the S3 buckets and DynamoDB tables declared in the API catalog."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.buckets import private_bucket
from infra.context import Environment
from settings.catalog import Catalog


@dataclass(frozen=True)
class DataAccess:
    """Names and ARNs of the data stores, by catalog key: what an API's role and configuration need."""

    bucket_names: dict[str, pulumi.Output[str]]
    bucket_arns: dict[str, pulumi.Output[str]]
    table_names: dict[str, pulumi.Output[str]]
    table_arns: dict[str, pulumi.Output[str]]


class DataStores(pulumi.ComponentResource):
    buckets: dict[str, aws.s3.Bucket]
    tables: dict[str, aws.dynamodb.Table]
    access: DataAccess

    def __init__(
        self,
        name: str,
        catalog: Catalog,
        environment: Environment,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:infra:DataStores", name, None, opts)
        names, protect = environment.names, environment.protect
        stateful = pulumi.ResourceOptions(parent=self, protect=protect)

        self.buckets = {}
        for key in sorted(catalog.buckets):
            bucket = private_bucket(key, names.bucket(key), protect=protect, parent=self)
            self.buckets[key] = bucket

        self.tables = {}
        for key, table in sorted(catalog.tables.items()):
            self.tables[key] = aws.dynamodb.Table(
                key,
                name=names.table(key),
                billing_mode="PAY_PER_REQUEST",
                hash_key=table.hash_key,
                attributes=[aws.dynamodb.TableAttributeArgs(name=table.hash_key, type="S")],
                point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
                server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
                deletion_protection_enabled=protect,
                opts=stateful,
            )

        self.access = DataAccess(
            bucket_names={k: b.bucket for k, b in self.buckets.items()},
            bucket_arns={k: b.arn for k, b in self.buckets.items()},
            table_names={k: t.name for k, t in self.tables.items()},
            table_arns={k: t.arn for k, t in self.tables.items()},
        )
        self.register_outputs({"buckets": self.access.bucket_names, "tables": self.access.table_names})
