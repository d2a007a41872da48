"""The Kubernetes version: held to the EKS support calendar, upgraded one minor version at a time in place.

The fixture project's synths check support on the suite's fixed day, 2026-11-23 (tests/conftest.py); the
live stacks are checked on the clock's day.
"""

from __future__ import annotations

import datetime as dt
import json

import boto3
import kubernetes_validate
import pytest
import yaml
from botocore.stub import Stubber
from conftest import FIXTURE, fixture_config, synth_fixture
from graphq import EKS, NODE_GROUP, one

from tools import ROOT
from tools.diff import diff, main
from tools.offline import manifests
from tools.ops import Report
from tools.preflight import check_kubernetes
from tools.synth import main as synth_main

CALENDAR = yaml.safe_load((ROOT / "settings" / "data" / "eks_versions.yaml").read_text())["versions"]
CLUSTER = fixture_config("small")["picturesocial:cluster"]


def clock() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pytest.mark.live
@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_pins_a_version_in_standard_support_on_the_day_the_suite_runs(stack):
    cluster = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["picturesocial:cluster"]
    assert cluster.get("supportType", "STANDARD") == "STANDARD"
    row = CALENDAR[cluster["version"]]
    assert row["release"] <= clock() < row["endOfStandardSupport"], (cluster["version"], row)


def test_the_calendar_rows_follow_the_eks_support_rule():
    # 14 months of standard support from the EKS release (a day either way: AWS rounds to the day it ships),
    # then 12 of extended support.
    for version, row in CALENDAR.items():
        standard = (row["endOfStandardSupport"] - row["release"]).days
        extended = (row["endOfExtendedSupport"] - row["endOfStandardSupport"]).days
        assert 420 <= standard <= 429 and 365 <= extended <= 366, (version, standard, extended)


def synth_err(capsys, *args: str) -> tuple[int, str]:
    code = synth_main(["small", "--project", str(FIXTURE), *args])
    return code, capsys.readouterr().err


def stack_with(write_stack, **cluster) -> str:
    return str(write_stack({"picturesocial:cluster": {**CLUSTER, **cluster}}))


def test_a_version_past_its_end_of_standard_support_stops_the_synth_naming_the_date(write_stack, capsys):
    code, err = synth_err(
        capsys, "--config", stack_with(write_stack, version="1.36"), "--today", "2027-08-02"
    )
    assert code == 2
    assert err == (
        'error: Pulumi.small.yaml: picturesocial:cluster.version: "1.36" ended standard support on '
        "2027-08-02; no newer version in standard support has pinned add-ons: pin the next one in "
        "settings/addons.py, then upgrade "
        '(README "Upgrading Kubernetes"), or set picturesocial:cluster.supportType: EXTENDED '
        "(until 2028-08-02)\n"
    )


def test_the_day_before_the_end_of_support_warns_and_synthesizes(write_stack, capsys):
    code, err = synth_err(
        capsys, "--config", stack_with(write_stack, version="1.36"), "--today", "2027-08-01"
    )
    assert code == 0
    assert err == (
        'warning: picturesocial:cluster.version: "1.36" ends standard support on 2027-08-02, in 1 days; no '
        "newer version in standard support has pinned add-ons: pin the next one in settings/addons.py, then "
        'upgrade (README "Upgrading Kubernetes")\n'
    )


@pytest.mark.parametrize("today, warned", [("2027-06-02", False), ("2027-06-03", True)])
def test_the_warning_starts_60_days_before_the_end(write_stack, capsys, today, warned):
    code, err = synth_err(capsys, "--config", stack_with(write_stack, version="1.36"), "--today", today)
    assert code == 0 and ("in 60 days" in err) is warned, err


def test_extended_support_runs_on_past_the_end_of_standard_support(write_stack, capsys):
    code, err = synth_err(
        capsys,
        "--config",
        stack_with(write_stack, version="1.36", supportType="EXTENDED"),
        "--today",
        "2027-09-01",
    )
    assert code == 0 and err == ""


def test_the_upgrade_policy_passes_the_support_type_to_eks(fixture_graphs):
    assert one(fixture_graphs["small"], EKS, "eks")["inputs"]["upgradePolicy"] == {"supportType": "STANDARD"}
    extended = synth_fixture("small", cluster={**CLUSTER, "supportType": "EXTENDED"})
    assert one(extended, EKS, "eks")["inputs"]["upgradePolicy"] == {"supportType": "EXTENDED"}


