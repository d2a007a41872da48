"""What every rule module shares: the resource types several concerns read, the stateful set the guard
and the protection rule agree on, and the two ways a rule is declared."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

MANDATORY = EnforcementLevel.MANDATORY


EKS_COMPONENT = "eks:index:Cluster"


EKS_CLUSTER = "aws:eks/cluster:Cluster"


DEPLOYMENT = "kubernetes:apps/v1:Deployment"


# Deleting any of these loses data or the platform (eks-baseline "Keeping data and resources").
STATEFUL = {
    "aws:kms/key:Key",
    EKS_COMPONENT,
    EKS_CLUSTER,
    "aws:ec2/vpc:Vpc",
    "aws:ecr/repository:Repository",
    "aws:s3/bucket:Bucket",
    "aws:dynamodb/table:Table",
    "kubernetes:core/v1:Namespace",
}


def _get(props: Any, path: str, default: Any = None) -> Any:
    for part in path.split("."):
        if not isinstance(props, dict) or part not in props:
            return default
        props = props[part]
    return props


def _resource_policy(
    name: str,
    description: str,
    types: Iterable[str] | Callable[[str], bool],
    check: Callable[[ResourceValidationArgs], Iterable[str]],
    config_schema: PolicyConfigSchema | None = None,
) -> ResourceValidationPolicy:
    applies = types if callable(types) else set(types).__contains__

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if applies(args.resource_type):
            for message in check(args):
                report(message, None)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=MANDATORY,
        config_schema=config_schema,
    )


def _objects(args: StackValidationArgs, typ: str) -> list:
    return [r for r in args.resources if r.resource_type == typ]


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
