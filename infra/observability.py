"""What the cluster reports and who hears about it: Container Insights with container logs (the EKS
amazon-cloudwatch-observability add-on), the alarms of the stack on an encrypted SNS topic, and a dashboard.

Metric names and dimensions are those the add-on's agent emits in the `ContainerInsights` namespace with
enhanced observability on (aws/amazon-cloudwatch-agent
translator/translate/otel/exporter/awsemf/kubernetes.go): ``PodName`` is the workload's name (a Deployment's),
so one series covers every replica of an API. No dimension names a node group, so node readiness is alarmed
per cluster (docs/decisions/0013).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.addons import addon_role
from infra.budget import budgets_publish, budgets_use_the_key
from infra.context import ClusterContext, Environment
from infra.edge import PublicEdge, PublicRoute
from infra.iam_documents import account_administers_the_key
from settings import Api, addons
from settings.models import ClusterSettings, ObservabilitySettings

CONTAINER_INSIGHTS = "ContainerInsights"
LOG_KINDS = ("application", "dataplane", "host", "performance")
# An alarm status widget shows at most 100 alarms (CloudWatch dashboard body structure, "alarm widget"); a
# dashboard holds at most 500 widgets (same page, "Overall Structure"): a bigger one continues on the next.
ALARMS_PER_WIDGET = 100
WIDGETS_PER_DASHBOARD = 500
# The add-on's defaults, changed where they would cost or act without being asked:
# - Application Signals auto-instruments every Java/Python/.NET/Node workload on its next restart, writes to a
#   log group that never expires (/aws/application-signals/data) and calls APIs outside the agent's policy;
# - the GPU and Neuron exporters watch hardware these node groups do not have.
# Keys from the add-on's configuration schema (aws-observability/helm-charts values.yaml, since chart 6.2.0).
ADDON_CONFIGURATION = {
    "applicationSignals": {"enabled": False},
    "manager": {"applicationSignals": {"autoMonitor": {"monitorAllServices": False}}},
    "containerLogs": {"enabled": True},
    "dcgmExporter": {"enabled": False},
    "neuronMonitor": {"enabled": False},
}


class ContainerInsights(pulumi.ComponentResource):
    """The log groups the add-on writes to (created first, with a retention: left to the add-on they never
    expire), its IAM role, and the add-on itself once nodes run."""

    addon: aws.eks.Addon
    log_groups: dict[str, aws.cloudwatch.LogGroup]

    def __init__(
        self,
        name: str,
        settings: ObservabilitySettings,
        cluster: ClusterSettings,
        context: ClusterContext,
        *,
        needs: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        """``needs``: what the add-on's pods wait for besides the node groups (CoreDNS). A component's own
        ``depends_on`` would not reach its children."""
        super().__init__("picturesocial:infra:ContainerInsights", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        addon = addons.CLOUDWATCH_OBSERVABILITY
        self.log_groups = {
            kind: aws.cloudwatch.LogGroup(
                kind,
                name=context.names.container_insights_log_group(kind),
                retention_in_days=settings.log_retention_days,
                opts=child,
            )
            for kind in LOG_KINDS
        }
        role, _ = addon_role("cloudwatch-agent", addon, self, context)
        # A DaemonSet and an operator with a webhook: created once nodes run and CoreDNS answers, like the
        # other compute add-ons (settings/addons.py phase "compute").
        self.addon = aws.eks.Addon(
            addon.name,
            cluster_name=context.names.cluster,
            addon_name=addon.name,
            addon_version=cluster.addons[addon.name],
            service_account_role_arn=role.arn,
            configuration_values=json.dumps(ADDON_CONFIGURATION, sort_keys=True),
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*context.compute, *needs, *self.log_groups.values()]
            ),
        )
        self.register_outputs({"roleArn": role.arn})


API_GATEWAY = "AWS/ApiGateway"
STAGE = "$default"


def public_routes_by_api(routes: list[PublicRoute]) -> dict[str, list[str]]:
    """API -> the keys of the routes that reach it (CORS preflight routes left out)."""
    out: dict[str, list[str]] = {}
    for route in routes:
        if not route.preflight:
            out.setdefault(route.api, []).append(route.key)
    return out


def public_paths_by_api(routes: list[PublicRoute]) -> dict[str, dict[str, list[str]]]:
    """API -> catalog path -> the keys of its routes (``ANY <path>`` and ``ANY <path>/{proxy+}``).

    The public alarms are one pair per path, not per API: a metric-math alarm may reference at most 10
    metrics ("Alarms based on metric math expressions can reference a maximum of 10 metrics. This is a hard
    limit", CloudWatch user guide, alarm limits), and an API's 5xx rate needs two metrics per route, four per
    path; one alarm per API broke at three paths. A path's alarm references four metrics whatever the
    catalog holds, names the path that fails, and the stack's alarms reference the same metrics in all
    (docs/decisions/0027)."""
    out: dict[str, dict[str, list[str]]] = {}
    for route in routes:
        if not route.preflight:
            out.setdefault(route.api, {}).setdefault(route.path, []).append(route.key)
    return out


@dataclass(frozen=True)
class PublicMetrics:
    api_id: str
    routes: dict[str, list[str]]  # API -> its route keys


def _route_metric(
    query_id: str, api_id: pulumi.Input[str], route: str, metric: str, stat: str
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    # Per route (the Route dimension): the stage enables detailed metrics for it (infra/edge.py).
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query_id,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=API_GATEWAY,
            metric_name=metric,
            dimensions={"ApiId": api_id, "Stage": STAGE, "Route": route},
            period=300,
            stat=stat,
        ),
        return_data=False,
    )


def _error_rate_queries(
    api_id: pulumi.Input[str], routes: list[str]
) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """5xx answers as a percentage of all requests over the API's routes (HTTP APIs name the metrics 5xx and
    Count: API Gateway developer guide, "CloudWatch metrics for HTTP APIs")."""
    queries = []
    for i, route in enumerate(routes):
        queries.append(_route_metric(f"errors{i}", api_id, route, "5xx", "Sum"))
        queries.append(_route_metric(f"requests{i}", api_id, route, "Count", "Sum"))
    errors = " + ".join(f"FILL(errors{i}, 0)" for i in range(len(routes)))
    requests = " + ".join(f"FILL(requests{i}, 0)" for i in range(len(routes)))
    queries.append(
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="rate",
            expression=f"IF(({requests}) > 0, 100 * ({errors}) / ({requests}), 0)",
            label="5xx %",
            return_data=True,
        )
    )
    return queries


def _latency_queries(
    api_id: pulumi.Input[str], routes: list[str]
) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """The slowest route's p99 (percentiles do not add up across routes, so the alarm takes their maximum)."""
    queries = [_route_metric(f"p99{i}", api_id, route, "Latency", "p99") for i, route in enumerate(routes)]
    queries.append(
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="slowest",
            expression=f"MAX([{', '.join(f'p99{i}' for i in range(len(routes)))}])",
            label="p99 ms",
            return_data=True,
        )
    )
    return queries


