"""AWS's own name limits, from botocore's service models, over every stack's graph and over a big catalog."""

from __future__ import annotations

import pytest
import yaml
from conftest import FIXTURE

from settings import aws_limits
from tools import ROOT
from tools.offline import SynthError, synthesize


def test_limits_come_from_botocores_service_models():
    # Literal values as AWS documents them: the module must find them in the models, not carry them.
    role = aws_limits.limit("iam CreateRole.RoleName")
    assert (role.min, role.max, role.documented) == (1, 64, None)
    assert aws_limits.limit("eks CreateCluster.name").max == 100
    assert aws_limits.limit("ecr CreateRepository.repositoryName").max == 256
    assert aws_limits.limit("logs CreateLogGroup.logGroupName").max == 512
    assert str(aws_limits.check("Pictures/API", "ecr CreateRepository.repositoryName")).startswith(
        "not matching AWS's pattern"
    )
    # The whole value, not a prefix of it: "pictures" alone would match (AWS anchors its patterns).
    assert str(aws_limits.check("pictures/API", "ecr CreateRepository.repositoryName")).startswith(
        "not matching AWS's pattern"
    )


def test_documented_limits_fill_only_what_the_models_leave_out():
    table = yaml.safe_load((ROOT / "settings/data/aws_names.yaml").read_text())
    for member in table["documented"]:
        found = aws_limits.limit(member)  # raises if the model grew a constraint of its own
        silent = (
            "tighter than botocore's model"
            if table["documented"][member].get("narrows")
            else "botocore's model sets no limit"
        )
        assert found.documented and member in found.source and silent in found.source
    assert aws_limits.check("a" * 33, "elbv2 CreateLoadBalancer.Name") == (
        "33 characters long; AWS allows at most 32 (elbv2 CreateLoadBalancer.Name: ELB API reference, "
        "CreateLoadBalancer Name; botocore's model sets no limit)"
    )


@pytest.mark.live
def test_every_name_in_every_live_stack_is_one_aws_accepts(graphs):
    checked, problems = 0, []
    for resource in (r for graph in graphs.values() for r in graph.resources):
        for finding in aws_limits.check_resource(resource["type"], resource["inputs"]):
            assert not finding.skipped, f"{resource['urn']} {finding.input} unknown at synth"
            checked += 1
            if finding.problem:
                problems.append(f"{resource['urn']} {finding.input}={finding.value!r}: {finding.problem}")
    assert problems == []
    assert checked >= 7 * len(graphs)  # cluster, log group, alias, repositories, bucket, table


def test_a_name_aws_would_refuse_is_found_in_a_graph(fixture_graphs):
    repository = fixture_graphs["small"].of_type("aws:ecr/repository:Repository")[0]
    inputs = {**repository["inputs"], "name": "picturesocial-dev/" + "x" * 250}
    (finding,) = [f for f in aws_limits.check_resource(repository["type"], inputs) if f.input == "name"]
    assert str(finding.problem).startswith("268 characters long; AWS allows at most 256")


@pytest.mark.parametrize("exposed", [True, False])
def test_apis_with_the_longest_names_fit_or_are_refused_naming_the_api(project_copy, exposed):
    catalog = yaml.safe_load((FIXTURE / "workloads/catalog.yaml").read_text())
    template = {key: value for key, value in catalog["apis"]["greeter"].items() if key != "public"}
    for i in range(10):
        name = f"a{i:02d}" + "x" * 60  # 63 characters: the longest DNS-1035 label
        catalog["apis"][name] = {
            **template,
            "namespace": f"domain-{i % 10}",
            "port": 6000 + i,
            "exposed": exposed,
        }
    config = yaml.safe_load((FIXTURE / "Pulumi.small.yaml").read_text())["config"]
    config["picturesocial:apis"] = {name: {"tag": "1.0.0"} for name in catalog["apis"]}
    root = project_copy(catalog=catalog, stacks={"small": config})
    try:
        graph = synthesize("small", root=root)
    except SynthError as exc:
        lines = str(exc).splitlines()
        assert exposed and len(lines) == 10, lines[:3]
        assert all(line.startswith("workloads/catalog.yaml: apis.a") for line in lines), lines[:3]
        # An exposed API's NLB, "<cluster>-<name>", is 83 characters, over AWS's 32 (its "<name>-lb" Service
        # name, 66, is over Kubernetes' 63 too: one line per API, the first problem found).
        assert lines[0] == (
            "workloads/catalog.yaml: apis.a00"
            + "x" * 60
            + ': the load balancer name "picturesocial-small-a00'
            + "x" * 60
            + '" is 83 characters long; AWS allows at most 32 (elbv2 CreateLoadBalancer.Name: ELB API '
            "reference, CreateLoadBalancer Name; botocore's model sets no limit)"
        )
        return
    assert not exposed
    for resource in graph.resources:  # pragma: no cover - reached only if the catalog is accepted
        for finding in aws_limits.check_resource(resource["type"], resource["inputs"]):
            assert finding.problem is None, (resource["urn"], finding)


# -- values: a number's range, an enum, over every instance -------------------------------------------


