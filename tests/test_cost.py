"""What a stack costs (tools/cost.py, settings/data/prices.yaml), the diff's cost line, the budget, and the
live price check: on the fixture project's graphs (small: us-east-1, priced; large: eu-west-1, no prices)."""

from __future__ import annotations

import copy
import datetime as dt
import json

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from conftest import FIXTURE, fixture_config, synth_fixture

from settings.errors import SettingsError
from tools import cost
from tools import preflight as preflight_tool
from tools.offline import synthesize
from tools.ops import Report

TODAY = dt.date(2026, 12, 3)


def body(graph):
    return json.loads(graph.to_json())


def estimate_of(graph, today=TODAY, **cost_settings):
    config = dict(graph.config)
    if cost_settings:
        config["picturesocial:cost"] = json.dumps(cost_settings)
    return cost.estimate(body(graph), config, today=today)


def items_of(estimate, typ):
    return [i for i in estimate.items if i.type == typ]


# -- the report ----------------------------------------------------------------------------------------------


def test_the_json_report_has_the_documented_keys(capsys):
    assert cost.main(["small", "--project", str(FIXTURE), "--json", "--today", "2026-12-03"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stack"] == "small" and report["currency"] == "USD"
    assert report["items"], "nothing priced"
    for item in report["items"]:
        assert {"urn", "type", "description", "monthly", "kind"} <= set(item)
        assert item["kind"] in ("fixed", "usage")
    for kind in ("fixed", "usage"):
        expected = round(sum(i["monthly"] for i in report["items"] if i["kind"] == kind), 2)
        assert report[f"{kind}Monthly"] == expected  # the lines add up to the totals


def test_the_fixed_part_is_explained_one_line_per_priced_resource(fixture_graphs):
    estimate = estimate_of(fixture_graphs["small"])
    text = cost.render(estimate)
    fixed = [i for i in estimate.items if i.kind == "fixed"]
    assert fixed
    lines = text.splitlines()
    for item in fixed:
        matching = [
            line
            for line in lines
            if line.split()[:2] == [item.component, item.resource[:28]] and cost.money(item.monthly) in line
        ]
        assert matching, f"no line for {item.component}/{item.resource} ({item.price})"
    assert f"fixed total: {cost.money(estimate.total('fixed'))}" in text
    assert f"total: {cost.money(estimate.total())} a month" in text


def test_every_price_used_is_printed_with_its_source(fixture_graphs):
    estimate = estimate_of(fixture_graphs["small"])
    text = cost.render(estimate)
    for key in {i.price for i in estimate.items}:
        source = cost.price_book().regions["us-east-1"].prices[key].source
        assert f"  {key}: $" in text and source in text


# The types the estimate must price in a us-east-1 stack, with the price each one uses: a price removed from
# settings/data/prices.yaml (or a rule from tools/cost.py) turns its type "not priced", and this fails.
PRICED = {
    "eks:index:Cluster": "eksClusterStandard",
    "aws:ec2/natGateway:NatGateway": "natGatewayHour",
    "aws:ec2/eip:Eip": "publicIPv4Hour",
    "aws:eks/nodeGroup:NodeGroup": "instance:t3.medium",
    "kubernetes:core/v1:Service": "networkLoadBalancerHour",
    "aws:kms/key:Key": "kmsKeyMonth",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "cloudwatchAlarmMetric",
    "aws:cloudwatch/dashboard:Dashboard": "cloudwatchDashboardMonth",
    "aws:cloudwatch/logGroup:LogGroup": "cloudwatchLogsIngestedGB",
    "aws:apigatewayv2/api:Api": "httpApiMillionRequests",
    "aws:dynamodb/table:Table": "dynamodbWriteMillion",
    "aws:s3/bucket:Bucket": "s3StandardGBMonth",
    "aws:ecr/repository:Repository": "ecrStoredGBMonth",
    "aws:budgets/budget:Budget": "budgetDay",
}


@pytest.mark.parametrize("typ", sorted(PRICED))
def test_each_type_that_dominates_the_bill_is_priced(fixture_graphs, typ):
    estimate = estimate_of(fixture_graphs["small"])
    assert typ in {r["type"] for r in fixture_graphs["small"].resources}, f"the fixture has no {typ}"
    assert PRICED[typ] in {i.price for i in items_of(estimate, typ)}
    assert not [n for n in estimate.not_priced if n.type == typ]


def test_the_node_groups_ebs_volumes_are_priced(fixture_graphs):
    estimate = estimate_of(fixture_graphs["small"])
    volumes = [i for i in items_of(estimate, "aws:eks/nodeGroup:NodeGroup") if i.price == "ebsGp3GBMonth"]
    # small: 2 nodes (minSize, no desiredSize) of 30 GiB
    assert [v.quantity for v in volumes] == [60]


def test_a_region_without_prices_is_listed_not_priced_and_counted(fixture_graphs):
    estimate = estimate_of(fixture_graphs["large"])  # eu-west-1: no prices committed
    assert estimate.items == [] and estimate.total() == 0
    reasons = {n.type: n.reason for n in estimate.not_priced}
    assert "no prices for region eu-west-1" in reasons["aws:ec2/natGateway:NatGateway"]
    assert "eks:index:Cluster" in reasons
    assert f"not priced: {len(estimate.not_priced)} resource(s)" in cost.render(estimate)


def test_a_type_with_no_pricing_rule_is_listed_never_skipped(fixture_graphs):
    graph = body(fixture_graphs["small"])
    stranger = copy.deepcopy(next(r for r in graph["resources"] if r["type"] == "aws:sqs/queue:Queue"))
    stranger.update(type="aws:rds/instance:Instance", urn=stranger["urn"] + "-db", name="db")
    graph["resources"].append(stranger)
    estimate = cost.estimate(graph, fixture_graphs["small"].config, today=TODAY)
    assert [n.resource for n in estimate.not_priced if n.type == "aws:rds/instance:Instance"] == ["db"]
    # types AWS charges nothing for are not "not priced"
    assert not [n for n in estimate.not_priced if n.type == "aws:iam/role:Role"]


def test_the_price_book_refuses_a_price_without_a_source(tmp_path):
    book = yaml.safe_load(cost.PRICES.read_text())
    del book["regions"]["us-east-1"]["prices"]["natGatewayHour"]["source"]
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(book))
    with pytest.raises(SettingsError) as caught:
        cost.load_prices(path)
    assert caught.value.lines == ["prices.yaml: regions.us-east-1.prices.natGatewayHour.source: is required"]


def test_every_committed_price_names_its_source_and_the_day_it_was_read():
    for region in cost.price_book().regions.values():
        for key, price in region.prices.items():
            assert len(price.source) >= 10, key
            assert price.read <= dt.date(2026, 12, 3), key


# -- the control plane ---------------------------------------------------------------------------------------


def with_cluster(graph, version, support):
    changed = body(graph)
    cluster = next(r for r in changed["resources"] if r["type"] == "eks:index:Cluster")
    cluster["inputs"]["version"] = version
    cluster["inputs"]["upgradePolicy"] = {"supportType": support}
    return changed


@pytest.mark.parametrize(
    ("version", "support", "today", "monthly"),
    [
        ("1.34", "EXTENDED", dt.date(2026, 12, 3), 438.0),  # past 2026-12-02: six times the rate
        ("1.34", "EXTENDED", dt.date(2026, 12, 2), 73.0),  # its last day of standard support
        (
            "1.36",
            "EXTENDED",
            dt.date(2026, 12, 3),
            73.0,
        ),  # in standard support: the policy alone costs nothing
        (
            "1.34",
            "STANDARD",
            dt.date(2026, 12, 3),
            73.0,
        ),  # EKS upgrades it rather than charge extended support
    ],
)
def test_a_version_past_standard_support_raises_the_control_plane_line(
    fixture_graphs, version, support, today, monthly
):
    graph = fixture_graphs["small"]
    estimate = cost.estimate(with_cluster(graph, version, support), graph.config, today=today)
    (line,) = items_of(estimate, "eks:index:Cluster")
    assert line.monthly == pytest.approx(monthly)


# -- node groups and Karpenter -------------------------------------------------------------------------------


def test_spot_node_groups_take_the_stated_discount(fixture_graphs):
    graph = fixture_graphs["small"]  # 2 x t3.medium spot

    def nodes(**settings):
        (line,) = [
            i
            for i in items_of(estimate_of(graph, **settings), "aws:eks/nodeGroup:NodeGroup")
            if i.unit == "instance-hour"
        ]
        return line.monthly

    assert nodes() == pytest.approx(2 * 730 * 0.0416 * 0.4, abs=0.005)  # the default: 60% off
    assert nodes(spotDiscountPercent=0) == pytest.approx(2 * 730 * 0.0416, abs=0.005)


def test_karpenter_pools_cost_nothing_at_rest_and_their_limit_is_the_ceiling(fixture_graphs):
    estimate = estimate_of(fixture_graphs["small"])  # limits: cpu 8
    assert not items_of(estimate, "kubernetes:karpenter.sh/v1:NodePool")
    (ceiling,) = estimate.ceilings
    assert "$0.00 at rest" in ceiling and f"at most {cost.money(8 / 2 * 0.096 * 730)} a month" in ceiling


# -- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ({"usage": {"natGBProcessed": -5}}, "picturesocial:cost.usage.natGBProcessed: -5 must be at least 0"),
        (
            {"usage": {"apiRequestsMillions": "lots"}},
            'picturesocial:cost.usage.apiRequestsMillions: "lots" must be a number',
        ),
        ({"monthlyBudget": 0}, "picturesocial:cost.monthlyBudget: 0 must be greater than 0"),
        ({"monthlyBudget": "much"}, 'picturesocial:cost.monthlyBudget: "much" must be a number'),
    ],
)
def test_a_bad_budget_or_usage_assumption_is_one_line_naming_the_key(value, line):
    with pytest.raises(SettingsError) as caught:
        cost.cost_settings({"picturesocial:cost": json.dumps(value)})
    assert caught.value.lines == [line]


