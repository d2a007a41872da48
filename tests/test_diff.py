"""Blast radius and the guard: what a typical change does to a stack, read offline (fixture project)."""

from __future__ import annotations

import io
import json
import re

import pytest
import yaml
from conftest import FIXTURE, fixture_config, synth_fixture

from tools import ROOT
from tools.diff import diff, main, render, report
from tools.offline import synthesize


def body(graph):
    return json.loads(graph.to_json())


def changes_of(fixture_graphs, stack, **overrides):
    changes, _ = diff(body(fixture_graphs[stack]), body(synth_fixture(stack, **overrides)))
    return changes


def kinds(changes):
    return sorted((c.kind, c.type, c.urn.rsplit("::", 1)[-1]) for c in changes)


def test_bumping_one_tag_changes_that_deployment_and_the_tags_its_registry_keeps(fixture_graphs):
    apis = fixture_config("large")["picturesocial:apis"]
    apis["greeter"] = {**apis["greeter"], "tag": "2.0.1"}
    changes = changes_of(fixture_graphs, "large", apis=apis)
    # The image, and the registry's lifecycle policy: it now keeps 2.0.1 instead of 2.0.0 from expiring. The
    # provider has no update for a lifecycle policy (`policy` is ForceNew): a replacement, deleted first.
    assert kinds(changes) == [
        ("replace", "aws:ecr/lifecyclePolicy:LifecyclePolicy", "greeter"),
        ("update", "kubernetes:apps/v1:Deployment", "greeter"),
    ]
    change = next(c for c in changes if c.type == "kubernetes:apps/v1:Deployment")
    assert change.paths == [
        "spec.template.metadata.labels.app.kubernetes.io/version",
        "spec.template.spec.containers[0].image",
    ]
    assert change.values[1][1:] == (
        "210987654321.dkr.ecr.eu-west-1.amazonaws.com/picturesocial-large/greeter:2.0.0",
        "210987654321.dkr.ecr.eu-west-1.amazonaws.com/picturesocial-large/greeter:2.0.1",
    )


def test_a_tag_bumps_diff_line_shows_both_full_image_references(fixture_graphs):
    apis = fixture_config("large")["picturesocial:apis"]
    apis["greeter"] = {**apis["greeter"], "tag": "2.0.1"}
    out = io.StringIO()
    report(*diff(body(fixture_graphs["large"]), body(synth_fixture("large", apis=apis))), out=out)
    registry = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/picturesocial-large/greeter"
    assert f"      spec.template.spec.containers[0].image: {registry}:2.0.0 -> {registry}:2.0.1" in (
        out.getvalue().splitlines()
    )


def policy_change(fixture_graphs, edit):
    """The diff's lines for the photos API's role policy, edited by ``edit`` (a function of the document)."""
    old = body(fixture_graphs["large"])
    new = json.loads(json.dumps(old))
    role_policy = next(
        r
        for r in new["resources"]
        if r["type"] == "aws:iam/rolePolicy:RolePolicy" and r["urn"].endswith("::photos")
    )
    document = json.loads(role_policy["inputs"]["policy"])
    edit(document)
    role_policy["inputs"]["policy"] = json.dumps(document)
    out = io.StringIO()
    report(*diff(old, new), out=out)
    return [line for line in out.getvalue().splitlines() if line.startswith("      ")]


def test_a_policy_change_shows_the_changed_statement_not_two_truncated_strings(fixture_graphs):
    def widen(document):
        document["Statement"][0]["Action"] = ["rekognition:DetectLabels", "rekognition:DetectFaces"]

    def add(document):
        document["Statement"].append(
            {"Sid": "Extra", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}
        )

    assert policy_change(fixture_graphs, widen) == [
        "      policy Statement[0].Action[1]: + rekognition:DetectFaces"
    ]
    n = len(
        json.loads(
            next(
                r
                for r in fixture_graphs["large"].resources
                if r["type"] == "aws:iam/rolePolicy:RolePolicy" and r["urn"].endswith("::photos")
            )["inputs"]["policy"]
        )["Statement"]
    )
    assert policy_change(fixture_graphs, add) == [
        f'      policy Statement[{n}]: + {{"Action": "s3:ListBucket", "Effect": "Allow", "Resource": "*", '
        '"Sid": "Extra"}'
    ]


def test_text_of_several_lines_is_shown_as_a_unified_diff():
    assert render("userData", "a\nb\nc\n", "a\nB\nc\n") == [
        "      userData:",
        "        @@ -1,3 +1,3 @@",
        "         a",
        "        -b",
        "        +B",
        "         c",
    ]


