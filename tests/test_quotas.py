"""AWS's limits on counts (settings/data/aws_quotas.yaml, tools/offline/quotas.py): the platform at 100 APIs
of three public paths stays under every hard limit and names the adjustable quotas it outgrows; a graph over a
hard limit is refused with one line per limit."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from collections import Counter, defaultdict

import pytest
import yaml
from conftest import FIXTURE, fixture_config

from tools import synth
from tools.offline import Graph
from tools.offline.quotas import check

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
APIS, PATHS = 100, 3


@pytest.fixture(scope="module")
def hundred_apis(tmp_path_factory) -> tuple[int, Graph, str]:
    """`python -m tools.synth dev` of the fixture project plus 100 copies of greeter (ten namespaces), each
    with three public paths: one synth, shared by the assertions below (the slowest synth of the suite)."""
    root = tmp_path_factory.mktemp("hundred")
    (root / "workloads").mkdir()
    for name in ("__main__.py", "Pulumi.yaml"):
        (root / name).symlink_to(FIXTURE / name)
    catalog = yaml.safe_load((FIXTURE / "workloads/catalog.yaml").read_text())
    template = catalog["apis"]["greeter"]
    config = fixture_config("small")
    for i in range(APIS):
        name = f"api-{i:03d}"
        catalog["apis"][name] = {
            **copy.deepcopy(template),
            "namespace": f"domain-{i % 10}",
            "port": 6000 + i,
            "public": {"paths": [f"/{name}/{part}" for part in ("a", "b", "c")[:PATHS]]},
        }
        config["picturesocial:apis"][name] = {"tag": "1.0.0"}
    (root / "workloads" / "catalog.yaml").write_text(yaml.safe_dump(catalog))
    (root / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = synth.main(["dev", "--project", str(root), "--out", str(root / "build")])
    graph_file = root / "build" / "graph.json"
    body = json.loads(graph_file.read_text()) if graph_file.exists() else {"resources": [], "outputs": {}}
    graph = Graph(project="picturesocial", stack="dev", resources=body["resources"], outputs=body["outputs"])
    return code, graph, err.getvalue()


@pytest.mark.slow  # shares one synth of ~2,900 resources (module fixture)
def test_100_apis_of_3_public_paths_synthesize(hundred_apis):
    code, graph, stderr = hundred_apis
    assert code == 0, stderr
    assert len(graph.of_type("aws:apigatewayv2/route:Route")) == 2 * PATHS * APIS + 6  # + the fixture's 6


@pytest.mark.slow  # shares one synth of ~2,900 resources (module fixture)
def test_at_100_apis_no_alarm_references_more_than_10_metrics(hundred_apis):
    _, graph, _ = hundred_apis
    alarms = graph.of_type(ALARM)
    assert len(alarms) > 2 * PATHS * APIS
    for alarm in alarms:
        metrics = [q for q in alarm["inputs"].get("metricQueries") or [] if q.get("metric")]
        assert len(metrics) <= 10, alarm["name"]


def rules_per_group(graph: Graph) -> Counter[tuple[str, str]]:
    rules: Counter[tuple[str, str]] = Counter()
    for group in graph.of_type(SECURITY_GROUP):
        for direction in ("ingress", "egress"):
            rules[(group["id"], direction)] += len(group["inputs"].get(direction) or [])
    for typ, direction in ((INGRESS, "ingress"), (EGRESS, "egress")):
        for rule in graph.of_type(typ):
            rules[(rule["inputs"]["securityGroupId"], direction)] += 1
    return rules


@pytest.mark.slow  # shares one synth of ~2,900 resources (module fixture)
def test_at_100_apis_no_security_group_has_more_than_60_rules_in_a_direction(hundred_apis):
    _, graph, _ = hundred_apis
    rules = rules_per_group(graph)
    assert rules and max(rules.values()) <= 60, rules.most_common(3)


def iam_size(document: str) -> int:
    return len(re.sub(r"\s", "", document))  # IAM does not count white space


@pytest.mark.slow  # shares one synth of ~2,900 resources (module fixture)
def test_at_100_apis_every_iam_document_is_within_its_size(hundred_apis):
    _, graph, _ = hundred_apis
    inline: defaultdict[str, int] = defaultdict(int)
    for policy in graph.of_type(ROLE_POLICY):
        inline[policy["inputs"]["role"]] += iam_size(policy["inputs"]["policy"])
    assert inline and max(inline.values()) <= 10_240
    for policy in graph.of_type(POLICY):
        assert iam_size(policy["inputs"]["policy"]) <= 6_144, policy["name"]
    for role in graph.of_type(ROLE):
        assert iam_size(role["inputs"]["assumeRolePolicy"]) <= 2_048, role["name"]


@pytest.mark.slow  # shares one synth of ~2,900 resources (module fixture)
def test_at_100_apis_the_output_names_the_routes_and_nlb_quotas_with_the_stacks_counts(hundred_apis):
    _, _, stderr = hundred_apis
    lines = [line for line in stderr.splitlines() if line.startswith("warning: quota ")]
    routes = [line for line in lines if '"Routes per API"' in line]
    nlbs = [line for line in lines if '"Network Load Balancers per Region"' in line]
    # 606 routes: 2 per path, 300 paths, and the fixture's 3 paths; 102 NLBs: the 100 copies, greeter, photos.
    assert len(routes) == 1 and "default 300" in routes[0] and "needs 606" in routes[0], stderr
    assert len(nlbs) == 1 and "default 50" in nlbs[0] and "needs 102" in nlbs[0], stderr


# -- each gate, on a copy of the fixture graph with one instance of several made too big ------------------


def _graph(fixture_graphs, stack: str = "large") -> Graph:
    graph = fixture_graphs[stack]
    return Graph(
        project=graph.project, stack=graph.stack, resources=copy.deepcopy(graph.resources), outputs={}
    )


def test_the_fixture_graphs_are_within_every_limit_and_quota(fixture_graphs):
    for stack in ("small", "large"):
        assert check(_graph(fixture_graphs, stack)) == ([], []), stack


def test_an_alarm_of_11_metrics_is_refused_naming_it(fixture_graphs):
    graph = _graph(fixture_graphs)
    alarm = next(r for r in graph.of_type(ALARM) if r["name"] == "photos-5xx/photos")
    metric = next(q for q in alarm["inputs"]["metricQueries"] if q.get("metric"))
    alarm["inputs"]["metricQueries"] += [{**metric, "id": f"extra{i}"} for i in range(7)]
    problems, _ = check(graph)
    assert len(problems) == 1, problems
    assert "MetricAlarm photos-5xx/photos" in problems[0] and "is 11, over AWS's limit of 10" in problems[0]


def test_a_security_group_of_61_rules_in_one_direction_is_refused_naming_it(fixture_graphs):
    graph = _graph(fixture_graphs)
    rule = next(r for r in graph.resources if r["type"] == EGRESS)
    graph.resources += [{**copy.deepcopy(rule), "name": f"extra-{i}"} for i in range(60)]
    problems, _ = check(graph)
    assert len(problems) == 1 and "SecurityGroup vpc-link (egress)" in problems[0], problems
    assert "is 61, over AWS's limit of 60" in problems[0]


def test_a_role_whose_inline_policies_pass_10240_characters_is_refused_naming_it(fixture_graphs):
    graph = _graph(fixture_graphs)
    policy = next(r for r in graph.of_type(ROLE_POLICY) if r["name"] == "photos")
    document = json.loads(policy["inputs"]["policy"])
    statement = document["Statement"][0]
    document["Statement"] += [{**statement, "Sid": f"S{i}"} for i in range(120)]
    policy["inputs"]["policy"] = json.dumps(document)
    problems, _ = check(graph)
    assert len(problems) == 1 and "Role photos" in problems[0] and "limit of 10240" in problems[0], problems


def test_a_trust_policy_over_2048_characters_is_a_warning_naming_the_quota(fixture_graphs):
    graph = _graph(fixture_graphs)
    role = next(r for r in graph.of_type(ROLE) if r["name"] == "photos")
    document = json.loads(role["inputs"]["assumeRolePolicy"])
    document["Statement"] *= 8
    role["inputs"]["assumeRolePolicy"] = json.dumps(document)
    problems, warnings = check(graph)
    assert problems == [] and len(warnings) == 1, warnings
    assert '"Role trust policy length" (iam): default 2048' in warnings[0] and "Role photos" in warnings[0]


def test_a_kubernetes_object_name_over_253_characters_is_refused(fixture_graphs):
    graph = _graph(fixture_graphs)
    config_map = next(r for r in graph.resources if r["type"] == "kubernetes:core/v1:ConfigMap")
    config_map["inputs"]["metadata"]["name"] = "x" * 254
    problems, _ = check(graph)
    assert len(problems) == 1 and "is 254, over AWS's limit of 253" in problems[0], problems


def test_a_graph_over_a_hard_limit_fails_the_synth_with_exit_2_and_one_line(tmp_path, monkeypatch, capsys):
    """End to end through `python -m tools.synth`: the engine refuses, the CLI prints one `error:` line."""
    from tools.offline import quotas

    real = quotas.check
    monkeypatch.setattr(
        quotas, "check", lambda graph: (real(graph)[0] + ["MetricAlarm x: metrics ... is 11"], [])
    )
    code = synth.main(["small", "--project", str(FIXTURE), "--out", str(tmp_path)])
    assert code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == ["error: MetricAlarm x: metrics ... is 11"]


def test_a_catalog_whose_role_policy_outgrows_iam_is_refused_by_the_synth_with_one_line(
    project_copy, tmp_path, capsys
):
    """End to end, from a catalog: photos given 80 DynamoDB tables needs an inline policy of more than 10,240
    characters, which IAM refuses; the synth exits 2 with one line naming the role."""
    catalog = yaml.safe_load((FIXTURE / "workloads/catalog.yaml").read_text())
    for i in range(80):
        catalog["tables"][f"t{i:03d}"] = {"hashKey": "id"}
        catalog["apis"]["photos"]["aws"]["dynamodb"][f"t{i:03d}"] = ["GetItem", "Query", "PutItem"]
    root = project_copy(catalog=catalog)
    code = synth.main(["small", "--project", str(root), "--out", str(tmp_path / "out")])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1, errors
    assert "Role photos" in errors[0] and "limit of 10240" in errors[0]
