"""The mutation list of `make mutate` stays applicable, and the tool's matching and verdicts are right.

Running the mutations is `make mutate` (a minute each, not part of `make test`); what runs here is the part
that rots silently: an edit that moves an anchor would turn its mutation into an error at the next
`make mutate`, long after the edit.
"""

import subprocess
import sys
import textwrap

import conftest
import pytest

from tools import ROOT
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
        ("", "dev"): Graph("picturesocial", "dev", [{"urn": "u", "type": "t"}], {"o": 1}, {"k": "v"}, {"f"}),
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
