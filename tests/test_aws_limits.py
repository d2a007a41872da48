"""AWS's own name limits, from botocore's service models, over every stack's graph and over a big catalog."""

from __future__ import annotations

import pytest
import yaml

from settings import aws_limits
from tools.offline import SynthError, synthesize
from tools.offline.engine import ROOT


def test_limits_come_from_botocores_service_models():
    # Literal values as AWS documents them: the module must find them in the models, not carry them.
    role = aws_limits.limit("iam CreateRole.RoleName")
    assert (role.min, role.max, role.documented) == (1, 64, None)
    assert aws_limits.limit("eks CreateCluster.name").max == 100
    assert aws_limits.limit("ecr CreateRepository.repositoryName").max == 256
    assert aws_limits.limit("logs CreateLogGroup.logGroupName").max == 512
    assert aws_limits.check("Pictures/API", "ecr CreateRepository.repositoryName").startswith(
        "not matching AWS's pattern")


def test_documented_limits_fill_only_what_the_models_leave_out():
    table = yaml.safe_load((ROOT / "settings/data/aws_names.yaml").read_text())
    for member in table["documented"]:
        found = aws_limits.limit(member)  # raises if the model grew a constraint of its own
        assert found.documented and member in found.source and "botocore's model sets no limit" in found.source
    assert aws_limits.check("a" * 33, "elbv2 CreateLoadBalancer.Name") == (
        "33 characters long; AWS allows at most 32 (elbv2 CreateLoadBalancer.Name: ELB API reference, "
        "CreateLoadBalancer Name; botocore's model sets no limit)")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_name_in_every_stack_is_one_aws_accepts(graphs, stack):
    checked, problems = 0, []
    for resource in graphs[stack].resources:
        for finding in aws_limits.check_resource(resource["type"], resource["inputs"]):
            assert not finding.skipped, f"{resource['urn']} {finding.input} unknown at synth"
            checked += 1
            if finding.problem:
                problems.append(f"{resource['urn']} {finding.input}={finding.value!r}: {finding.problem}")
    assert problems == []
    assert checked >= 7  # cluster, log group, alias, two repositories, bucket, table


def test_a_name_aws_would_refuse_is_found_in_a_graph(graphs):
    repository = graphs["dev"].of_type("aws:ecr/repository:Repository")[0]
    inputs = {**repository["inputs"], "name": "picturesocial-dev/" + "x" * 250}
    (finding,) = aws_limits.check_resource(repository["type"], inputs)
    assert finding.problem.startswith("268 characters long; AWS allows at most 256")


def test_a_hundred_apis_with_the_longest_names_fit_or_are_refused_naming_the_api(tmp_path):
    catalog = yaml.safe_load((ROOT / "workloads/catalog.yaml").read_text())
    template = catalog["apis"]["helloworld"]
    for i in range(100):
        name = f"a{i:02d}" + "x" * 60  # 63 characters: the longest DNS-1035 label
        catalog["apis"][name] = {**template, "namespace": f"domain-{i % 10}", "port": 6000 + i}
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog))
    apis = {name: {"tag": "1.0.0"} for name in catalog["apis"]}
    try:
        graph = synthesize("dev", config_overrides={"picturesocial:apis": apis, "picturesocial:catalog": str(path)})
    except SynthError as exc:
        lines = str(exc).splitlines()
        assert lines and all(line.startswith(f"{path}: apis.a") for line in lines), lines[:3]
        # helloworld's copies are exposed: "<name>-lb" is 66 characters, over Kubernetes' 63 for a Service.
        assert lines[0].endswith("is 66 characters long; Kubernetes allows at most 63 (a DNS-1035 label)")
        return
    for resource in graph.resources:  # pragma: no cover - reached only if the catalog is accepted
        for finding in aws_limits.check_resource(resource["type"], resource["inputs"]):
            assert finding.problem is None, (resource["urn"], finding)
