"""The offline synth: what it writes, that it is reproducible, that it fails as the engine would, and that the
program does not know it runs under mocks."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest
from conftest import FIXTURE
from graphq import reaches

from tools import ROOT
from tools.offline import SynthError, synthesize
from tools.offline.engine import Graph, tree_order
from tools.offline.estimate import critical_path


def run_synth(*args, cwd=ROOT, env=None):
    return subprocess.run(
        [sys.executable, "-m", "tools.synth", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env or {**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.slow
def test_two_runs_write_byte_identical_graphs_and_a_summary(tmp_path, fixture_graphs):
    first = run_synth("large", "--project", str(FIXTURE), "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    # Another process, another run (the session's): the same bytes.
    assert (tmp_path / "a" / "graph.json").read_text() == fixture_graphs["large"].to_json()
    assert "stack outputs" in first.stdout and "protected:" in first.stdout
    # The fake values are labelled as such where they are shown.
    vpc_row = next(line for line in first.stdout.splitlines() if "vpcId" in line)
    assert "vpc-" in vpc_row and "fake" in vpc_row
    region_row = next(line for line in first.stdout.splitlines() if line.startswith("│ region "))
    assert "fake" not in region_row
    assert (tmp_path / "a" / "manifests" / "_cluster" / "Namespace-media.yaml").exists()
    assert (tmp_path / "a" / "manifests" / "media" / "Deployment-photos.yaml").exists()


def test_graph_format(fixture_graphs):
    body = json.loads(fixture_graphs["small"].to_json())
    assert set(body) == {"project", "stack", "resources", "outputs"}
    assert (body["project"], body["stack"]) == ("picturesocial", "small")
    urns = [r["urn"] for r in body["resources"]]
    assert len(urns) == len(set(urns)) and body["resources"][0]["type"] == "pulumi:pulumi:Stack"
    keys = {
        "urn",
        "id",
        "type",
        "name",
        "parent",
        "custom",
        "remote",
        "provider",
        "providers",
        "dependencies",
        "protect",
        "retainOnDelete",
        "deleteBeforeReplace",
        "ignoreChanges",
        "replaceOnChanges",
        "aliases",
        "sdkTypeAliases",
        "inputs",
    }
    assert all(set(r) == keys for r in body["resources"])


def test_resources_come_in_component_tree_order_so_an_api_is_one_block(fixture_graphs):
    resources = fixture_graphs["small"].resources
    api_urn = next(
        r["urn"] for r in resources if r["type"] == "picturesocial:workloads:Api" and r["name"] == "photos"
    )
    position = [
        i
        for i, r in enumerate(resources)
        if r["urn"] == api_urn
        or r["parent"] == api_urn
        or (r["parent"] or "").endswith("InternalLoadBalancerService::photos-lb")
    ]
    assert position == list(range(position[0], position[0] + len(position)))  # contiguous
    assert tree_order(list(reversed(resources))) == resources  # a pure function of the resources


def test_sdk_type_aliases_are_kept_apart_from_the_programs_own(fixture_graph):
    hpa = next(r for r in fixture_graph.resources if r["type"].endswith("HorizontalPodAutoscaler"))
    assert hpa["aliases"] == [] and hpa["sdkTypeAliases"]  # pulumi-kubernetes' older API versions
    assert all(
        json.loads(a)["spec"]["type"].startswith("kubernetes:autoscaling/") for a in hpa["sdkTypeAliases"]
    )


def test_secrets_never_reach_the_graph(fixture_graph):
    text = fixture_graph.to_json()
    assert "get-token" not in text  # the kubeconfig is secret, as an input and as an output
    assert json.loads(text)["outputs"]["kubeconfig"] == "[secret]"


def test_every_dependency_points_at_a_recorded_resource(fixture_graph):
    urns = set(fixture_graph.by_urn())
    for resource in fixture_graph.resources:
        assert set(resource["dependencies"]) <= urns, resource["urn"]


PROVIDERLESS = """
import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

