"""Signals: log retention, alarms that notify, encrypted topics."""

from __future__ import annotations

from collections.abc import Iterable

from pulumi_policy import (
    ResourceValidationArgs,
)

from ._common import (
    _resource_policy,
)


def _log_retention(args: ResourceValidationArgs) -> Iterable[str]:
    days = args.props.get("retentionInDays")
    if not isinstance(days, (int, float)) or days <= 0:
        yield "log groups must set retentionInDays: without it CloudWatch keeps every event forever"


def _alarm_actions(args: ResourceValidationArgs) -> Iterable[str]:
    if not args.props.get("alarmActions"):
        yield "the alarm has no alarmActions: it changes state and nobody is told"


def _topic_encrypted(args: ResourceValidationArgs) -> Iterable[str]:
    if not args.props.get("kmsMasterKeyId"):
        yield "SNS topics must be encrypted with a KMS key (kmsMasterKeyId)"


POLICIES = [
    _resource_policy(
        "log-groups-have-retention",
        "Every CloudWatch log group expires its events",
        ["aws:cloudwatch/logGroup:LogGroup"],
        _log_retention,
    ),
    _resource_policy(
        "alarms-notify",
        "Every CloudWatch alarm notifies someone",
        ["aws:cloudwatch/metricAlarm:MetricAlarm"],
        _alarm_actions,
    ),
    _resource_policy(
        "sns-topics-encrypted",
        "SNS topics are encrypted with a KMS key",
        ["aws:sns/topic:Topic"],
        _topic_encrypted,
    ),
]
