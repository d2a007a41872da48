"""The account's cost allocation tags: the tag keys every stack of the platform applies (settings `tags`, the
AWS provider's default tags of both projects) activated in Billing, so that Cost Explorer and the stacks'
budgets (infra/budget.py, filtered on `environment`) can select a stack's costs.

Cost Explorer activates only a key it has already seen in the account's billing data ("empty result" for a
new key: hashicorp/terraform-provider-aws#29068) and only in a standalone or payer account ("Linked account
doesn't have access to cost allocation tags": 2i2c-org/infrastructure#4932), hence
``bootstrap:costAllocationTags``, off until then (README, "One-time setup").
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


class CostAllocationTags(pulumi.ComponentResource):
    tags: dict[str, aws.costexplorer.CostAllocationTag]

    def __init__(self, name: str, tags: dict[str, str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("picturesocial:bootstrap:CostAllocationTags", name, None, opts)
        self.tags = {
            key: aws.costexplorer.CostAllocationTag(
                key, tag_key=key, status="Active", opts=pulumi.ResourceOptions(parent=self)
            )
            for key in sorted(tags)
        }
        self.register_outputs({})