aws_provider = aws.Provider("aws", region="us-east-1")
aws.ec2.Vpc("orphan", cidr_block="10.0.0.0/16")                                   # no provider at all
eks.Cluster("eks", opts=pulumi.ResourceOptions(providers=[aws_provider]))         # aws only, no eks provider
aws.ec2.Vpc("fine", cidr_block="10.1.0.0/16", opts=pulumi.ResourceOptions(provider=aws_provider))
aws.get_availability_zones()                                                      # an invoke with none either
"""


def test_a_resource_or_component_without_a_provider_fails_as_the_engine_would(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text(
        "name: providerless\nruntime: python\nconfig:\n"
        "  pulumi:disable-default-providers:\n    value: [aws, eks]\n"
    )
    (tmp_path / "Pulumi.test.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(PROVIDERLESS)
    with pytest.raises(SynthError) as caught:
        synthesize("test", root=tmp_path)
    lines = str(caught.value).splitlines()
    assert lines == [
        "invoke aws:index/getAvailabilityZones:getAvailabilityZones: Default provider for 'aws' disabled. "
        "'aws:index/getAvailabilityZones:getAvailabilityZones' must use an explicit provider.",
        "urn:pulumi:test::providerless::pulumi:pulumi:Stack$aws:ec2/vpc:Vpc::orphan: Default provider for 'aws' disabled. "
        "'aws:ec2/vpc:Vpc' must use an explicit provider.",
        "urn:pulumi:test::providerless::pulumi:pulumi:Stack$eks:index:Cluster::eks: Default provider for 'eks' disabled. "
        "'eks:index:Cluster' must use an explicit provider.",
    ]


PROGRAM = [
    "__main__.py",
    *sorted(
        str(p.relative_to(ROOT)) for d in ("settings", "infra", "workloads") for p in (ROOT / d).rglob("*.py")
    ),
]


def test_the_program_never_imports_the_offline_engine_or_mocks():
    for path in PROGRAM:
        tree = ast.parse((ROOT / path).read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("tools", "tests")), f"{path} imports {name}"
                assert "mocks" not in name, f"{path} imports {name}"


def test_deploy_estimate_follows_the_longest_weighted_chain(fixture_graphs):
    graph = fixture_graphs["large"]
    total, chain = critical_path(graph)
    types = [r["type"] for r in chain]
    # The control plane, then a node group, dominate a from-scratch `pulumi up`.
    assert types.index("eks:index:Cluster") < types.index("aws:eks/nodeGroup:NodeGroup")
    assert 600 + 210 <= total <= 40 * 60
    # Each link of the chain really depends on the one before it.
    for earlier, later in zip(chain, chain[1:], strict=False):
        assert reaches(graph, later["urn"], earlier["urn"])


def test_estimate_weights_a_toy_graph():
    def res(urn, typ, deps=()):
        return {
            "urn": urn,
            "type": typ,
            "name": urn,
            "custom": True,
            "remote": False,
            "dependencies": list(deps),
        }

    toy = Graph(
        "p", "s", [res("a", "x"), res("b", "y", ["a"]), res("c", "z", ["a"]), res("d", "x", ["b", "c"])], {}
    )
    total, chain = critical_path(toy, {"x": 1, "y": 10, "z": 3})
    assert total == 12 and [r["urn"] for r in chain] == ["a", "b", "d"]


@pytest.mark.slow
def test_outside_the_virtualenv_a_tool_re_executes_itself_in_it():
    """`python3 -m tools.synth` from a plain interpreter runs in .venv, or says in one line what to do. Its
    --help shows where it ran: tools.synth imports the Pulumi SDK before parsing its arguments, and the plain
    interpreter has no Pulumi SDK (asserted first), so a usage line means the re-execution happened."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    # The interpreter the virtualenv was made from.
    plain = sys._base_executable  # type: ignore[attr-defined]
    assert subprocess.run([plain, "-c", "import pulumi"], capture_output=True).returncode != 0
    result = subprocess.run(
        [plain, "-m", "tools.synth", "--help"], cwd=ROOT, capture_output=True, text=True, env=env
    )
    if (ROOT / ".venv" / "bin" / "python").exists():
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("usage: python -m tools.synth")
    else:  # pragma: no cover - the suite runs in .venv
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and "make venv" in result.stderr


def test_an_offline_run_leaves_the_sdks_stack_walk_as_it_found_it():
    """The synth skips the SDK's stack walk for source positions during its run only (tools/offline/engine.py):
    after a run that succeeds and after one that fails, the process's SDK is the SDK again."""
    from pulumi.runtime import resource

    def the_sdks_own() -> bool:  # not whatever an earlier synth of this process may have left in its place
        walk = resource._get_stack_trace
        return (walk.__module__, walk.__name__) == ("pulumi.runtime.resource", "_get_stack_trace")

    assert the_sdks_own()
    synthesize("dev", root=ROOT / "bootstrap")
    assert the_sdks_own()
    with pytest.raises(SynthError):
        synthesize("small", root=FIXTURE, config_overrides={"picturesocial:network": {"cidr": "not a cidr"}})
    assert the_sdks_own()