def test_a_negative_usage_assumption_exits_2_with_one_line(project_copy, capsys):
    config = fixture_config("small")
    config["picturesocial:cost"] = {"usage": {"logIngestedGB": -1}}
    root = project_copy(stacks={"small": config})
    assert cost.main(["small", "--project", str(root)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: Pulumi.small.yaml: picturesocial:cost.usage.logIngestedGB: -1 must be at least 0"
    ]


# -- the diff's line -----------------------------------------------------------------------------------------


def test_the_cost_line_when_nothing_changes(fixture_graphs):
    small = fixture_graphs["small"]
    line = cost.section_line(body(small), body(small), FIXTURE, FIXTURE, "small")
    total = cost.money(estimate_of(small, today=None).total())
    assert line == f"cost: {total} -> {total} per month (+$0.00)"


def test_adding_an_exposed_api_shows_its_load_balancer_in_the_cost_line(fixture_graphs, project_copy):
    catalog = yaml.safe_load((FIXTURE / "workloads/catalog.yaml").read_text())
    catalog["apis"]["thumbs"]["exposed"] = True  # internal until now
    root = project_copy(catalog=catalog)
    after = synthesize("small", root=root)
    before_estimate, after_estimate = estimate_of(fixture_graphs["small"]), estimate_of(after)
    added = [i for i in items_of(after_estimate, "kubernetes:core/v1:Service") if i.resource == "thumbs-lb"]
    assert [(i.price, round(i.monthly, 2)) for i in added if i.kind == "fixed"] == [
        ("networkLoadBalancerHour", 16.43)
    ]
    line = cost.change_line(before_estimate, after_estimate)
    delta = after_estimate.total() - before_estimate.total()
    assert delta >= 16.42
    assert line.startswith(
        f"cost: {cost.money(before_estimate.total())} -> {cost.money(after_estimate.total())} per month "
        f"(+{cost.money(delta)})"
    )


def test_switching_to_a_single_nat_gateway_shows_the_saving(fixture_graphs):
    network = {**fixture_config("small")["picturesocial:network"], "natGateways": "perAz"}
    per_zone, single = synth_fixture("small", network=network), fixture_graphs["small"]
    before, after = estimate_of(per_zone), estimate_of(single)
    # small has two zones: one NAT gateway and its public address fewer, at 730 hours each
    saving = 730 * (0.045 + 0.005)
    assert before.total("fixed") - after.total("fixed") == pytest.approx(saving, abs=0.01)
    assert before.total("usage") == after.total("usage")  # the same GB, through fewer gateways
    assert cost.change_line(before, after) == (
        f"cost: {cost.money(before.total())} -> {cost.money(after.total())} per month (-{cost.money(saving)})"
    )


def test_fixed_and_usage_are_shown_apart_when_both_change(fixture_graphs):
    small = fixture_graphs["small"]
    before = estimate_of(small)
    after = cost.estimate(with_cluster(small, "1.34", "EXTENDED"), {**small.config}, today=TODAY)
    after_usage = estimate_of(small, usage={"natGBProcessed": 1000})
    assert "; fixed" not in cost.change_line(before, after)  # only fixed changed
    both = cost.Estimate(
        "p", "s", "us-east-1", items=after.items + [i for i in after_usage.items if i.kind == "usage"]
    )
    line = cost.change_line(before, both)
    assert "; fixed $" in line and ", usage $" in line


# -- the budget ----------------------------------------------------------------------------------------------


def budget_statements(graph):
    by_type = {r["type"]: r for r in graph.resources}
    key = next(r for r in graph.of_type("aws:kms/key:Key") if r["name"] == "alarms")
    key_policy = json.loads(key["inputs"]["policy"])
    topic_policy = json.loads(by_type["aws:sns/topicPolicy:TopicPolicy"]["inputs"]["policy"])
    return [
        s
        for s in key_policy["Statement"] + topic_policy["Statement"]
        if s["Principal"].get("Service") == "budgets.amazonaws.com"
    ]


def test_the_budget_alerts_the_alarm_topic_on_actual_and_forecast_spend(fixture_graphs):
    graph = fixture_graphs["small"]  # picturesocial:cost.monthlyBudget: 250
    (budget,) = graph.of_type("aws:budgets/budget:Budget")
    inputs = budget["inputs"]
    assert (inputs["limitAmount"], inputs["limitUnit"], inputs["timeUnit"], inputs["budgetType"]) == (
        "250.00",
        "USD",
        "MONTHLY",
        "COST",
    )
    assert inputs["costFilters"] == [{"name": "TagKeyValue", "values": ["user:environment$small"]}]
    (topic,) = graph.of_type("aws:sns/topic:Topic")
    notifications = sorted(
        (n["notificationType"], n["comparisonOperator"], n["threshold"], n["thresholdType"])
        for n in inputs["notifications"]
    )
    # 100 percent of the monthly limit (not $100: a ThresholdType of ABSOLUTE_VALUE reads the same number).
    assert notifications == [
        ("ACTUAL", "GREATER_THAN", 100.0, "PERCENTAGE"),
        ("FORECASTED", "GREATER_THAN", 100.0, "PERCENTAGE"),
    ]
    for notification in inputs["notifications"]:
        assert notification["subscriberSnsTopicArns"] == [topic["id"]]  # the topic ARN
    key_statement, topic_statement = budget_statements(graph)
    account = "123456789012"
    assert key_statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert key_statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}
    assert topic_statement["Action"] == "SNS:Publish"
    assert topic_statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{account}:*"},
    }


