"""The mutation list of `make mutate` stays applicable, and the tool's matching and verdicts are right.

Running the mutations is `make mutate` (a minute each, not part of `make test`); what runs here is the part
that rots silently: an edit that moves an anchor would turn its mutation into an error at the next
`make mutate`, long after the edit.
"""

import os
import subprocess
import sys
import textwrap

import conftest
import pytest

from tools import ROOT, mutate
from tools import snapshot as snapshot_tool
from tools.mutate import Mutation, MutationError, catchers, check, load
from tools.offline import Graph

LISTED = load()


@pytest.mark.parametrize("mutation", LISTED, ids=[m.id for m in LISTED])
def test_every_listed_mutation_still_applies_and_changes_its_file(mutation):
    check(mutation)


# The regressions issue 17 names, written out: dropping one from the list must fail here.
ISSUE_17_EXAMPLES = {
    "guard-counts-deletes-only",
    "guard-ignores-protect",
    "api-ingress-without-peers",
    "api-ingress-from-anywhere",
    "api-egress-every-port",
    "dns-egress-to-every-namespace",
    "lbc-manages-any-load-balancer",
    "node-role-administrator",
    "container-runs-as-root",
    "liveness-on-readiness-handler",
    "prod-account-copied-from-dev",
    "bucket-force-destroy",
    "bucket-tls-statement-allows",
    "table-unencrypted",
    "deployment-selector-without-track",
    "preflight-failure-ignored",
    "policy-branch-removed",
    "smoke-replicas-always-pass",
    "preflight-quota-one-over",
}


def test_the_list_keeps_every_regression_the_gates_issue_names():
    missing = ISSUE_17_EXAMPLES - {m.id for m in LISTED}
    assert not missing, f"dropped from tools/data/mutations.yaml: {sorted(missing)}"


def mutation(**fields):
    return Mutation(**{"id": "m", "why": "w", "file": "f.py", "replace": "", **fields})


def test_a_block_of_lines_matches_at_any_indentation_and_is_reindented():
    text = textwrap.dedent("""\
        def f():
            if x:
                a()
            b()
        """)
    m = mutation(find="if x:\n    a()\n", replace="if not x:\n    a()\n    c()\n")
    assert m.apply(text) == textwrap.dedent("""\
        def f():
            if not x:
                a()
                c()
            b()
        """)


def test_a_block_must_keep_its_relative_indentation_to_match():
    with pytest.raises(MutationError, match=r"^m: `find` text not found in f.py$"):
        mutation(find="if x:\na()\n").apply("if x:\n    a()\n")


def test_an_empty_replacement_deletes_the_lines():
    assert mutation(find="b = 2\n").apply("a = 1\n    b = 2\nc = 3\n") == "a = 1\nc = 3\n"


def test_an_anchor_found_twice_is_refused_naming_the_mutation():
    with pytest.raises(MutationError, match=r"^m: `find` text found 2 times in f.py"):
        mutation(find="x = 1", replace="x = 2").apply("x = 1\nx = 1\n")


def test_after_picks_the_first_occurrence_following_it():
    text = "pod:\n  root: no\ncontainer:\n  root: no\n  root: no\n"
    m = mutation(after="container:", find="root: no", replace="root: yes")
    assert m.apply(text) == "pod:\n  root: no\ncontainer:\n  root: yes\n  root: no\n"


def test_all_replaces_every_occurrence():
    m = mutation(find="777788889999", replace="111122223333", all=True)
    assert m.apply("a: 777788889999\nb: x-777788889999\n") == "a: 111122223333\nb: x-111122223333\n"


def test_a_mutation_that_changes_nothing_is_refused():
    with pytest.raises(MutationError, match="leaves f.py unchanged"):
        mutation(find="x = 1", replace="x = 1").apply("x = 1\n")


PYTEST_SUMMARY = """\
........F.F                                                                [100%]
=========================== short test summary info ============================
FAILED tests/test_snapshots.py::test_snapshot_is_current[prod] - AssertionError: run make snapshot
FAILED tests/test_policies.py::test_every_live_stack_satisfies_every_policy - AssertionError: prod:
ERROR tests/test_ops.py::test_smoke - fixture 'kube' not found
2 failed, 300 passed, 1 error in 50.01s
"""


def test_a_failing_snapshot_comparison_does_not_count_as_catching_a_mutation():
    assert catchers(PYTEST_SUMMARY) == [
        "tests/test_policies.py::test_every_live_stack_satisfies_every_policy - AssertionError: prod:",
        "tests/test_ops.py::test_smoke - fixture 'kube' not found",
    ]
    only_snapshots = "FAILED tests/test_snapshots.py::test_snapshot_is_current[dev] - stale\n1 failed in 9s\n"
    assert catchers(only_snapshots) == []