def test_the_date_comes_from_picturesocial_today_and_a_bad_one_is_one_line(write_stack, capsys, monkeypatch):
    config = stack_with(write_stack, version="1.36")
    monkeypatch.setenv("PICTURESOCIAL_TODAY", "2027-08-03")
    code, err = synth_err(capsys, "--config", config)
    assert code == 2 and err.startswith(
        'error: Pulumi.small.yaml: picturesocial:cluster.version: "1.36" ended standard'
    ), err
    monkeypatch.setenv("PICTURESOCIAL_SKIP_SUPPORT_CHECK", "1")
    assert synth_err(capsys, "--config", config) == (0, "")
    monkeypatch.delenv("PICTURESOCIAL_SKIP_SUPPORT_CHECK")
    monkeypatch.setenv("PICTURESOCIAL_TODAY", "next tuesday")
    assert synth_err(capsys, "--config", config) == (
        2,
        'error: PICTURESOCIAL_TODAY: "next tuesday" must be a date written YYYY-MM-DD\n',
    )


# -- the upgrade, rehearsed -------------------------------------------------------------------------------

PREVIOUS, CURRENT = "1.35", "1.36"


def graph_body(graph) -> dict:
    return json.loads(graph.to_json())


@pytest.fixture(scope="module")
def upgrade(fixture_graphs):
    before = synth_fixture(
        "large", cluster={**fixture_config("large")["picturesocial:cluster"], "version": PREVIOUS}
    )
    return before, fixture_graphs["large"]


def test_the_fixture_runs_the_current_version_and_the_previous_one_is_still_pinned(upgrade):
    before, after = upgrade
    assert one(before, EKS, "eks")["inputs"]["version"] == PREVIOUS
    assert one(after, EKS, "eks")["inputs"]["version"] == CURRENT


def test_upgrading_from_the_previous_minor_is_in_place_updates_of_versions_only(upgrade):
    before, after = upgrade
    changes, _ = diff(graph_body(before), graph_body(after))
    assert {c.kind for c in changes} == {"update"}  # no replacement, no deletion
    changed = sorted((c.type, c.urn.rsplit("::", 1)[-1], tuple(c.paths)) for c in changes)
    assert changed == [
        ("aws:eks/addon:Addon", "coredns", ("addonVersion",)),
        (NODE_GROUP, "arm", ("version",)),
        (NODE_GROUP, "general", ("version",)),
        (EKS, "eks", ("kubeProxyAddonOptions.version", "version")),
    ]


def test_node_groups_and_add_ons_wait_for_the_control_plane(upgrade):
    # Pulumi updates a resource after what it depends on: the control plane first, then the node groups
    # (EKS refuses a node group newer than its control plane), then the add-ons that need running nodes.
    _, after = upgrade
    cluster = one(after, EKS, "eks")["urn"]
    groups = after.of_type(NODE_GROUP)
    assert groups and all(cluster in group["dependencies"] for group in groups)
    for addon in after.of_type("aws:eks/addon:Addon"):
        assert {g["urn"] for g in groups} <= set(addon["dependencies"]), addon["name"]


def test_the_rendered_manifests_validate_at_the_new_version(upgrade):
    _, after = upgrade
    objects = manifests.manifests(after)
    assert objects
    for manifest in objects.values():
        if manifest["apiVersion"].startswith("karpenter."):
            continue  # custom resources: validated against their v1 models (test_manifests.py)
        kubernetes_validate.validate(manifest, f"{CURRENT}.0", strict=True)


def guard_exit(tmp_path, old: dict, new: dict, capsys) -> tuple[int, list[str]]:
    for side, body in (("old", old), ("new", new)):
        (tmp_path / side).mkdir(exist_ok=True)
        (tmp_path / side / "graph.json").write_text(json.dumps(body))
    code = main([str(tmp_path / "old"), str(tmp_path / "new")])
    return code, [line for line in capsys.readouterr().out.splitlines() if line.startswith("blocked:")]


def with_version(body: dict, version: str) -> dict:
    copy = json.loads(json.dumps(body))
    for resource in copy["resources"]:
        if resource["type"] == EKS:
            resource["inputs"]["version"] = version
    return copy


def test_a_two_minor_jump_is_blocked_with_exit_3_naming_the_cluster_and_both_versions(
    upgrade, tmp_path, capsys
):
    _, after = upgrade
    new = graph_body(after)
    code, blocked = guard_exit(tmp_path, with_version(new, "1.34"), new, capsys)
    assert code == 3
    urn = "urn:pulumi:large::picturesocial::picturesocial:infra:Cluster$eks:index:Cluster::eks"
    assert blocked == [
        "blocked: Kubernetes 1.34 -> 1.36 skips a minor version; EKS upgrades one minor version at a time: "
        f"eks:index:Cluster {urn} (acknowledge with --allow '{urn}=version' only for a stack that was never "
        "deployed)"
    ]