def test_raising_a_node_groups_max_size_is_one_in_place_update(fixture_graphs):
    groups = fixture_config("large")["picturesocial:nodeGroups"]
    changes = changes_of(
        fixture_graphs, "large", nodeGroups={**groups, "general": {**groups["general"], "maxSize": 12}}
    )
    assert kinds(changes) == [("update", "aws:eks/nodeGroup:NodeGroup", "general")]
    assert changes[0].paths == ["scalingConfig.maxSize"] and changes[0].values == [
        ("scalingConfig.maxSize", 9, 12)
    ]
    assert not changes[0].guarded


def test_changing_instance_types_replaces_that_node_group_only(fixture_graphs):
    groups = fixture_config("large")["picturesocial:nodeGroups"]
    changes = changes_of(
        fixture_graphs,
        "large",
        nodeGroups={**groups, "general": {**groups["general"], "instanceTypes": ["m7i.large"]}},
    )
    # Auto-named, so the new group is created before the old one is drained: no acknowledgement needed.
    assert kinds(changes) == [("replace", "aws:eks/nodeGroup:NodeGroup", "general")]


def test_a_new_vpc_cidr_replaces_everything_that_depends_on_the_subnets_and_the_guard_stops_it(
    fixture_graphs,
):
    network = {**fixture_config("small")["picturesocial:network"], "cidr": "10.51.0.0/16"}
    changes = changes_of(fixture_graphs, "small", network=network)
    replaced = {c.urn.rsplit("::", 1)[-1]: c for c in changes if c.kind == "replace"}
    # The node group and the cluster get new subnet ids, which EKS cannot change in place.
    assert {"vpc", "eks", "general", "nat-use1-az1"} <= set(replaced)
    subnets = {"private-use1-az1", "private-use1-az2", "public-use1-az1", "public-use1-az2"}
    assert subnets <= set(replaced)
    assert replaced["general"].because == sorted(
        c.urn
        for c in changes
        if c.urn.endswith(("::private-use1-az1", "::private-use1-az2")) and "Subnet" in c.type
    )
    assert {c.urn.rsplit("::", 1)[-1] for c in changes if c.guarded} == {"vpc", "eks"}