def _metric(name: str, cluster: str, namespace: str | None = None, workload: str | None = None) -> list[str]:
    dimensions = ["ClusterName", cluster]
    if namespace is not None and workload is not None:
        dimensions += ["Namespace", namespace, "PodName", workload]
    return [CONTAINER_INSIGHTS, name, *dimensions]


def dashboard_body(
    cluster: str,
    region: str,
    apis: dict[str, Api],
    alarm_arns: list[str],
    public: PublicMetrics | None = None,
) -> str:
    """The first (often only) page of the dashboard (``dashboard_pages``)."""
    return dashboard_pages(cluster, region, apis, alarm_arns, public)[0]


def dashboard_pages(
    cluster: str,
    region: str,
    apis: dict[str, Api],
    alarm_arns: list[str],
    public: PublicMetrics | None = None,
) -> list[str]:
    """The dashboard as CloudWatch's dashboard body JSON, one body per page of at most
    ``WIDGETS_PER_DASHBOARD`` widgets: the alarms' states; per cluster, nodes; per public API, requests, 5xx
    and p99 latency of its routes; per API, CPU and memory against requests and limits, available replicas
    against desired, restarts. The number of pages depends on the counts only, never on the values."""
    widgets = _widgets(cluster, region, apis, alarm_arns, public)
    return [
        json.dumps({"widgets": widgets[start : start + WIDGETS_PER_DASHBOARD]}, sort_keys=True)
        for start in range(0, max(len(widgets), 1), WIDGETS_PER_DASHBOARD)
    ]