def test_a_downgrade_is_blocked_with_exit_3(upgrade, tmp_path, capsys):
    before, after = upgrade
    code, blocked = guard_exit(tmp_path, graph_body(after), graph_body(before), capsys)
    assert code == 3
    assert len(blocked) == 1 and "Kubernetes 1.36 -> 1.35 is a downgrade, which EKS cannot do" in blocked[0]


def test_the_rehearsed_one_minor_upgrade_passes_the_guard(upgrade, tmp_path, capsys):
    before, after = upgrade
    assert guard_exit(tmp_path, graph_body(before), graph_body(after), capsys) == (0, [])


# -- preflight asks EKS ---------------------------------------------------------------------------------


def settings_of(stack: str = "small"):
    from tools.ops import load_settings

    return load_settings(stack, project_dir=FIXTURE)


PINNED_1_36 = {
    "amazon-cloudwatch-observability": "v6.7.0-eksbuild.1",
    "coredns": "v1.14.7-eksbuild.11",
    "kube-proxy": "v1.36.0-eksbuild.45",
    "vpc-cni": "v1.23.2-eksbuild.1",
}


def stubbed_eks(end_of_standard: dt.date | None, offered: dict[str, list[str]]):
    client = boto3.client("eks", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    versions = (
        [
            {
                "clusterVersion": "1.36",
                "endOfStandardSupportDate": dt.datetime.combine(end_of_standard, dt.time()),
            }
        ]
        if end_of_standard
        else []
    )
    stub.add_response(
        "describe_cluster_versions", {"clusterVersions": versions}, {"clusterVersions": ["1.36"]}
    )
    for name in sorted(PINNED_1_36):
        stub.add_response(
            "describe_addon_versions",
            {
                "addons": [
                    {"addonName": name, "addonVersions": [{"addonVersion": v} for v in offered.get(name, [])]}
                ]
            },
            {"addonName": name, "kubernetesVersion": "1.36"},
        )
    stub.activate()
    return client


def preflight_rows(eks, today: dt.date) -> dict[str, tuple[str, str]]:
    report = Report("preflight small")
    check_kubernetes(report, eks, settings_of(), today=today)
    return {name: (status, detail) for name, status, detail in report.rows}


def test_preflight_passes_when_eks_offers_every_pin_and_agrees_with_the_calendar():
    offered = {name: [version, "v0.1.0-eksbuild.1"] for name, version in PINNED_1_36.items()}
    rows = preflight_rows(stubbed_eks(dt.date(2027, 8, 2), offered), dt.date(2026, 11, 23))
    assert rows["kubernetes support"] == ("pass", "1.36 is in standard support until 2027-08-02")
    assert rows["kubernetes calendar"][0] == "pass"
    assert {name: rows[f"add-on {name} {v}"][0] for name, v in PINNED_1_36.items()} == dict.fromkeys(
        PINNED_1_36, "pass"
    )


def test_preflight_fails_a_pin_eks_does_not_offer_for_the_version():
    offered = {name: [version] for name, version in PINNED_1_36.items()}
    offered["coredns"] = ["v1.14.3-eksbuild.3", "v1.9.3-eksbuild.1", "v1.14.7-eksbuild.10"]
    rows = preflight_rows(stubbed_eks(dt.date(2027, 8, 2), offered), dt.date(2026, 11, 23))
    assert rows["add-on coredns v1.14.7-eksbuild.11"] == (
        "fail",
        "EKS does not offer it for Kubernetes 1.36 (offered: v1.14.7-eksbuild.10, v1.14.3-eksbuild.3, "
        "v1.9.3-eksbuild.1); correct settings/addons.py or picturesocial:cluster.addonVersions",
    )


def test_preflight_warns_near_the_end_and_when_eks_disagrees_with_the_calendar():
    offered = {name: [version] for name, version in PINNED_1_36.items()}
    rows = preflight_rows(stubbed_eks(dt.date(2027, 9, 2), offered), dt.date(2027, 7, 1))
    assert rows["kubernetes support"][0] == "warn" and "in 32 days" in rows["kubernetes support"][1]
    assert rows["kubernetes calendar"] == (
        "warn",
        "EKS ends 1.36's standard support on 2027-09-02, settings/data/eks_versions.yaml says 2027-08-02: "
        "correct the file",
    )


def test_preflight_fails_past_the_end_of_standard_support():
    offered = {name: [version] for name, version in PINNED_1_36.items()}
    rows = preflight_rows(stubbed_eks(dt.date(2027, 8, 2), offered), dt.date(2027, 8, 2))
    assert rows["kubernetes support"][0] == "fail"
    assert rows["kubernetes support"][1].startswith('"1.36" ended standard support on 2027-08-02')
