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


def test_documented_limits_fill_only_what_the_models_leave_out():
    table = yaml.safe_load((ROOT / "settings/data/aws_names.yaml").read_text())
    for member in table["documented"]:
        found = aws_limits.limit(member)  # raises if the model grew a constraint of its own
        assert (
            found.documented and member in found.source and "botocore's model sets no limit" in found.source
        )
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
    (finding,) = aws_limits.check_resource(repository["type"], inputs)
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