def _widgets(
    cluster: str,
    region: str,
    apis: dict[str, Api],
    alarm_arns: list[str],
    public: PublicMetrics | None = None,
) -> list[dict[str, Any]]:
    widgets: list[dict[str, Any]] = []

    def add(title: str, metrics: list[list[Any]], stat: str = "Average", width: int = 6) -> None:
        widgets.append(
            {
                "type": "metric",
                "width": width,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": region,
                    "view": "timeSeries",
                    "stat": stat,
                    "period": 60,
                    "metrics": metrics,
                },
            }
        )

    for start in range(0, len(alarm_arns), ALARMS_PER_WIDGET):
        widgets.append(
            {
                "type": "alarm",
                "width": 24,
                "height": 3,
                "properties": {"title": "alarms", "alarms": alarm_arns[start : start + ALARMS_PER_WIDGET]},
            }
        )
    add(
        "nodes",
        [
            _metric("cluster_node_count", cluster) + [{"label": "nodes"}],
            _metric("cluster_failed_node_count", cluster) + [{"label": "not ready"}],
        ],
        stat="Maximum",
        width=24,
    )

    def per_route(api_id: str, keys: list[str], metric: str, label: str) -> list[list[Any]]:
        return [
            [API_GATEWAY, metric, "ApiId", api_id, "Stage", STAGE, "Route", key, {"label": f"{key} {label}"}]
            for key in keys
        ]

    for name, keys in sorted((public.routes if public else {}).items()):
        assert public is not None
        add(
            f"{name}: public requests",
            per_route(public.api_id, keys, "Count", "requests"),
            stat="Sum",
            width=8,
        )
        add(f"{name}: public 5xx", per_route(public.api_id, keys, "5xx", "5xx"), stat="Sum", width=8)
        add(
            f"{name}: public p99 latency (ms)",
            per_route(public.api_id, keys, "Latency", "p99"),
            stat="p99",
            width=8,
        )
    for name, api in sorted(apis.items()):
        ns = api.namespace
        add(
            f"{name}: CPU (millicores)",
            [
                _metric("pod_cpu_usage_total", cluster, ns, name) + [{"label": "used"}],
                _metric("pod_cpu_request", cluster, ns, name) + [{"label": "requested"}],
                _metric("pod_cpu_limit", cluster, ns, name) + [{"label": "limit"}],
            ],
        )
        add(
            f"{name}: memory (bytes)",
            [
                _metric("pod_memory_working_set", cluster, ns, name) + [{"label": "working set"}],
                _metric("pod_memory_request", cluster, ns, name) + [{"label": "requested"}],
                _metric("pod_memory_limit", cluster, ns, name) + [{"label": "limit"}],
            ],
        )
        add(
            f"{name}: replicas",
            [
                _metric("status_replicas_available", cluster, ns, name) + [{"label": "available"}],
                _metric("replicas_desired", cluster, ns, name) + [{"label": "desired"}],
            ],
            stat="Minimum",
        )
        add(
            f"{name}: container restarts",
            [_metric("pod_number_of_container_restarts", cluster, ns, name) + [{"label": "restarts"}]],
            stat="Sum",
        )
    return widgets


