"""The controllers' IAM policies are upstream's, statement by statement, but for the differences their fixture
lists and justifies.

Each fixture of tests/fixtures/upstream/ is the upstream document of one pinned version (its source URL and
version inside): Karpenter's controller policies (the v1.15 getting-started CloudFormation) and the load
balancer controller's docs/install/iam_policy.json. Every statement of infra/policies/<controller>.json must
equal the upstream statement it comes from (actions, resources, every condition operator, key and value)
after the listed differences, so a dropped condition key, a widened resource or an added action fails the
test of that statement, by its Sid. The fixture is looked up by the version the stack pins: bumping a chart
without reading that version's upstream policy fails here, naming the file to add.
"""

from __future__ import annotations

import copy
import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest

from settings import addons, karpenter
from tools import ROOT

UPSTREAM = ROOT / "tests" / "fixtures" / "upstream"
POLICIES = ROOT / "infra" / "policies"


def _fixture(name: str, version: str) -> dict[str, Any]:
    path = UPSTREAM / f"{name}-{version}.json"
    if not path.exists():
        pytest.fail(
            f"{name} is pinned at {version} but {path.relative_to(ROOT)} does not exist: add that version's "
            f"upstream policy (and compare infra/policies/ with it) before bumping",
            pytrace=False,
        )
    fixture = json.loads(path.read_text())
    assert fixture["version"] == version, f"{path.name} says version {fixture['version']}, not {version}"
    return fixture


def _listed(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)


