"""Every alarm does what its purpose promises: the state it goes to on missing data, exactly at its threshold
and just past it, evaluated over datapoint series by a small model of CloudWatch's alarm evaluation
(tests/alarm_eval.py, with the documents it follows).

Alarms are recognized by purpose (their logical name), however many there are. The promises come from the
documented stack settings (docs/stack-config.schema.json defaults, overridden by the stack file) and from the
objects an alarm watches (an API's HPA minimum), never from the alarm's own literals:
- nodes-not-ready: a node not Ready for `unavailableMinutes` raises it, one minute less does not; no data
  (the agent is down, hiding every other alarm) raises it;
- <api>-unavailable: fewer available replicas than the HPA's minimum for `unavailableMinutes` raises it,
  exactly the minimum does not; no data (the Deployment or the agent is gone) raises it;
- <api>-restarts: `restartsThreshold` restarts within 5 minutes raise it, one fewer does not; no data (no
  restarts reported) does not;
- <api>-5xx<path>: more than `errorRatePercent` of the path's public requests answered 5xx raises it, exactly
  that share does not, even when a single route of several fails; no traffic does not;
- <api>-latency<path>: a p99 above `latencyP99Ms` on any one route of the path raises it, exactly that does
  not; no traffic does not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from alarm_eval import state
from graphq import HPA, inputs

from tools import ROOT

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PURPOSES = {
    "nodes-not-ready": re.compile(r"^nodes-not-ready$"),
    "unavailable": re.compile(r"^(?P<api>.+)-unavailable$"),
    "restarts": re.compile(r"^(?P<api>.+)-restarts$"),
    # One per public path of the API (infra/observability.py: a path's routes stay within 10 metrics).
    "5xx": re.compile(r"^(?P<api>.+)-5xx(?P<path>/.*)?$"),
    "latency": re.compile(r"^(?P<api>.+)-latency(?P<path>/.*)?$"),
}


def promises(root: Path, stack: str) -> dict[str, Any]:
    schema = json.loads((ROOT / "docs" / "stack-config.schema.json").read_text())
    defaults = {k: v["default"] for k, v in schema["$defs"]["ObservabilitySettings"]["properties"].items()}
    config = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {**defaults, **(config.get("picturesocial:observability") or {})}


def purpose(name: str) -> str:
    found = [p for p, pattern in PURPOSES.items() if pattern.match(name)]
    assert found, f"alarm {name} has no pinned semantics: add its purpose to tests/test_alarm_semantics.py"
    return found[0]


def _period(alarm: dict[str, Any]) -> int:
    periods = {q["metric"]["period"] for q in alarm.get("metricQueries") or [] if q.get("metric")}
    if alarm.get("period"):
        periods.add(alarm["period"])
    assert len(periods) == 1, f"{alarm['name']}: periods {periods}"
    return int(periods.pop())


def flat(values: list[float | None]) -> Callable[[dict], list[float | None]]:
    return lambda metric: values


def _window(alarm: dict[str, Any], minutes: int) -> tuple[int, int]:
    """(periods covering `minutes`, length of a series long enough for the alarm)."""
    k = max(1, minutes * 60 // _period(alarm))
    return k, max(k, int(alarm["evaluationPeriods"])) + 2


def sustained(alarm, minutes, good, bad):
    """Series (fires, does not fire yet): bad for `minutes`, and bad for one period less, good before."""
    k, length = _window(alarm, minutes)
    on = [good] * (length - k) + [bad] * k
    return on, [good] * (length - k + 1) + [bad] * (k - 1)


def per_route(alarm, metric_name: str, last: float, others: float, length: int = 3):
    """Series where the last route's `metric_name` query reads `last`, every other `others`."""
    ids = [q["id"] for q in alarm["metricQueries"] if q.get("metric", {}).get("metricName") == metric_name]
    assert ids, f"{alarm['name']} reads no {metric_name}"

    def data(metric: dict) -> list[float | None]:
        if metric.get("metricName") != metric_name:
            return [None] * length
        is_last = metric is next(q["metric"] for q in alarm["metricQueries"] if q["id"] == ids[-1])
        return [last if is_last else others] * length

    return data, len(ids)


