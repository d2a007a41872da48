"""Container Insights, container logs, alarms and the dashboard (fixture project: `small` on defaults,
`large` with its own retention, emails and thresholds)."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURE as FIXTURE_ROOT
from graphq import NODE_GROUP, ROLE, ROLE_POLICY, one

from settings import load
from tools.offline.stack_config import load_stack_config

ADDON = "aws:eks/addon:Addon"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"


def by_name(graph, typ):
    return {r["name"]: r for r in graph.of_type(typ)}


def observability_addon(graph):
    (addon,) = [
        a for a in graph.of_type(ADDON) if a["inputs"]["addonName"] == "amazon-cloudwatch-observability"
    ]
    return addon


def test_the_four_container_insights_log_groups_exist_with_the_stacks_retention(fixture_graphs):
    for stack, cluster, days in (("small", "picturesocial-small", 30), ("large", "picturesocial-large", 90)):
        groups = {
            r["inputs"]["name"]: r["inputs"]["retentionInDays"]
            for r in fixture_graphs[stack].of_type(LOG_GROUP)
            if "/containerinsights/" in r["inputs"]["name"]
        }
        assert groups == {
            f"/aws/containerinsights/{cluster}/application": days,
            f"/aws/containerinsights/{cluster}/dataplane": days,
            f"/aws/containerinsights/{cluster}/host": days,
            f"/aws/containerinsights/{cluster}/performance": days,
        }


def test_the_addon_is_pinned_and_waits_for_its_log_groups_the_nodes_and_coredns(fixture_graph):
    addon = observability_addon(fixture_graph)
    assert addon["inputs"]["addonVersion"] == "v6.7.0-eksbuild.1"
    groups = {
        r["urn"] for r in fixture_graph.of_type(LOG_GROUP) if "/containerinsights/" in r["inputs"]["name"]
    }
    nodes = {r["urn"] for r in fixture_graph.of_type(NODE_GROUP)}
    (coredns,) = [a["urn"] for a in fixture_graph.of_type(ADDON) if a["inputs"]["addonName"] == "coredns"]
    assert len(groups) == 4 and groups | nodes | {coredns} <= set(addon["dependencies"])


def test_application_signals_stays_off_and_container_logs_on(fixture_graph):
    values = json.loads(observability_addon(fixture_graph)["inputs"]["configurationValues"])
    assert values["applicationSignals"] == {"enabled": False}
    assert values["manager"]["applicationSignals"]["autoMonitor"]["monitorAllServices"] is False
    assert values["containerLogs"] == {"enabled": True}


def test_the_agent_runs_as_its_own_role_writing_only_this_clusters_log_groups(fixture_graphs):
    graph = fixture_graphs["large"]
    addon = observability_addon(graph)
    role = one(graph, ROLE, "cloudwatch-agent")
    assert addon["inputs"]["serviceAccountRoleArn"] == f"arn:aws:iam::210987654321:role/{role['id']}"
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:amazon-cloudwatch:cloudwatch-agent" in trust.values()
    statements = json.loads(one(graph, ROLE_POLICY, "cloudwatch-agent")["inputs"]["policy"])["Statement"]
    writes = next(s for s in statements if "logs:PutLogEvents" in s["Action"])
    assert (
        writes["Resource"]
        == "arn:aws:logs:eu-west-1:210987654321:log-group:/aws/containerinsights/picturesocial-large/*"
    )
    granted = {a for s in statements for a in s["Action"]}
    # The groups exist before the add-on: it never needs to create one (nor to set a retention).
    assert not granted & {"logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup"}


def test_alarms_go_to_an_encrypted_topic_cloudwatch_may_publish_to(fixture_graphs):
    graph = fixture_graphs["large"]
    topic = one(graph, TOPIC, "alarms")
    key = one(graph, "aws:kms/key:Key", "alarms")
    assert topic["inputs"]["name"] == "picturesocial-large-alarms"
    assert topic["inputs"]["kmsMasterKeyId"] == f"arn:aws:kms:eu-west-1:210987654321:key/{key['id']}"
    topic_arn = "arn:aws:sns:eu-west-1:210987654321:picturesocial-large-alarms"
    key_statements = json.loads(key["inputs"]["policy"])["Statement"]
    cloudwatch = next(s for s in key_statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"})
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    (publish,) = json.loads(one(graph, "aws:sns/topicPolicy:TopicPolicy", "alarms")["inputs"]["policy"])[
        "Statement"
    ]
    assert (publish["Action"], publish["Resource"]) == ("sns:Publish", topic_arn)
    assert publish["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "210987654321"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:210987654321:alarm:*"},
    }
    for alarm in graph.of_type(ALARM):
        assert alarm["inputs"]["alarmActions"] == [topic_arn], alarm["name"]
        assert alarm["inputs"]["okActions"] == [topic_arn], alarm["name"]


def test_each_alarm_email_is_subscribed_and_none_by_default(fixture_graphs):
    def endpoints(stack):
        return sorted(
            (s["inputs"]["protocol"], s["inputs"]["endpoint"])
            for s in fixture_graphs[stack].of_type("aws:sns/topicSubscription:TopicSubscription")
        )

    assert endpoints("large") == [("email", "oncall@example.com"), ("email", "platform@example.com")]
    assert endpoints("small") == []


def test_every_api_alarms_on_restarts_and_on_falling_below_its_hpa_minimum(fixture_graphs):
    alarms = {a["inputs"]["name"]: a["inputs"] for a in fixture_graphs["large"].of_type(ALARM)}
    assert sorted(alarms) == [
        "picturesocial-large-greeter-5xx/greet",
        "picturesocial-large-greeter-5xx/hello",
        "picturesocial-large-greeter-latency/greet",
        "picturesocial-large-greeter-latency/hello",
        "picturesocial-large-greeter-restarts",
        "picturesocial-large-greeter-unavailable",
        "picturesocial-large-nodes-not-ready",
        "picturesocial-large-photos-5xx/photos",
        "picturesocial-large-photos-latency/photos",
        "picturesocial-large-photos-restarts",
        "picturesocial-large-photos-unavailable",
        "picturesocial-large-thumbs-restarts",
        "picturesocial-large-thumbs-unavailable",
    ]
    greeter = alarms["picturesocial-large-greeter-unavailable"]
    assert (greeter["metricName"], greeter["statistic"], greeter["comparisonOperator"]) == (
        "status_replicas_available",
        "Minimum",
        "LessThanThreshold",
    )
    # greeter's minimum is 3 in this stack (picturesocial:apis.greeter.replicas), photos keeps the default 2.
    assert greeter["threshold"] == 3 and alarms["picturesocial-large-photos-unavailable"]["threshold"] == 2
    assert greeter["evaluationPeriods"] == 3 and greeter["treatMissingData"] == "breaching"
    assert greeter["dimensions"] == {
        "ClusterName": "picturesocial-large",
        "Namespace": "front",
        "PodName": "greeter",
    }
    restarts = alarms["picturesocial-large-photos-restarts"]
    assert (restarts["metricName"], restarts["statistic"], restarts["period"], restarts["threshold"]) == (
        "pod_number_of_container_restarts",
        "Sum",
        300,
        5,
    )
    assert restarts["dimensions"]["Namespace"] == "media"
    nodes = alarms["picturesocial-large-nodes-not-ready"]
    assert (nodes["metricName"], nodes["dimensions"], nodes["threshold"]) == (
        "cluster_failed_node_count",
        {"ClusterName": "picturesocial-large"},
        0,
    )
    # Pods and nodes from Container Insights; the public APIs' 5xx and latency from API Gateway
    # (test_edge.py).
    assert {name for name, a in alarms.items() if a.get("namespace") == "ContainerInsights"} == {
        name for name in alarms if "-5xx/" not in name and "-latency/" not in name
    }


def test_the_dashboard_body_is_json_with_resources_against_requests_and_limits_per_api(fixture_graphs):
    dashboard = one(fixture_graphs["small"], "aws:cloudwatch/dashboard:Dashboard", "dashboard")["inputs"]
    assert dashboard["dashboardName"] == "picturesocial-small"
    widgets = json.loads(dashboard["dashboardBody"])["widgets"]
    titles = [w["properties"]["title"] for w in widgets]
    for api in ("greeter", "photos", "thumbs"):
        assert {f"{api}: CPU (millicores)", f"{api}: memory (bytes)", f"{api}: replicas"} <= set(titles)
    cpu = next(w for w in widgets if w["properties"]["title"] == "photos: CPU (millicores)")["properties"]
    assert [m[1] for m in cpu["metrics"]] == ["pod_cpu_usage_total", "pod_cpu_request", "pod_cpu_limit"]
    assert cpu["metrics"][0][:8] == [
        "ContainerInsights",
        "pod_cpu_usage_total",
        "ClusterName",
        "picturesocial-small",
        "Namespace",
        "media",
        "PodName",
        "photos",
    ]
    (alarms,) = [w for w in widgets if w["type"] == "alarm"]
    assert sorted(alarms["properties"]["alarms"])[0] == (
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:picturesocial-small-greeter-5xx/greet"
    )
    assert len(alarms["properties"]["alarms"]) == 13  # 2 per API, 2 per public path, 1 per cluster


def test_a_dashboard_with_many_apis_splits_its_alarms_into_widgets_of_100(fixture_graphs):
    from infra.observability import dashboard_body

    project, config, _ = load_stack_config(FIXTURE_ROOT, "small")
    apis = load(config, project=project, stack="small", project_dir=FIXTURE_ROOT).apis
    body = json.loads(dashboard_body("c", "us-east-1", apis, [f"arn:{i}" for i in range(250)]))
    sizes = [len(w["properties"]["alarms"]) for w in body["widgets"] if w["type"] == "alarm"]
    assert sizes == [100, 100, 50]


@pytest.mark.live
def test_every_live_stack_has_the_addon_log_groups_topic_alarms_and_a_dashboard(graphs):
    for stack, graph in graphs.items():
        addon = observability_addon(graph)
        assert addon["inputs"]["addonVersion"].startswith("v") and addon["inputs"]["serviceAccountRoleArn"], (
            stack
        )
        cluster = graph.outputs["clusterName"]
        groups = {r["inputs"]["name"]: r["inputs"].get("retentionInDays") for r in graph.of_type(LOG_GROUP)}
        for kind in ("application", "dataplane", "host", "performance"):
            assert groups[f"/aws/containerinsights/{cluster}/{kind}"] > 0, (stack, kind)
        (topic,) = graph.of_type(TOPIC)
        assert topic["inputs"]["kmsMasterKeyId"].startswith("arn:aws:kms:"), stack
        assert graph.of_type(ALARM), stack
        (dashboard,) = graph.of_type("aws:cloudwatch/dashboard:Dashboard")
        assert json.loads(dashboard["inputs"]["dashboardBody"])["widgets"], stack
