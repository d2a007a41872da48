"""What the bootstrap project (bootstrap/) made for this stack's account, read from its stack: the deploy
runner's fixed egress address, which the API server admits (docs/decisions/0009)."""

from __future__ import annotations

import pulumi

from settings.models import CiSettings


def runner_egress_cidr(ci: CiSettings) -> pulumi.Output[str]:
    """``<address>/32`` of the NAT gateway the bootstrap's CodeBuild runner leaves the VPC through."""
    bootstrap = pulumi.StackReference("bootstrap", stack_name=ci.bootstrap_stack)
    return bootstrap.require_output("runnerEgressCidr")