def test_without_a_budget_nothing_may_publish_for_budgets(fixture_graphs):
    graph = fixture_graphs["large"]  # no picturesocial:cost.monthlyBudget
    assert graph.of_type("aws:budgets/budget:Budget") == []
    assert budget_statements(graph) == []


def test_the_bootstrap_activates_the_tags_the_stacks_apply(bootstrap_graphs, fixture_graphs):
    (provider,) = fixture_graphs["small"].of_type("pulumi:providers:aws")
    stack_tags = set(json.loads(provider["inputs"]["defaultTags"])["tags"])
    assert stack_tags == {"project", "environment", "managed-by"}
    for graph in bootstrap_graphs.values():
        tags = graph.of_type("aws:costexplorer/costAllocationTag:CostAllocationTag")
        assert sorted((t["inputs"]["tagKey"], t["inputs"]["status"]) for t in tags) == sorted(
            (key, "Active") for key in stack_tags
        )


# -- the live check ------------------------------------------------------------------------------------------


def product(usd):
    return json.dumps(
        {
            "terms": {
                "OnDemand": {
                    "SKU.TERM": {
                        "priceDimensions": {"SKU.TERM.DIM": {"beginRange": "0", "pricePerUnit": {"USD": usd}}}
                    }
                }
            }
        }
    )