def outcomes(alarm: dict[str, Any], name: str, graph, promise: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Per case: (the state the evaluator finds, the state the purpose promises)."""
    kind = purpose(name)
    missing = flat([None] * (int(alarm["evaluationPeriods"]) + 2))
    out: dict[str, tuple[str, str]] = {}
    if kind == "nodes-not-ready":
        fires, early = sustained(alarm, promise["unavailableMinutes"], 0, 1)
        out["missing"] = (state(alarm, missing), "ALARM")
        out["one node not ready for the promised minutes"] = (state(alarm, flat(fires)), "ALARM")
        out["a minute less"] = (state(alarm, flat(early)), "OK")
    elif kind == "unavailable":
        api = PURPOSES[kind].fullmatch(name)["api"]  # type: ignore[index]  # purpose() matched it
        minimum = next(h["spec"]["minReplicas"] for h in inputs(graph, HPA) if h["metadata"]["name"] == api)
        fires, early = sustained(alarm, promise["unavailableMinutes"], minimum, minimum - 1)
        at, _ = sustained(alarm, promise["unavailableMinutes"], minimum, minimum)
        out["missing"] = (state(alarm, missing), "ALARM")
        out["one replica short for the promised minutes"] = (state(alarm, flat(fires)), "ALARM")
        out["a minute less"] = (state(alarm, flat(early)), "OK")
        out["exactly the minimum"] = (state(alarm, flat(at)), "OK")
    elif kind == "restarts":
        threshold = promise["restartsThreshold"]
        out["missing"] = (state(alarm, missing), "OK")
        out["the promised count in 5 minutes"] = (state(alarm, flat([0, 0, threshold])), "ALARM")
        out["one fewer"] = (state(alarm, flat([0, 0, threshold - 1])), "OK")
    elif kind == "5xx":
        percent = float(promise["errorRatePercent"])
        requests, _ = per_route(alarm, "Count", 1000, 1000)
        routes = len([q for q in alarm["metricQueries"] if q.get("metric", {}).get("metricName") == "Count"])
        at = percent / 100 * 1000 * routes

        def traffic(errors_on_last: float):
            errors, _ = per_route(alarm, "5xx", errors_on_last, 0)
            return lambda m: requests(m) if m.get("metricName") == "Count" else errors(m)

        out["missing"] = (state(alarm, flat([None] * 3)), "OK")
        out["exactly the promised share, on the last route"] = (state(alarm, traffic(at)), "OK")
        out["one more 5xx, on the last route"] = (state(alarm, traffic(at + 1)), "ALARM")
    elif kind == "latency":
        limit = promise["latencyP99Ms"]
        at, _ = per_route(alarm, "Latency", limit, 10)
        above, _ = per_route(alarm, "Latency", limit + 1, 10)
        out["missing"] = (state(alarm, flat([None] * 3)), "OK")
        out["exactly the promised p99, on the last route"] = (state(alarm, at), "OK")
        out["a millisecond above, on the last route"] = (state(alarm, above), "ALARM")
    return out


def _check(graph, root: Path, stack: str) -> dict[str, dict[str, tuple[str, str]]]:
    promise = promises(root, stack)
    wrong = {}
    for record in graph.of_type(ALARM):
        found = outcomes(record["inputs"], record["name"], graph, promise)
        bad = {case: got for case, got in found.items() if got[0] != got[1]}
        if bad:
            wrong[record["name"]] = bad
    return wrong


def test_every_fixture_alarm_keeps_its_promise(fixture_graph):
    alarms = fixture_graph.of_type(ALARM)
    assert {purpose(a["name"]) for a in alarms} == set(PURPOSES)  # the fixture has one of each
    assert _check(fixture_graph, ROOT / "tests" / "fixtures" / "project", fixture_graph.stack) == {}


@pytest.mark.live
def test_every_live_alarm_keeps_its_promise(graphs):
    for stack, graph in graphs.items():
        assert _check(graph, ROOT, stack) == {}, stack


# -- an alarm made quiet, one of several: each is found ----------------------------------------------


def _changed(graph, name: str, change) -> dict[str, Any]:
    import copy

    alarm = copy.deepcopy(next(a for a in graph.of_type(ALARM) if a["name"] == name)["inputs"])
    change(alarm)
    return alarm


@pytest.mark.parametrize(
    "name, change, case",
    [
        ("nodes-not-ready", lambda a: a.update(treatMissingData="notBreaching"), "missing"),
        ("nodes-not-ready", lambda a: a.update(treatMissingData="missing"), "missing"),
        ("photos-unavailable", lambda a: a.update(treatMissingData="ignore"), "missing"),
        (
            "photos-unavailable",
            lambda a: a.update(comparisonOperator="LessThanOrEqualToThreshold"),
            "exactly the minimum",
        ),
        (
            "thumbs-restarts",
            lambda a: a.update(comparisonOperator="GreaterThanThreshold"),
            "the promised count in 5 minutes",
        ),
        ("thumbs-restarts", lambda a: a.update(evaluationPeriods=2), "the promised count in 5 minutes"),
        ("greeter-unavailable", lambda a: a.update(evaluationPeriods=1), "a minute less"),
        (
            "photos-5xx/photos",
            lambda a: a.update(threshold=a["threshold"] + 1),
            "one more 5xx, on the last route",
        ),
        (
            "greeter-latency/greet",
            lambda a: a["metricQueries"][-1].update(
                expression=a["metricQueries"][-1]["expression"].replace("MAX(", "MIN(")
            ),
            "a millisecond above, on the last route",
        ),
    ],
    ids=[
        "agent-down-quiet",
        "agent-down-insufficient",
        "unavailable-ignores-missing",
        "unavailable-at-minimum",
        "restarts-one-late",
        "restarts-two-periods",
        "unavailable-early",
        "5xx-threshold-up",
        "latency-min-of-routes",
    ],
)
def test_a_quieted_alarm_breaks_its_promise(fixture_graphs, name, change, case):
    graph = fixture_graphs["small"]
    alarm = _changed(graph, name, change)
    got, want = outcomes(alarm, name, graph, promises(ROOT / "tests" / "fixtures" / "project", "small"))[case]
    assert got != want


def test_an_alarm_of_unknown_purpose_is_refused():
    with pytest.raises(AssertionError, match="no pinned semantics"):
        purpose("disk-full")
