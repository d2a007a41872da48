"""Counts of a synthesized graph against AWS's limits (settings/data/aws_quotas.yaml).

``check(graph)`` returns the problems (a hard limit, or a quota the design holds to, exceeded: the synth is
refused, one line per limit) and the warnings (an adjustable quota whose default the stack exceeds: one line
per quota naming it, its default and the stack's count). Counts are read from the resources as `pulumi up`
would create them, never from the settings, so a component that adds an alarm metric, a rule or a route is
counted without anyone remembering to. Values unknown at synth time are not counted.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from settings.aws_quotas import Quota, quota
from tools.offline.engine import UNKNOWN, Graph

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
ROUTE = "aws:apigatewayv2/route:Route"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
VPC_LINK = "aws:apigatewayv2/vpcLink:VpcLink"
SERVICE = "kubernetes:core/v1:Service"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
SG_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-security-groups"
BACKEND_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules"
# Kubernetes objects whose name is a DNS label (63 characters), not a DNS subdomain (253).
LABEL_NAMED = {"kubernetes:core/v1:Namespace", "kubernetes:core/v1:Service"}


@dataclass(frozen=True)
class Count:
    quota: Quota
    count: int
    where: str  # the resource (or scope) with the highest count

    @property
    def over(self) -> bool:
        return self.count > self.quota.limit

    def line(self) -> str:
        q = self.quota
        if q.refused:
            kind = "a hard limit" if q.hard else "an adjustable quota this design holds to its default"
            return (
                f"{self.where}: {q.what} is {self.count}, over AWS's limit of {q.limit} {q.scope} ({kind}; "
                f"{q.source})"
            )
        return (
            f'quota "{q.quota_name}" ({q.service_code}): default {q.limit}, this stack needs {self.count} '
            f"({self.where}); raise it in Service Quotas before `pulumi up` (make preflight compares the "
            "account's value)"
        )


def _known(value: Any) -> bool:
    return value is not None and UNKNOWN not in str(value)


def _size(document: Any) -> int | None:
    """Characters of a policy document as IAM counts them: white space not counted."""
    if not isinstance(document, str) or not _known(document):
        return None
    return len(re.sub(r"\s", "", document))


def _worst(quota_key: str, counts: Iterable[tuple[str, int]]) -> Count | None:
    items = list(counts)
    if not items:
        return None
    where, count = max(items, key=lambda item: (item[1], item[0]))
    return Count(quota(quota_key), count, where)


def _over(quota_key: str, counts: Iterable[tuple[str, int]]) -> list[Count]:
    """Every instance over the limit (each is a problem of its own), or the worst one when none is."""
    items = list(counts)
    found = [
        Count(quota(quota_key), count, where) for where, count in items if count > quota(quota_key).limit
    ]
    worst = _worst(quota_key, items)
    return found or ([worst] if worst else [])


def counts(graph: Graph) -> list[Count]:
    """One or more counts per quota: every instance over its limit, else the highest one."""
    out: list[Count] = []

    def name(resource: dict[str, Any]) -> str:
        return f"{resource['type'].split(':')[-1]} {resource['name']}"

    # -- CloudWatch ------------------------------------------------------------------------------------
    alarms = [
        (name(r), sum(1 for q in r["inputs"].get("metricQueries") or [] if q.get("metric")))
        for r in graph.of_type(ALARM)
    ]
    out += _over("metrics_per_alarm", alarms)
    widgets: list[tuple[str, int]] = []
    alarm_widgets: list[tuple[str, int]] = []
    for r in graph.of_type(DASHBOARD):
        body = r["inputs"].get("dashboardBody")
        if not _known(body):
            continue
        parsed = json.loads(body).get("widgets", [])
        widgets.append((name(r), len(parsed)))
        alarm_widgets += [
            (name(r), len(w.get("properties", {}).get("alarms", [])))
            for w in parsed
            if w.get("type") == "alarm"
        ]
    out += _over("widgets_per_dashboard", widgets)
    out += _over("alarms_per_alarm_widget", alarm_widgets)

    # -- VPC: rules per security group and direction, groups per network interface ----------------------
    rules: Counter[tuple[str, str]] = Counter()
    groups = {r["id"]: r for r in graph.of_type(SECURITY_GROUP)}
    for r in graph.of_type(SECURITY_GROUP):
        for direction in ("ingress", "egress"):
            rules[(r["id"], direction)] += len(r["inputs"].get(direction) or [])
    for typ, direction in ((INGRESS, "ingress"), (EGRESS, "egress")):
        for r in graph.of_type(typ):
            rules[(r["inputs"].get("securityGroupId"), direction)] += 1
    for r in graph.of_type(RULE):
        rules[(r["inputs"].get("securityGroupId"), r["inputs"].get("type"))] += 1
    out += _over(
        "rules_per_security_group",
        (
            (f"{name(groups[group]) if group in groups else group} ({direction})", count)
            for (group, direction), count in rules.items()
        ),
    )
    interfaces = [(name(r), len(r["inputs"].get("securityGroupIds") or [])) for r in graph.of_type(VPC_LINK)]
    nlb_services = [
        r for r in graph.of_type(SERVICE) if (r["inputs"].get("spec") or {}).get("type") == "LoadBalancer"
    ]
    for r in nlb_services:
        annotations = r["inputs"]["metadata"].get("annotations") or {}
        listed = [g for g in str(annotations.get(SG_ANNOTATION, "")).split(",") if g.strip()]
        # With backend rules managed, the controller adds its shared backend security group to the NLB.
        backend = 1 if annotations.get(BACKEND_ANNOTATION) == "true" else 0
        if listed:
            interfaces.append((name(r), len(listed) + backend))
    out += _over("security_groups_per_network_interface", interfaces)

    # -- API Gateway ------------------------------------------------------------------------------------
    out += _over(
        "routes_per_http_api",
        Counter(f"HTTP API {r['inputs'].get('apiId')}" for r in graph.of_type(ROUTE)).items(),
    )
    out += _over(
        "integrations_per_http_api",
        Counter(f"HTTP API {r['inputs'].get('apiId')}" for r in graph.of_type(INTEGRATION)).items(),
    )
    out += _over("vpc_links_per_account", [(f"stack {graph.stack}", len(graph.of_type(VPC_LINK)))])

    # -- Elastic Load Balancing: the controller makes one NLB, and a target group and listener per port --
    nlbs = len(nlb_services) + len(graph.of_type(LOAD_BALANCER))
    out += _over("network_load_balancers_per_region", [(f"stack {graph.stack}", nlbs)])
    ports = [(name(r), len((r["inputs"].get("spec") or {}).get("ports") or [])) for r in nlb_services]
    out += _over(
        "target_groups_per_region",
        [(f"stack {graph.stack}", sum(p for _, p in ports) + len(graph.of_type(TARGET_GROUP)))],
    )
    out += _over("listeners_per_network_load_balancer", ports)

    # -- IAM: inline policies per role together, managed policies, trust policies -----------------------
    roles = {r["id"]: r for r in graph.of_type(ROLE)}
    inline: defaultdict[str, int] = defaultdict(int)
    for r in graph.of_type(ROLE_POLICY):
        size = _size(r["inputs"].get("policy"))
        if size is not None:
            role = roles.get(r["inputs"].get("role"))
            inline[name(role) if role else str(r["inputs"].get("role"))] += size
    out += _over("iam_role_inline_policy_size", inline.items())
    managed = [
        (name(r), s) for r in graph.of_type(POLICY) if (s := _size(r["inputs"].get("policy"))) is not None
    ]
    out += _over("iam_managed_policy_size", managed)
    trust = [
        (name(r), s) for r in roles.values() if (s := _size(r["inputs"].get("assumeRolePolicy"))) is not None
    ]
    out += _over("iam_trust_policy_size", trust)

    # -- EventBridge -------------------------------------------------------------------------------------
    buses = Counter(
        f"event bus {r['inputs'].get('eventBusName') or 'default'}" for r in graph.of_type(EVENT_RULE)
    )
    out += _over("eventbridge_rules_per_bus", buses.items())

    # -- Kubernetes object names -------------------------------------------------------------------------
    labels: list[tuple[str, int]] = []
    subdomains: list[tuple[str, int]] = []
    for r in graph.resources:
        if not r["type"].startswith("kubernetes:") or r["type"].startswith("kubernetes:helm"):
            continue
        object_name = ((r.get("inputs") or {}).get("metadata") or {}).get("name")
        if isinstance(object_name, str) and _known(object_name):
            (labels if r["type"] in LABEL_NAMED else subdomains).append((name(r), len(object_name)))
    out += _over("kubernetes_label_name_length", labels)
    out += _over("kubernetes_object_name_length", subdomains)
    return out


def check(graph: Graph) -> tuple[list[str], list[str]]:
    """(problems, warnings): one line each, problems for limits the stack may not pass, warnings for
    adjustable quotas whose default it exceeds."""
    problems: list[str] = []
    warnings: list[str] = []
    for count in counts(graph):
        if not count.over:
            continue
        (problems if count.quota.refused else warnings).append(count.line())
    return problems, warnings