def test_value_limits_come_from_the_models_or_their_documented_page():
    # As AWS documents them: HTTP API integrations time out between 50 ms and 30 s (API Gateway developer
    # guide, "Amazon API Gateway quotas": integration timeout 50 milliseconds - 30 seconds for HTTP APIs).
    timeout = aws_limits.limit("apigatewayv2 CreateIntegration.TimeoutInMillis")
    assert (timeout.min, timeout.max, timeout.documented) == (50, 30000, None)
    assert aws_limits.limit("cloudwatch PutMetricAlarm.Metrics.MetricStat.Period").min == 1
    assert aws_limits.limit("iam CreateRole.MaxSessionDuration").max == 43200
    window = aws_limits.limit("kms ScheduleKeyDeletion.PendingWindowInDays")
    assert (window.min, window.max, window.narrows) == (7, 30, True)
    assert aws_limits.check(35000, "apigatewayv2 CreateIntegration.TimeoutInMillis") == (
        "above AWS's maximum of 30000 "
        "(apigatewayv2 CreateIntegration.TimeoutInMillis in botocore's service model)"
    )
    assert aws_limits.check(30000, "apigatewayv2 CreateIntegration.TimeoutInMillis") is None
    assert str(aws_limits.check(2, "logs PutRetentionPolicy.retentionInDays")).startswith(
        "not one of 1, 3, 5"
    )
    assert str(aws_limits.check("quiet", "cloudwatch PutMetricAlarm.TreatMissingData")).startswith(
        "not one of"
    )


def _findings(graph):
    for resource in graph.resources:
        for finding in aws_limits.check_resource(resource["type"], resource["inputs"]):
            yield resource, finding


def test_every_value_in_every_fixture_graph_is_one_aws_accepts(fixture_graph):
    found = list(_findings(fixture_graph))
    assert [f"{r['name']} {f.input}={f.value}: {f.problem}" for r, f in found if f.problem] == []
    inputs = {f.input.split("[")[0] for _, f in found}
    # numbers and enums are checked, not only names: alarms' periods, the integrations' timeout, retention
    assert {
        "period",
        "evaluationPeriods",
        "timeoutMilliseconds",
        "retentionInDays",
        "metricQueries",
    } <= inputs


@pytest.mark.live
def test_every_value_in_every_live_graph_is_one_aws_accepts(graphs):
    for stack, graph in graphs.items():
        assert [f"{r['name']} {f.input}: {f.problem}" for r, f in _findings(graph) if f.problem] == [], stack


def _with(graph, typ, name, change):
    import copy

    resources = copy.deepcopy(graph.resources)
    change(next(r for r in resources if r["type"] == typ and r["name"] == name)["inputs"])
    return resources


ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.mark.parametrize(
    "typ, name, change, line",
    [
        (
            "aws:apigatewayv2/integration:Integration",
            "photos",
            lambda i: i.update(timeoutMilliseconds=35000),
            "aws:apigatewayv2/integration:Integration photos: timeoutMilliseconds = 35000 is above AWS's "
            "maximum of 30000",
        ),
        (  # the last metric query of several
            ALARM,
            "greeter-5xx/greet",
            lambda i: i["metricQueries"][-2]["metric"].update(period=0),
            f"{ALARM} greeter-5xx/greet: metricQueries[3].metric.period = 0 is below AWS's minimum of 1",
        ),
        (
            ALARM,
            "nodes-not-ready",
            lambda i: i.update(treatMissingData="quiet"),
            f"{ALARM} nodes-not-ready: treatMissingData = quiet is not one of breaching",
        ),
        (
            "aws:cloudwatch/logGroup:LogGroup",
            "performance",
            lambda i: i.update(retentionInDays=45),
            "aws:cloudwatch/logGroup:LogGroup performance: retentionInDays = 45 is not one of 1, 3",
        ),
        (
            "aws:ec2/launchTemplate:LaunchTemplate",
            "general",
            lambda i: i["metadataOptions"].update(httpPutResponseHopLimit=65),
            "aws:ec2/launchTemplate:LaunchTemplate general: metadataOptions.httpPutResponseHopLimit = 65 is "
            "above AWS's maximum of 64",
        ),
    ],
    ids=["integration-timeout", "last-query-period", "missing-data-enum", "retention", "hop-limit"],
)
def test_synth_refuses_a_value_aws_refuses_with_one_line(fixture_graphs, typ, name, change, line):
    from tools.offline.engine import _refused_by_aws

    lines = _refused_by_aws(_with(fixture_graphs["small"], typ, name, change))
    assert len(lines) == 1 and lines[0].startswith(line), lines


def test_public_subnets_are_never_smaller_than_aws_allows(fixture_graph):
    import ipaddress

    from infra.network import subnet_plan

    # the largest prefix the settings accept still gives /28 public subnets, AWS's smallest
    assert {subnet_plan(ipaddress.IPv4Network("10.0.0.0/22"), i).public.prefixlen for i in range(6)} == {28}
    cidrs = [r["inputs"]["cidrBlock"] for r in fixture_graph.of_type("aws:ec2/subnet:Subnet")]
    assert cidrs and all(16 <= ipaddress.ip_network(c).prefixlen <= 28 for c in cidrs)