class Alarms(pulumi.ComponentResource):
    """The stack's alarms, on an SNS topic encrypted with a key CloudWatch may use, and its dashboard."""

    topic: aws.sns.Topic
    alarms: dict[str, aws.cloudwatch.MetricAlarm]

    def __init__(
        self,
        name: str,
        settings: ObservabilitySettings,
        environment: Environment,
        *,
        apis: dict[str, Api],
        edge: PublicEdge | None = None,
        budget_alerts: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """``budget_alerts``: AWS Budgets publishes to the topic too (infra/budget.py)."""
        super().__init__("picturesocial:infra:Alarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names, account, region = environment.names, environment.account_id, environment.region
        cluster = names.cluster

        # CloudWatch publishes to an encrypted topic only with a customer managed key whose policy lets it
        # generate data keys (the AWS managed aws/sns key does not): SNS developer guide, "Enable
        # compatibility between event sources from AWS services and encrypted topics".
        key = aws.kms.Key(
            "alarms",
            description=f"SNS encryption of {cluster}'s alarm topic",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        account_administers_the_key(account),
                        {
                            "Sid": "CloudWatchPublishesToTheTopic",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            "Resource": "*",
                            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                        },
                        *([budgets_use_the_key(account)] if budget_alerts else []),
                    ],
                }
            ),
            # Every KMS key is guarded (policy/baseline STATEFUL): a deleted key cannot be brought back.
            opts=pulumi.ResourceOptions(parent=self, protect=environment.protect),
        )
        aws.kms.Alias("alarms", name=names.alarm_key_alias, target_key_id=key.key_id, opts=child)
        self.topic = aws.sns.Topic("alarms", name=names.alarm_topic, kms_master_key_id=key.arn, opts=child)
        aws.sns.TopicPolicy(
            "alarms",
            arn=self.topic.arn,
            policy=self.topic.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "ThisAccountsAlarmsPublish",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": arn,
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": account},
                                    "ArnLike": {
                                        "aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:*"
                                    },
                                },
                            },
                            *([budgets_publish(arn, account)] if budget_alerts else []),
                        ],
                    }
                )
            ),
            # The topic's one policy (its id is the topic's ARN): a replacement deletes the old one first,
            # or deleting the old one afterwards would remove the new (tools/data/replacement_inputs.yaml).
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        for address in settings.alarm_emails:
            # Keyed by the address: removing one never re-creates the others' (confirmed) subscriptions.
            aws.sns.TopicSubscription(
                f"email-{address}", topic=self.topic.arn, protocol="email", endpoint=address, opts=child
            )

        actions = [self.topic.arn]
        minutes = settings.unavailable_minutes

        def alarm(key: str, description: str, **args: Any) -> aws.cloudwatch.MetricAlarm:
            if "metric_queries" not in args:
                args["namespace"] = CONTAINER_INSIGHTS
            return aws.cloudwatch.MetricAlarm(
                key,
                name=f"{cluster}-{key}",
                alarm_description=description,
                alarm_actions=actions,
                ok_actions=actions,
                opts=child,
                **args,
            )

        self.alarms = {
            "nodes-not-ready": alarm(
                "nodes-not-ready",
                f"A node of {cluster} has not been Ready for {minutes} minutes.",
                metric_name="cluster_failed_node_count",
                dimensions={"ClusterName": cluster},
                statistic="Maximum",
                period=60,
                evaluation_periods=minutes,
                threshold=0,
                comparison_operator="GreaterThanThreshold",
                # No data: the agent itself is down, which hides every other alarm too.
                treat_missing_data="breaching",
            )
        }
        for api_name, api in sorted(apis.items()):
            workload = {"ClusterName": cluster, "Namespace": api.namespace, "PodName": api_name}
            # The datapoints are restarts since the agent's previous scrape: their sum is restarts per period.
            self.alarms[f"{api_name}-restarts"] = alarm(
                f"{api_name}-restarts",
                f"{api_name}: {settings.restarts_threshold} or more container restarts within 5 minutes.",
                metric_name="pod_number_of_container_restarts",
                dimensions=workload,
                statistic="Sum",
                period=300,
                evaluation_periods=1,
                threshold=settings.restarts_threshold,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
            )
            minimum = api.autoscaling.min_replicas
            self.alarms[f"{api_name}-unavailable"] = alarm(
                f"{api_name}-unavailable",
                f"{api_name}: fewer than {minimum} available replicas (its HPA minimum) for {minutes} "
                "minutes.",
                metric_name="status_replicas_available",
                dimensions=workload,
                statistic="Minimum",
                period=60,
                evaluation_periods=minutes,
                threshold=minimum,
                comparison_operator="LessThanThreshold",
                # The Deployment reports nothing: it is gone, or the agent is; either way nobody is served.
                treat_missing_data="breaching",
            )

        routes = public_routes_by_api(edge.routes) if edge else {}
        api_id = edge.api.id if edge else pulumi.Output.from_input("")
        for api_name, paths in public_paths_by_api(edge.routes if edge else []).items():
            for path, keys in paths.items():
                # Keyed by the path (unique in the catalog): adding or reordering paths touches no other one.
                self.alarms[f"{api_name}-5xx{path}"] = alarm(
                    f"{api_name}-5xx{path}",
                    f"{api_name}: more than {settings.error_rate_percent:g}% of the public requests to "
                    f"{path} answered 5xx within 5 minutes.",
                    metric_queries=_error_rate_queries(api_id, keys),
                    evaluation_periods=1,
                    threshold=settings.error_rate_percent,
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="notBreaching",
                )
                self.alarms[f"{api_name}-latency{path}"] = alarm(
                    f"{api_name}-latency{path}",
                    f"{api_name}: p99 latency of a public route of {path} above {settings.latency_p99_ms} ms "
                    "within 5 minutes.",
                    metric_queries=_latency_queries(api_id, keys),
                    evaluation_periods=1,
                    threshold=settings.latency_p99_ms,
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="notBreaching",
                )

        # The page count depends on the numbers of APIs, routes and alarms, known before any value is.
        pages = len(
            dashboard_pages(cluster, region, apis, [""] * len(self.alarms), public=PublicMetrics("", routes))
        )
        arns = pulumi.Output.all(api_id, *[a.arn for a in self.alarms.values()])

        def page_body(values: list[Any], page: int) -> str:
            return dashboard_pages(
                cluster, region, apis, list(values[1:]), public=PublicMetrics(values[0], routes)
            )[page]

        for page in range(pages):
            # The first page keeps the dashboard's name (and URN); the next ones are "<name>-2", ...
            suffix = "" if page == 0 else f"-{page + 1}"
            aws.cloudwatch.Dashboard(
                f"dashboard{suffix}",
                dashboard_name=f"{names.dashboard}{suffix}",
                dashboard_body=arns.apply(functools.partial(page_body, page=page)),
                opts=child,
            )
        self.register_outputs({"topicArn": self.topic.arn})