def stubbed_pricing(answers):
    """The Price List API (moto does not emulate it): a GetProducts answer per checked price, in key order."""
    client = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    stub = Stubber(client)
    for key, usd in answers:
        price = cost.price_book().regions["us-east-1"].prices[key]
        assert price.price_list is not None
        stub.add_response(
            "get_products",
            {"PriceList": [product(usd)] if usd is not None else [], "FormatVersion": "aws_v1"},
            {
                "ServiceCode": price.price_list.service,
                "Filters": [
                    {"Type": "TERM_MATCH", "Field": k, "Value": v}
                    for k, v in price.price_list.filters.items()
                ],
                "FormatVersion": "aws_v1",
                "MaxResults": 10,
            },
        )
    stub.activate()
    return client


def checked_keys():
    prices = cost.price_book().regions["us-east-1"].prices
    return sorted(key for key, price in prices.items() if price.price_list is not None)


def test_preflight_lists_the_one_price_that_moved():
    committed = cost.price_book().regions["us-east-1"].prices
    answers = [
        (key, "0.0500000000" if key == "natGatewayHour" else f"{committed[key].usd:.10f}")
        for key in checked_keys()
    ]
    report = Report("preflight small")
    preflight_tool.check_prices(report, stubbed_pricing(answers), "us-east-1")
    warnings = [(check, detail) for check, status, detail in report.rows if status == "warn"]
    assert warnings[0] == (
        "price natGatewayHour",
        "moved: committed $0.045, Price List $0.05; update settings/data/prices.yaml (value, source, read "
        "date)",
    )
    assert [check for check, _ in warnings] == ["price natGatewayHour", "prices"]


def test_preflight_passes_when_every_checked_price_is_as_listed():
    committed = cost.price_book().regions["us-east-1"].prices
    answers = [(key, f"{committed[key].usd:.10f}") for key in checked_keys()]
    report = Report("preflight small")
    preflight_tool.check_prices(report, stubbed_pricing(answers), "us-east-1")
    assert [(check, status) for check, status, _ in report.rows] == [("prices", "pass")]


def test_a_price_the_api_no_longer_lists_is_a_warning():
    committed = cost.price_book().regions["us-east-1"].prices
    answers = [
        (key, None if key == "ebsGp3GBMonth" else f"{committed[key].usd:.10f}") for key in checked_keys()
    ]
    report = Report("preflight small")
    preflight_tool.check_prices(report, stubbed_pricing(answers), "us-east-1")
    assert report.status("price ebsGp3GBMonth") == "warn" and report.status("prices") == "warn"