def normal(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement in a comparable form: actions and resources as sorted lists, conditions as
    {operator: {key: sorted values}}."""
    return {
        "Effect": statement["Effect"],
        "Action": sorted(_listed(statement["Action"])),
        "Resource": sorted(_listed(statement["Resource"])),
        "Condition": {
            op: {key: sorted(_listed(values)) for key, values in keys.items()}
            for op, keys in (statement.get("Condition") or {}).items()
        },
    }


def _merge_conditions(into: dict[str, dict[str, list]], extra: dict[str, dict[str, Any]]) -> None:
    for op, keys in extra.items():
        for key, values in keys.items():
            existing = into.setdefault(op, {}).get(key, [])
            into[op][key] = sorted({*existing, *_listed(values)})


def _ours(file: str) -> dict[str, dict[str, Any]]:
    statements = json.loads((POLICIES / file).read_text())["Statement"]
    sids = [s.get("Sid") for s in statements]
    assert all(sids) and len(set(sids)) == len(sids), f"{file}: every statement needs its own Sid: {sids}"
    return {s["Sid"]: s for s in statements}


# -- Karpenter ------------------------------------------------------------------------------------------


def karpenter_expected(fixture: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Upstream's statements by Sid, with CloudFormation's substitutions mapped to ours and the listed
    differences applied."""
    text = json.dumps(fixture["statements"])
    for theirs, ours in fixture["substitutions"].items():
        text = text.replace(theirs, ours)
    expected = {s["Sid"]: normal(s) for s in json.loads(text)}
    for difference in fixture["differences"]:
        assert difference["why"].strip(), f"{difference['sid']}: a difference needs its justification"
        statement = expected[difference["sid"]]  # a difference for a Sid upstream lacks is a stale fixture
        if difference.get("omit"):
            del expected[difference["sid"]]
            continue
        for action in difference.get("remove_actions", []):
            statement["Action"].remove(action)
        for op, keys in difference.get("remove_condition_values", {}).items():
            for key, values in keys.items():
                for value in values:
                    statement["Condition"][op][key].remove(value)
    return expected


KARPENTER = _fixture("karpenter-controller", karpenter.VERSION)
KARPENTER_EXPECTED = karpenter_expected(KARPENTER)
KARPENTER_OURS = _ours("karpenter-controller.json")


@pytest.mark.parametrize("sid", sorted(KARPENTER_EXPECTED))
def test_karpenter_statement_is_upstreams_but_for_the_listed_differences(sid):
    assert sid in KARPENTER_OURS, f"{sid}: upstream's statement is missing from karpenter-controller.json"
    assert normal(KARPENTER_OURS[sid]) == KARPENTER_EXPECTED[sid], (
        f"statement {sid} differs from upstream Karpenter {KARPENTER['version']} ({KARPENTER['source']}) "
        f"beyond the differences listed in its fixture"
    )


def test_karpenter_has_no_statement_upstream_lacks():
    assert sorted(set(KARPENTER_OURS) - set(KARPENTER_EXPECTED)) == []


# -- the AWS Load Balancer Controller -------------------------------------------------------------------


def lbc_expected(fixture: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each of our statements as derived from the upstream statements it names."""
    upstream = fixture["policy"]["Statement"]
    expected: dict[str, dict[str, Any]] = {}
    for spec in fixture["statements"]:
        sources = [normal(upstream[i]) for i in spec["from"]]
        conditions = [s["Condition"] for s in sources]
        assert all(c == conditions[0] for c in conditions), (
            f"{spec['sid']}: sources with different conditions"
        )
        statement = copy.deepcopy(sources[0])
        statement["Action"] = sorted({a for s in sources for a in s["Action"]})
        for action in spec.get("remove_actions", []):
            statement["Action"].remove(action)  # an action upstream lacks: a stale fixture
        if "resources" in spec:
            upstream_resources = {r for s in sources for r in s["Resource"]}
            for resource in spec["resources"]:
                assert any(fnmatch.fnmatchcase(resource, pattern) for pattern in upstream_resources), (
                    f"{spec['sid']}: {resource} is not narrower than upstream's {sorted(upstream_resources)}"
                )
            statement["Resource"] = sorted(spec["resources"])
        _merge_conditions(statement["Condition"], spec.get("add_conditions", {}))
        assert spec["why"].strip(), f"{spec['sid']}: a statement needs its justification"
        expected[spec["sid"]] = statement
    return expected


LBC = _fixture("aws-load-balancer-controller", addons.LOAD_BALANCER_CONTROLLER.version)
LBC_EXPECTED = lbc_expected(LBC)
LBC_OURS = _ours(str(addons.LOAD_BALANCER_CONTROLLER.policy_file))


@pytest.mark.parametrize("sid", sorted(LBC_EXPECTED))
def test_load_balancer_controller_statement_is_upstreams_but_for_the_listed_differences(sid):
    assert sid in LBC_OURS, f"{sid}: listed in the fixture but missing from the policy"
    assert normal(LBC_OURS[sid]) == LBC_EXPECTED[sid], (
        f"statement {sid} differs from upstream aws-load-balancer-controller {LBC['version']} "
        f"({LBC['source']}) beyond the differences listed in its fixture"
    )


def test_load_balancer_controller_has_no_statement_upstream_lacks():
    assert sorted(set(LBC_OURS) - set(LBC_EXPECTED)) == []


def test_every_upstream_load_balancer_statement_is_kept_or_dropped_with_a_reason():
    used = {i for spec in LBC["statements"] for i in spec["from"]}
    dropped = {d["from"] for d in LBC["dropped"] if d["why"].strip()}
    assert used.isdisjoint(dropped)
    assert used | dropped == set(range(len(LBC["policy"]["Statement"])))


# -- the comparison bites: every single condition key, removed, fails the statement's comparison ---------


def _each_condition_key(statements: dict[str, dict[str, Any]]):
    for sid, statement in statements.items():
        for op, keys in (statement.get("Condition") or {}).items():
            for key in keys:
                yield sid, op, key


@pytest.mark.parametrize(
    "policy, sid, op, key",
    [("karpenter", *k) for k in _each_condition_key(KARPENTER_OURS)]
    + [("lbc", *k) for k in _each_condition_key(LBC_OURS)],
)
def test_dropping_any_condition_key_breaks_the_comparison(policy, sid, op, key):
    ours, expected = (
        (KARPENTER_OURS, KARPENTER_EXPECTED) if policy == "karpenter" else (LBC_OURS, LBC_EXPECTED)
    )
    mutated = copy.deepcopy(ours[sid])
    del mutated["Condition"][op][key]
    if not mutated["Condition"][op]:
        del mutated["Condition"][op]
    assert normal(mutated) != expected[sid]


def test_fixtures_name_their_source_and_version():
    for path in sorted(Path(UPSTREAM).glob("*.json")):
        fixture = json.loads(path.read_text())
        assert fixture["source"].startswith("https://github.com/"), path.name
        assert path.name.endswith(f"-{fixture['version']}.json"), path.name
