"""The public edge (fixture project: `small` plain, `large` with CORS, a custom domain and a JWT authorizer):
client -> API Gateway HTTP API -> VPC link -> an API's internal NLB -> its pods."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import FIXTURE
from graphq import SERVICE, SUBNET, k8s, one

from tools import ROOT
from tools.diff import diff
from tools.offline import synthesize
from tools.synth import route_rows

API = "aws:apigatewayv2/api:Api"
ROUTE = "aws:apigatewayv2/route:Route"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
STAGE = "aws:apigatewayv2/stage:Stage"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def test_each_public_path_is_two_routes_to_its_apis_integration(fixture_graphs):
    assert route_rows(fixture_graphs["small"]) == [
        ("ANY /greet", "greeter", "none"),
        ("ANY /greet/{proxy+}", "greeter", "none"),
        ("ANY /hello", "greeter", "none"),
        ("ANY /hello/{proxy+}", "greeter", "none"),
        ("ANY /photos", "photos", "none"),
        ("ANY /photos/{proxy+}", "photos", "none"),
    ]
    assert fixture_graphs["small"].outputs["routes"] == {
        "ANY /greet": "greeter",
        "ANY /greet/{proxy+}": "greeter",
        "ANY /hello": "greeter",
        "ANY /hello/{proxy+}": "greeter",
        "ANY /photos": "photos",
        "ANY /photos/{proxy+}": "photos",
    }


def test_the_jwt_authorizer_guards_every_route_but_the_anonymous_ones_and_the_cors_preflights(fixture_graphs):
    # large has CORS and a JWT authorizer: a browser's OPTIONS preflight carries no token, so each path has
    # OPTIONS routes without authorization beside its ANY routes (API Gateway, "Configure CORS for HTTP
    # APIs").
    assert route_rows(fixture_graphs["large"]) == [
        ("ANY /greet", "greeter", "JWT"),
        ("ANY /greet/{proxy+}", "greeter", "JWT"),
        ("ANY /hello", "greeter", "none"),
        ("ANY /hello/{proxy+}", "greeter", "none"),
        ("ANY /photos", "photos", "JWT"),
        ("ANY /photos/{proxy+}", "photos", "JWT"),
        ("OPTIONS /greet", "greeter", "none"),
        ("OPTIONS /greet/{proxy+}", "greeter", "none"),
        ("OPTIONS /hello", "greeter", "none"),
        ("OPTIONS /hello/{proxy+}", "greeter", "none"),
        ("OPTIONS /photos", "photos", "none"),
        ("OPTIONS /photos/{proxy+}", "photos", "none"),
    ]
    for route in fixture_graphs["large"].of_type(ROUTE):
        if route["inputs"]["routeKey"].startswith("OPTIONS "):
            assert route["inputs"]["authorizationType"] == "NONE" and "authorizerId" not in route["inputs"]
    authorizer = one(fixture_graphs["large"], "aws:apigatewayv2/authorizer:Authorizer", "jwt")["inputs"]
    assert authorizer["authorizerType"] == "JWT"
    assert authorizer["identitySources"] == ["$request.header.Authorization"]
    assert authorizer["jwtConfiguration"] == {
        "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
        "audiences": ["picturesocial-web"],
    }


def test_the_integration_goes_through_the_vpc_link_to_the_nlbs_port_80_listener(fixture_graphs):
    graph = fixture_graphs["small"]
    link = one(graph, "aws:apigatewayv2/vpcLink:VpcLink", "vpc-link")
    integration = one(graph, INTEGRATION, "photos")
    inputs = integration["inputs"]
    assert (inputs["integrationType"], inputs["connectionType"], inputs["connectionId"]) == (
        "HTTP_PROXY",
        "VPC_LINK",
        link["id"],
    )
    assert inputs["payloadFormatVersion"] == "1.0"
    # The listener found by the NLB's deterministic name (the offline engine answers the lookups).
    assert inputs["integrationUri"].startswith(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/picturesocial-small-photos/"
    )
    service = next(r for r in graph.of_type(SERVICE) if r["name"] == "photos-lb")
    assert service["urn"] in integration["dependencies"]


def test_the_vpc_link_sits_in_the_private_subnets(fixture_graphs):
    graph = fixture_graphs["small"]
    private = sorted(s["id"] for s in graph.of_type(SUBNET) if s["name"].startswith("private-"))
    link = one(graph, "aws:apigatewayv2/vpcLink:VpcLink", "vpc-link")["inputs"]
    assert sorted(link["subnetIds"]) == private and link["name"] == "picturesocial-small"


def test_without_cors_or_without_jwt_there_are_no_options_routes(fixture_graphs):
    # small has neither; CORS alone leaves preflights to API Gateway (no route carries an authorizer).
    assert not [
        r for r in fixture_graphs["small"].of_type(ROUTE) if r["inputs"]["routeKey"].startswith("OPTIONS")
    ]


def test_every_exposed_nlb_is_named_and_a_public_one_sits_behind_the_edges_security_group(fixture_graphs):
    graph = fixture_graphs["small"]
    group = one(graph, SECURITY_GROUP, "public-nlb")
    for api in ("greeter", "photos"):
        namespace = "front" if api == "greeter" else "media"
        annotations = k8s(graph, SERVICE, f"{api}-lb", namespace)["metadata"]["annotations"]
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-security-groups"] == group["id"], api
    photos = k8s(graph, SERVICE, "photos-lb", "media")["metadata"]["annotations"]
    assert photos["service.beta.kubernetes.io/aws-load-balancer-name"] == "picturesocial-small-photos"
    assert (
        photos["service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules"] == "true"
    )
    assert photos["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"


def test_the_nlbs_admit_port_80_from_the_vpc_link_only_and_the_link_reaches_only_the_nlbs(fixture_graphs):
    # One shared frontend group, one rule each way, whatever the number of public APIs (docs/decisions/0027).
    graph = fixture_graphs["small"]
    link = one(graph, SECURITY_GROUP, "vpc-link")["id"]
    group = one(graph, SECURITY_GROUP, "public-nlb")["id"]
    ingress = [
        (r["inputs"]["referencedSecurityGroupId"], r["inputs"]["fromPort"], r["inputs"]["toPort"])
        for r in graph.of_type(INGRESS)
        if r["inputs"]["securityGroupId"] == group
    ]
    assert ingress == [(link, 80, 80)]
    egress = [
        (r["inputs"]["referencedSecurityGroupId"], r["inputs"]["fromPort"], r["inputs"]["toPort"])
        for r in graph.of_type(EGRESS)
        if r["inputs"]["securityGroupId"] == link
    ]
    assert egress == [(group, 80, 80)]
    for r in graph.of_type(INGRESS) + graph.of_type(EGRESS):
        assert "cidrIpv4" not in r["inputs"], r["name"]  # security groups only, no address range


def test_the_stage_throttles_and_writes_json_access_logs_with_a_retention(fixture_graphs):
    graph = fixture_graphs["large"]
    stage = one(graph, STAGE, "default")["inputs"]
    assert (stage["name"], stage["autoDeploy"]) == ("$default", True)
    assert stage["defaultRouteSettings"] == {
        "throttlingBurstLimit": 400,
        "throttlingRateLimit": 150.5,
        "detailedMetricsEnabled": True,
    }
    logs = one(graph, "aws:cloudwatch/logGroup:LogGroup", "access-logs")
    assert logs["inputs"]["retentionInDays"] == 90
    assert stage["accessLogSettings"]["destinationArn"] == (
        "arn:aws:logs:eu-west-1:210987654321:log-group:/aws/apigateway/picturesocial-large/access"
    )
    assert json.loads(stage["accessLogSettings"]["format"])["status"] == "$context.status"


def test_a_custom_domain_maps_the_stage_with_tls_1_2_and_an_alias_record(fixture_graphs):
    graph = fixture_graphs["large"]
    domain = one(graph, "aws:apigatewayv2/domainName:DomainName", "domain")["inputs"]
    assert domain["domainName"] == "api.example.com"
    assert domain["domainNameConfiguration"]["securityPolicy"] == "TLS_1_2"
    assert domain["domainNameConfiguration"]["endpointType"] == "REGIONAL"
    record = one(graph, "aws:route53/record:Record", "domain")["inputs"]
    assert (record["name"], record["type"], record["zoneId"]) == (
        "api.example.com",
        "A",
        "Z0123456789ABCDEFGHIJ",
    )
    assert record["aliases"][0]["name"].endswith(".execute-api.eu-west-1.amazonaws.com")
    mapping = one(graph, "aws:apigatewayv2/apiMapping:ApiMapping", "domain")["inputs"]
    assert mapping["stage"] == "$default"
    api = one(graph, API, "http-api")["inputs"]
    assert api["disableExecuteApiEndpoint"] is True  # clients come through the domain only
    assert api["corsConfiguration"]["allowOrigins"] == ["https://app.example.com"]
    assert graph.outputs["apiUrl"] == "https://api.example.com"


def test_without_a_domain_the_url_is_the_execute_api_endpoint(fixture_graphs):
    outputs = fixture_graphs["small"].outputs
    assert outputs["apiUrl"] == outputs["apiEndpoint"]
    assert outputs["apiEndpoint"].endswith(".execute-api.us-east-1.amazonaws.com")
    assert not fixture_graphs["small"].of_type("aws:apigatewayv2/domainName:DomainName")


def test_each_public_path_alarms_on_its_5xx_rate_and_slowest_p99(fixture_graphs):
    graph = fixture_graphs["small"]
    api_id = one(graph, API, "http-api")["id"]
    alarms = {r["name"] for r in graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert {
        "greeter-5xx/greet",
        "greeter-5xx/hello",
        "greeter-latency/greet",
        "greeter-latency/hello",
    } <= alarms
    errors = one(graph, "aws:cloudwatch/metricAlarm:MetricAlarm", "photos-5xx/photos")["inputs"]
    assert errors["name"] == "picturesocial-small-photos-5xx/photos"
    queries = {q["id"]: q for q in errors["metricQueries"]}
    assert queries["errors0"]["metric"] == {
        "namespace": "AWS/ApiGateway",
        "metricName": "5xx",
        "dimensions": {"ApiId": api_id, "Stage": "$default", "Route": "ANY /photos"},
        "period": 300,
        "stat": "Sum",
    }
    assert queries["requests1"]["metric"]["dimensions"]["Route"] == "ANY /photos/{proxy+}"
    assert queries["rate"]["expression"] == (
        "IF((FILL(requests0, 0) + FILL(requests1, 0)) > 0, 100 * (FILL(errors0, 0) + FILL(errors1, 0)) / "
        "(FILL(requests0, 0) + FILL(requests1, 0)), 0)"
    )
    assert (errors["threshold"], errors["comparisonOperator"]) == (5, "GreaterThanThreshold")
    latency = one(graph, "aws:cloudwatch/metricAlarm:MetricAlarm", "photos-latency/photos")["inputs"]
    assert {q["id"]: q.get("expression") for q in latency["metricQueries"]}["slowest"] == "MAX([p990, p991])"
    assert latency["threshold"] == 2000


# -- adding a public path, as a pull request would ------------------------------------------------------


@pytest.fixture(scope="module")
def without_thumbs_public(tmp_path_factory):
    """The small stack before and after thumbs (made exposed) gains a public path."""
    catalog = yaml.safe_load((FIXTURE / "workloads/catalog.yaml").read_text())
    catalog["apis"]["thumbs"]["exposed"] = True
    graphs = []
    for public in (None, {"paths": ["/thumbs"]}):
        if public:
            catalog["apis"]["thumbs"]["public"] = public
        root = tmp_path_factory.mktemp("project")
        (root / "workloads").mkdir()
        for name in ("__main__.py", "Pulumi.yaml", "Pulumi.small.yaml"):
            (root / name).symlink_to(FIXTURE / name)
        (root / "workloads" / "catalog.yaml").write_text(yaml.safe_dump(catalog))
        graphs.append(json.loads(synthesize("small", root=root).to_json()))
    return graphs


def test_adding_a_public_path_is_creates_plus_the_services_annotations(without_thumbs_public):
    before, after = without_thumbs_public
    changes, _ = diff(before, after)
    assert not [c for c in changes if c.kind in ("replace", "delete")]
    created = sorted((c.type, c.urn.rsplit("::", 1)[-1]) for c in changes if c.kind == "create")
    assert created == [
        ("aws:apigatewayv2/integration:Integration", "thumbs"),
        (ROUTE, "ANY /thumbs"),
        (ROUTE, "ANY /thumbs/{proxy+}"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "thumbs-5xx/thumbs"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "thumbs-latency/thumbs"),
    ]
    updated = sorted(
        (c.type, c.urn.rsplit("::", 1)[-1], tuple(c.paths)) for c in changes if c.kind == "update"
    )
    # The Service gains the security-group annotations (the controller updates the NLB's groups in place);
    # the dashboard gains the API's route rows.
    assert updated == [
        ("aws:cloudwatch/dashboard:Dashboard", "dashboard", ("dashboardBody",)),
        (
            SERVICE,
            "thumbs-lb",
            (
                "metadata.annotations.service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules",
                "metadata.annotations.service.beta.kubernetes.io/aws-load-balancer-security-groups",
            ),
        ),
    ]


@pytest.mark.live
def test_every_live_stack_routes_exactly_the_catalogs_public_paths_through_the_vpc_link(graphs):
    catalog = yaml.safe_load((ROOT / "workloads" / "catalog.yaml").read_text())
    wanted = sorted(
        (f"ANY {path}{suffix}", name)
        for name, api in catalog["apis"].items()
        for path in (api.get("public") or {}).get("paths", [])
        for suffix in ("", "/{proxy+}")
    )
    preflight = {(f"OPTIONS {key.split(' ', 1)[1]}", name, "none") for key, name in wanted}
    for stack, graph in graphs.items():
        # Which routes a JWT guards is a stack's choice (picturesocial:edge.jwt): pinned on fixture stacks.
        rows = route_rows(graph)
        assert [row[:2] for row in rows if row[0].startswith("ANY ")] == wanted, stack
        # Beside them only CORS preflights (CORS with JWT): of those same paths, unguarded.
        assert {row for row in rows if not row[0].startswith("ANY ")} <= preflight, stack
        link = one(graph, "aws:apigatewayv2/vpcLink:VpcLink", "vpc-link")["id"]
        for integration in graph.of_type(INTEGRATION):
            assert integration["inputs"]["connectionId"] == link, (stack, integration["name"])


def test_each_public_alarm_watches_only_the_routes_of_its_own_path(fixture_graphs):
    # greeter has two paths: an alarm over both would reference 8 metrics, over three paths 12 (past the
    # CloudWatch limit of 10 per metric-math alarm).
    checked = 0
    for stack, graph in fixture_graphs.items():
        for alarm in graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
            name = alarm["name"]
            if "-5xx/" not in name and "-latency/" not in name:
                continue
            path = "/" + name.split("/", 1)[1]
            routes = {
                q["metric"]["dimensions"]["Route"]
                for q in alarm["inputs"]["metricQueries"]
                if q.get("metric")
            }
            assert routes == {f"ANY {path}", f"ANY {path}/{{proxy+}}"}, (stack, name, routes)
            checked += 1
    assert checked == 12  # 3 paths x 2 alarms x 2 stacks
