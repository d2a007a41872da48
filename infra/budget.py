"""The stack's monthly budget: an AWS Budget on what the stack's resources cost (its `environment` cost
allocation tag), alerting the stack's alarm topic when actual or forecast spend passes the limit
(``picturesocial:cost.monthlyBudget``; the estimate behind it: ``make cost``, docs/decisions/0031).

AWS Budgets publishes to an SNS topic only when the topic's policy lets budgets.amazonaws.com publish (AWS
Cost Management user guide, "Creating an Amazon SNS topic for budget notifications": ``SNS:Publish`` with
``aws:SourceAccount`` and ``aws:SourceArn arn:aws:budgets::<account>:*``) and, the topic being encrypted with
a
customer managed key, when the key's policy lets the service generate data keys and decrypt (SNS developer
guide, "Enable compatibility between event sources from AWS services and encrypted topics", which lists AWS
Budgets). Both statements are written by infra/observability.py's Alarms with ``budget_alerts``.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from infra.context import Environment
from settings.cost import CostSettings

BUDGETS = "budgets.amazonaws.com"
# Alert at the limit itself: actual spend past it, and a month-end forecast past it (early warning).
NOTIFICATIONS = (("ACTUAL", 100.0), ("FORECASTED", 100.0))


def budgets_publish(topic_arn: str, account: str) -> dict[str, Any]:
    """The topic policy statement that lets this account's budgets publish to the topic."""
    return {
        "Sid": "ThisAccountsBudgetsPublish",
        "Effect": "Allow",
        "Principal": {"Service": BUDGETS},
        "Action": "SNS:Publish",
        "Resource": topic_arn,
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{account}:*"},
        },
    }


def budgets_use_the_key(account: str) -> dict[str, Any]:
    """The key policy statement that lets AWS Budgets publish to a topic encrypted with the key."""
    return {
        "Sid": "BudgetsPublishToTheTopic",
        "Effect": "Allow",
        "Principal": {"Service": BUDGETS},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
    }


class Budget(pulumi.ComponentResource):
    """One monthly cost budget, filtered to the stack's `environment` tag (every resource carries it: the
    provider's default tags, settings `tags`; the bootstrap activates it as a cost allocation tag)."""

    budget: aws.budgets.Budget

    def __init__(
        self,
        name: str,
        settings: CostSettings,
        environment: Environment,
        *,
        topic: aws.sns.Topic,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("picturesocial:infra:Budget", name, None, opts)
        if settings.monthly_budget is None:
            raise ValueError("a Budget needs picturesocial:cost.monthlyBudget")
        self.budget = aws.budgets.Budget(
            "monthly",
            name=environment.names.budget,
            account_id=environment.account_id,
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{settings.monthly_budget:.2f}",
            limit_unit="USD",
            # Cost Explorer's tag filter: `user:<key>$<value>` (Budgets API, CostFilters "TagKeyValue").
            cost_filters=[
                aws.budgets.BudgetCostFilterArgs(
                    name="TagKeyValue", values=[f"user:environment${environment.tags['environment']}"]
                )
            ],
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    notification_type=kind,
                    comparison_operator="GREATER_THAN",
                    threshold=threshold,
                    threshold_type="PERCENTAGE",
                    subscriber_sns_topic_arns=[topic.arn],
                )
                for kind, threshold in NOTIFICATIONS
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"budget": self.budget.name})