@pytest.fixture
def graph_dirs(fixture_graphs, tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    (old / "graph.json").write_text(fixture_graphs["large"].to_json())
    changed = body(fixture_graphs["large"])
    changed["resources"] = [r for r in changed["resources"] if r["type"] != "aws:dynamodb/table:Table"]
    (new / "graph.json").write_text(json.dumps(changed))
    table_urn = next(
        r["urn"] for r in fixture_graphs["large"].resources if r["type"] == "aws:dynamodb/table:Table"
    )
    return old, new, table_urn


def test_guard_exits_3_when_a_table_would_be_deleted_and_prints_a_shell_ready_allow(graph_dirs, capsys):
    old, new, urn = graph_dirs
    assert main([str(old), str(new)]) == 3
    out = capsys.readouterr().out
    assert f"- delete {urn}" in out
    assert (
        f"blocked: delete of aws:dynamodb/table:Table {urn} (protected or stateful; acknowledge with "
        f"--allow '{urn}=delete')" in out
    )
    last = out.strip().splitlines()[-1]
    assert last.startswith("0 to create, 0 to update, 0 to replace, 1 to delete, ")


def test_guard_lets_an_acknowledged_deletion_through(graph_dirs, capsys):
    old, new, urn = graph_dirs
    assert main([str(old), str(new), "--allow", f"{urn}=delete"]) == 0
    assert f"- delete {urn} [acknowledged]" in capsys.readouterr().out


def test_an_acknowledgement_that_matches_no_blocked_change_is_refused_with_exit_2(graph_dirs, capsys):
    old, new, urn = graph_dirs
    # Nothing changes (old -> old): the acknowledgement is left over from a change already deployed.
    assert main([str(old), str(old), "--allow", f"{urn}=delete"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: --allow: {urn}=delete matched no blocked change: it acknowledges a change this diff does "
        "not make (deployed already, or changed since): remove it"
    ]


def test_an_acknowledgement_names_the_change_not_only_the_urn(graph_dirs, tmp_path, capsys):
    old, new, urn = graph_dirs
    # The table's URN acknowledged for a replacement by its hash key: its deletion is still blocked (3, which
    # wins over the left-over acknowledgement's 2), and the file's line is named.
    allow = tmp_path / "guard-allow.txt"
    allow.write_text(f"# reviewed in the pull request\n{urn}=hashKey\n")
    assert main([str(old), str(new), "--allow-file", str(allow)]) == 3
    captured = capsys.readouterr()
    assert f"blocked: delete of aws:dynamodb/table:Table {urn}" in captured.out
    assert captured.err.startswith(f"error: {allow}:2: {urn}=hashKey matched no blocked change")
    # A bare URN, as the old file format held, acknowledges nothing: bad input.
    allow.write_text(f"{urn}\n")
    assert main([str(old), str(new), "--allow-file", str(allow)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {allow}:1: '{urn}' is not an acknowledgement")


def test_renaming_an_api_is_caught_by_the_guard(fixture_graphs, project_copy):
    catalog = yaml.safe_load((FIXTURE / "workloads/catalog.yaml").read_text())
    catalog["apis"]["images"] = catalog["apis"].pop("photos")
    config = fixture_config("large")
    config["picturesocial:apis"]["images"] = config["picturesocial:apis"].pop("photos")
    renamed = synthesize("large", root=project_copy(catalog=catalog, stacks={"large": config}))
    changes, _ = diff(body(fixture_graphs["large"]), body(renamed))
    deleted = {(c.type, c.urn.rsplit("::", 1)[-1]) for c in changes if c.kind == "delete"}
    assert ("kubernetes:apps/v1:Deployment", "photos") in deleted
    assert ("aws:ecr/repository:Repository", "photos") in deleted
    assert any(c.guarded for c in changes)


def test_a_resource_type_missing_from_the_table_is_reported_not_guessed(fixture_graphs):
    old, new = body(fixture_graphs["small"]), body(fixture_graphs["small"])
    target = next(r for r in new["resources"] if r["type"] == "aws:ec2/vpc:Vpc")
    target["inputs"] = {**target["inputs"], "cidrBlock": "10.99.0.0/16"}
    (change,) = diff(old, new, table={})[0]
    assert change.kind == "update" and change.unknown
    assert "[unknown replacement behaviour]" in change.line()


def test_an_alias_keeps_a_renamed_resource(fixture_graphs):
    old, new = body(fixture_graphs["small"]), body(fixture_graphs["small"])
    vpc = next(r for r in new["resources"] if r["type"] == "aws:ec2/vpc:Vpc")
    old_urn = vpc["urn"]
    vpc["urn"] = old_urn.rsplit("::", 1)[0] + "::main-vpc"
    vpc["aliases"] = [json.dumps({"spec": {"name": "vpc"}})]
    assert diff(old, new)[0] == []
    vpc["aliases"] = []
    assert {c.kind for c in diff(old, new)[0]} == {"create", "delete"}


def test_a_replaced_provider_replaces_what_it_manages(fixture_graphs):
    old, new = body(fixture_graphs["small"]), body(fixture_graphs["small"])
    provider = next(r for r in new["resources"] if r["type"] == "pulumi:providers:kubernetes")
    provider["inputs"] = {**provider["inputs"], "clusterIdentifier": "another-cluster"}
    changes, _ = diff(old, new)
    managed = {r["urn"] for r in new["resources"] if r.get("provider") == provider["urn"]}
    assert {c.urn for c in changes if c.kind == "replace"} == managed | {provider["urn"]}
    assert all(provider["urn"] in c.because for c in changes if c.urn in managed)


@pytest.mark.slow
def test_diff_against_a_git_ref_synthesizes_both_sides(capsys):
    # The bootstrap project: the smaller of the two, through the same code path (a base worktree synthesized
    # in a process of its own, the working tree in this one); --project keeps the other project out.
    code = main(["--base", "HEAD", "--stack", "dev", "--project", "bootstrap"])
    out, err = capsys.readouterr()
    assert code in (0, 3), err
    lines = out.strip().splitlines()
    assert lines[0] == "== bootstrap/dev: HEAD -> working tree"
    assert not any(line.startswith("== dev") for line in lines)
    assert lines[-2].endswith("unchanged") and " to create, " in lines[-2]
    # each stack's section ends with its monthly cost, before and after (tools/cost.py)
    assert re.fullmatch(
        r"cost: \$[\d,]+\.\d\d -> \$[\d,]+\.\d\d per month \([+-]\$[\d,]+\.\d\d\).*", lines[-1]
    )


# The guard's one stateful set (policy/baseline STATEFUL), written out: a test reading it from the code
# would pass whatever the set held.
STATEFUL = [
    "aws:ec2/vpc:Vpc",
    "eks:index:Cluster",
    "aws:kms/key:Key",
    "aws:ecr/repository:Repository",
    "aws:s3/bucket:Bucket",
    "aws:dynamodb/table:Table",
    "kubernetes:core/v1:Namespace",
]
# An input whose change replaces each of them (tools/data/replacement_inputs.yaml).
FORCING = {
    "aws:ec2/vpc:Vpc": "cidrBlock",
    "eks:index:Cluster": "name",
    "aws:kms/key:Key": "customerMasterKeySpec",
    "aws:ecr/repository:Repository": "name",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:dynamodb/table:Table": "hashKey",
    "kubernetes:core/v1:Namespace": "metadata",
}


def guard_exit(tmp_path, old: dict, new: dict) -> int:
    for side, body in (("old", old), ("new", new)):
        (tmp_path / side).mkdir(exist_ok=True)
        (tmp_path / side / "graph.json").write_text(json.dumps(body))
    return main([str(tmp_path / "old"), str(tmp_path / "new")])


@pytest.mark.parametrize("typ", STATEFUL)
@pytest.mark.parametrize("protected", [False, True])
def test_the_guard_exits_3_for_a_replaced_or_deleted_stateful_resource_protected_or_not(
    fixture_graphs, tmp_path, typ, protected
):
    old = body(fixture_graphs["small"])  # small protects nothing: only the type can stop these
    target = next(r for r in old["resources"] if r["type"] == typ)
    target["protect"] = protected
    deleted = {**old, "resources": [r for r in old["resources"] if r["urn"] != target["urn"]]}
    assert guard_exit(tmp_path, old, deleted) == 3
    replaced = json.loads(json.dumps(old))
    changed = next(r for r in replaced["resources"] if r["urn"] == target["urn"])
    field = FORCING[typ]
    changed["inputs"][field] = {"name": "renamed"} if field == "metadata" else "replaced-value"
    assert guard_exit(tmp_path, old, replaced) == 3


def test_the_guard_exits_3_for_a_protected_resource_of_any_type_and_0_unprotected(fixture_graphs, tmp_path):
    old = body(fixture_graphs["small"])
    route = next(r for r in old["resources"] if r["type"] == "aws:ec2/route:Route")  # no stateful type
    gone = {**old, "resources": [r for r in old["resources"] if r["urn"] != route["urn"]]}
    assert guard_exit(tmp_path, old, gone) == 0
    route["protect"] = True
    assert guard_exit(tmp_path, old, gone) == 3


def test_an_update_of_a_stateful_resource_passes_the_guard(fixture_graphs, tmp_path):
    old = body(fixture_graphs["small"])
    new = json.loads(json.dumps(old))
    table = next(r for r in new["resources"] if r["type"] == "aws:dynamodb/table:Table")
    table["inputs"]["pointInTimeRecovery"] = {"enabled": False}
    assert guard_exit(tmp_path, old, new) == 0


# -- the committed acknowledgements, against the live stacks ---------------------------------------------

CLUSTER = "urn:pulumi:staging::picturesocial::picturesocial:infra:Cluster$eks:index:Cluster::eks"


@pytest.mark.live
@pytest.mark.parametrize(
    "network",
    [{"availabilityZones": 2}, {"cidr": "10.21.0.0/16"}],
    ids=["three-zones-to-two", "new-vpc-cidr"],
)
def test_the_committed_acknowledgements_let_no_cluster_replacement_through(graphs, tmp_path, capsys, network):
    # What `make diff` does on a fresh clone after this change to staging's network: the committed
    # .github/guard-allow.txt holds no standing exception, so the replaced cluster is blocked (exit 3).
    config = graphs["staging"].config
    current = json.loads(config["picturesocial:network"])
    changed = synthesize(
        "staging", root=ROOT, config_overrides={"picturesocial:network": {**current, **network}}
    )
    for side, graph in (("old", graphs["staging"]), ("new", changed)):
        (tmp_path / side).mkdir()
        (tmp_path / side / "graph.json").write_text(graph.to_json())
    allow = ROOT / ".github" / "guard-allow.txt"
    assert main([str(tmp_path / "old"), str(tmp_path / "new"), "--allow-file", str(allow)]) == 3
    blocked = [line for line in capsys.readouterr().out.splitlines() if line.startswith("blocked: ")]
    assert any(line.startswith(f"blocked: replace of eks:index:Cluster {CLUSTER} ") for line in blocked)
