"""What a stack may cost (``picturesocial:cost``): its monthly budget and the traffic the estimate assumes.

``python -m tools.cost`` prices the offline graph with settings/data/prices.yaml. Hourly and monthly charges
follow from the graph alone; what depends on traffic (GB through the NAT gateways, requests, log GB) follows
from these assumptions, each with a documented default, so an estimate never rests on a hidden constant. The
defaults are a quiet stack's month: change them to what the stack's CloudWatch metrics show.
"""

from __future__ import annotations

from pydantic import Field

from settings.base import Model


class UsageAssumptions(Model):
    """Traffic per month. Each is a non-negative number; 0 prices only what runs with no traffic."""

    nat_gb_processed: float = Field(
        100,
        ge=0,
        alias="natGBProcessed",
        description="GB a month through the NAT gateways, all zones together",
    )
    endpoint_gb_processed: float = Field(
        50,
        ge=0,
        alias="endpointGBProcessed",
        description="GB a month through the interface VPC endpoints (ECR image pulls, STS, Logs)",
    )
    load_balancer_nlcu: float = Field(
        0,
        ge=0,
        alias="loadBalancerNLCU",
        description="NLB capacity units per hour per internal load balancer (0: the hourly charge alone)",
    )
    api_requests_millions: float = Field(
        1, ge=0, description="millions of requests a month to the public HTTP API"
    )
    log_ingested_gb: float = Field(
        10,
        ge=0,
        alias="logIngestedGB",
        description="GB a month written to the stack's log groups (control plane, containers, access log)",
    )
    dynamodb_write_millions: float = Field(
        1, ge=0, description="millions of on-demand write request units a month, all tables"
    )
    dynamodb_read_millions: float = Field(
        5, ge=0, description="millions of on-demand read request units a month, all tables"
    )
    dynamodb_stored_gb: float = Field(1, ge=0, alias="dynamodbStoredGB", description="GB stored in tables")
    s3_stored_gb: float = Field(10, ge=0, alias="s3StoredGB", description="GB in S3 Standard, all buckets")
    s3_put_thousands: float = Field(
        100, ge=0, description="thousands of PUT/COPY/POST/LIST requests a month, all buckets"
    )
    s3_get_thousands: float = Field(1000, ge=0, description="thousands of GET requests a month, all buckets")
    ecr_stored_gb_per_repository: float = Field(
        2,
        ge=0,
        alias="ecrStoredGBPerRepository",
        description="GB of images each repository keeps (bounded by picturesocial:registry.keepTaggedImages)",
    )
    kms_requests_ten_thousands: float = Field(
        10, ge=0, description="tens of thousands of KMS requests a month, all keys"
    )


class CostSettings(Model):
    monthly_budget: float | None = Field(
        None,
        gt=0,
        description="USD a month: an AWS Budget on the stack's environment tag alerts the alarm topic on "
        "actual and forecast spend above it (none without a value)",
    )
    spot_discount_percent: float = Field(
        60,
        ge=0,
        lt=100,
        description="assumed spot discount off the on-demand price (spot prices move; AWS quotes up to 90%)",
    )
    usage: UsageAssumptions = Field(UsageAssumptions(), description="traffic the estimate assumes")