def test_a_failure_whose_test_id_holds_spaces_counts_as_catching_a_mutation():
    # pytest prints parametrize ids as given: a table's row names hold spaces and quotes.
    summary = (
        "FAILED tests/test_boundaries.py::test_denied[replace a role's boundary] - assert False\n"
        "FAILED tests/test_boundaries.py::test_denied[create a role with the deploy boundary]\n"
        "2 failed, 244 passed in 0.64s\n"
    )
    assert catchers(summary) == [
        "tests/test_boundaries.py::test_denied[replace a role's boundary] - assert False",
        "tests/test_boundaries.py::test_denied[create a role with the deploy boundary]",
    ]


def mutate_check(listed) -> subprocess.CompletedProcess:
    """`python -m tools.mutate --check --mutations LISTED`, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "tools.mutate", "--check", "--mutations", str(listed)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_mutate_check_exits_2_with_one_line_naming_a_mutation_whose_anchor_moved(tmp_path):
    listed = tmp_path / "mutations.yaml"
    listed.write_text(
        "- id: guard-ignores-protect\n"
        "  why: a protected resource is replaced with exit 0\n"
        "  file: tools/diff.py\n"
        "  find: 'this text is not in tools/diff.py'\n"
        "  replace: x\n"
    )
    result = mutate_check(listed)
    assert result.returncode == 2
    assert result.stderr == "error: guard-ignores-protect: `find` text not found in tools/diff.py\n"


def test_mutate_check_names_the_key_of_a_malformed_entry(tmp_path):
    listed = tmp_path / "mutations.yaml"
    listed.write_text("- id: x\n  why: y\n  file: tools/diff.py\n  replace: z\n")
    result = mutate_check(listed)
    assert result.returncode == 2
    assert result.stderr == f"error: {listed}: [0].find: Field required\n"


def test_mutate_check_says_in_one_line_where_a_mutations_file_is_not_yaml(tmp_path):
    listed = tmp_path / "mutations.yaml"
    listed.write_text("- id: x\n  find: [unclosed\n")
    result = mutate_check(listed)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {listed}: not valid YAML: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and "(line " in result.stderr


# -- what a mutation's run is made of: the snapshot step's graphs, the slow tests last ------------------


def test_the_snapshot_step_saves_every_graph_where_a_seeded_suite_loads_it(tmp_path, monkeypatch):
    graphs = {
        ("", "dev"): Graph("picturesocial", "dev", [{"urn": "u"}], {"o": 1}, {"k": "v"}, {"f"}, ["w"]),
        ("bootstrap", "prod"): Graph("picturesocial-bootstrap", "prod", [], {}, {}, set()),
    }

    def synthesized(repository, check, keep):
        keep.update(graphs)
        return 0

    monkeypatch.setattr(snapshot_tool, "snapshot", synthesized)
    assert snapshot_tool.main(["--graphs", str(tmp_path)]) == 0
    # tests/conftest.py's layout: live/<stack>.json for the platform, bootstrap/<stack>.json
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json")) == [
        "bootstrap/prod.json",
        "live/dev.json",
    ]
    assert Graph.read(tmp_path / "live" / "dev.json") == graphs[("", "dev")]


def test_a_snapshot_step_that_refuses_saves_no_graph(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot_tool, "snapshot", lambda repository, check, keep: 2)
    assert snapshot_tool.main(["--graphs", str(tmp_path)]) == 2
    assert list(tmp_path.iterdir()) == []


class _Item:
    def __init__(self, name: str, slow: bool):
        self.name, self.slow = name, slow

    def get_closest_marker(self, name: str):
        return object() if self.slow and name == "slow" else None


class _Config:
    def __init__(self, slow_last: bool):
        self.slow_last = slow_last

    def getoption(self, name: str) -> bool:
        assert name == "--slow-last"
        return self.slow_last


@pytest.mark.parametrize("slow_last, order", [(False, "BDac"), (True, "acBD")])
def test_slow_tests_run_first_unless_slow_last_and_the_rest_keeps_its_order(slow_last, order):
    items = [_Item("a", False), _Item("B", True), _Item("c", False), _Item("D", True)]
    conftest.pytest_collection_modifyitems(_Config(slow_last), items)  # type: ignore[arg-type]  # duck-typed
    assert "".join(i.name for i in items) == order


# -- a run's verdict: only a named test, or the settings layer's refusal, is a catch ----------------------


def _done(code: int, out: str = "", err: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, out, err)


SNAPSHOT_OK = _done(0, "wrote tests/snapshots/dev.yaml\n")


@pytest.mark.parametrize(
    "snapshot, suite, stage",
    [
        (_done(2, err="error: Pulumi.dev.yaml: picturesocial:cluster.version: ...\n"), None, "settings"),
        (_done(1, err="Traceback ...\nTypeError: Object of type set is not JSON"), None, "error"),
        (SNAPSHOT_OK, _done(0, "1300 passed\n"), "survived"),
        (SNAPSHOT_OK, _done(1, "FAILED tests/test_diff.py::test_guard - AssertionError\n"), "tests"),
        (SNAPSHOT_OK, _done(1, "FAILED tests/test_snapshots.py::test_dev - stale\n"), "survived"),
        (SNAPSHOT_OK, _done(1, "1 error during teardown, nothing named\n"), "survived"),
        (SNAPSHOT_OK, _done(2, err="stack dev does not synthesize; no test ran\n"), "tests"),
        (SNAPSHOT_OK, _done(3, "INTERNALERROR> Traceback\n"), "error"),
        (SNAPSHOT_OK, _done(5, "no tests ran\n"), "error"),
    ],
    ids=[
        "snapshot-refused", "snapshot-crashed", "all-passed", "a-test-failed", "only-a-snapshot-test-failed",
        "exit-1-naming-no-test", "stopped-on-a-stack", "internal-error", "no-test-ran",
    ],
)  # fmt: skip
def test_only_a_named_failure_or_the_settings_refusal_counts_as_a_catch(snapshot, suite, stage):
    assert mutate.verdict(snapshot, suite)[0] == stage


def test_a_run_loads_the_snapshot_steps_graphs_and_leaves_out_only_the_anchor_check(tmp_path, monkeypatch):
    calls = []

    def fake_run(command, **kwargs):
        calls.append((command, kwargs["env"]))
        return _done(0, "1300 passed\n")

    monkeypatch.setattr(mutate, "copy_project", lambda source, target: target.mkdir(parents=True))
    monkeypatch.setattr(mutate.subprocess, "run", fake_run)
    outcome = mutate.run_one(None, source=tmp_path)
    assert outcome.stage == "survived"
    (snapshot, snapshot_env), (suite, suite_env) = calls
    graphs = snapshot[snapshot.index("--graphs") + 1]
    assert snapshot[1:3] == ["-m", "tools.snapshot"]
    assert suite_env["PICTURESOCIAL_TEST_GRAPHS"] == graphs
    assert suite[suite.index("--deselect") + 1] == (
        "tests/test_mutations.py::test_every_listed_mutation_still_applies_and_changes_its_file"
    )
    assert "tests/test_mutations.py" not in suite  # the rest of the file runs: it tests this tool
    assert {"-x", "--slow-last"} <= set(suite)


def test_a_process_a_test_starts_does_not_inherit_the_seeded_graphs(tmp_path):
    """A test that runs a pytest of its own (a copy with a bad stack value) must synthesize that copy's
    stacks, not load the graphs `make mutate` seeded this run with."""
    probe = "import os, conftest; print(os.environ.get('PICTURESOCIAL_TEST_GRAPHS'), conftest.SEEDED)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT / "tests",
        env={**os.environ, "PICTURESOCIAL_TEST_GRAPHS": str(tmp_path), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == ["None", str(tmp_path)], result.stderr[-2000:]


def _runs(stages: dict[str, str]):
    def run_one(mutation, source=ROOT):
        name = mutation.id if mutation is not None else "control"
        stage = stages[name]
        lines = ["tests/test_weekly_flows.py::test_x - assert 1 == 2"] if stage == "tests" else []
        return mutate.Outcome(mutation, stage, lines)

    return run_one


@pytest.mark.parametrize(
    "control, verdict, code",
    [("survived", "tests", 0), ("tests", "tests", 2), ("survived", "survived", 1), ("survived", "error", 1)],
    ids=["control-passes", "control-fails-so-no-verdict-counts", "a-survivor", "a-crashed-step"],
)
def test_mutate_exits_2_when_the_unmutated_control_fails_and_1_for_a_survivor_or_a_crash(
    monkeypatch, capsys, control, verdict, code
):
    first = LISTED[0].id
    monkeypatch.setattr(mutate, "run_one", _runs({"control": control, first: verdict}))
    assert mutate.main(["--only", first, "--jobs", "1"]) == code
    err = capsys.readouterr().err
    assert ("control run" in err) == (control != "survived")
