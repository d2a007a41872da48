"""A small evaluator of a CloudWatch metric alarm's definition over datapoint series, for the tests.

Semantics (Amazon CloudWatch User Guide, "Using Amazon CloudWatch alarms" (AlarmThatSendsEmail.html),
"Evaluating an alarm", and "Configuring how CloudWatch alarms treat missing data"
(alarms-and-missing-data.html)):
- the alarm looks at its last ``EvaluationPeriods`` (N) datapoints of ``Period`` seconds and goes to ALARM
  when ``DatapointsToAlarm`` (M, N when unset) of them breach the threshold, to OK otherwise;
- the comparison is the operator's (``GreaterThanThreshold``: value > threshold, ...);
- a missing datapoint is, by ``TreatMissingData``: ``breaching`` a breaching one, ``notBreaching`` a good one,
  ``ignore`` left out (all missing: the state stays), ``missing`` (the default) left out, and when every
  datapoint of the range is missing the alarm goes to INSUFFICIENT_DATA;
- with metric math (``Metrics``/``metricQueries``) the one query with ``ReturnData`` is the alarm's series,
  computed per period from the others. The functions modelled: FILL(x, v), IF(c, a, b), MAX/MIN/SUM([...]),
  + - * /, comparisons (1 or 0); a missing operand makes the result missing ("Using math expressions with
  CloudWatch metrics": FILL replaces missing values).
Not modelled (refused): anomaly-detection operators, other functions. The "evaluation range" CloudWatch widens
for missing data beyond N is not modelled: the series given are the N periods themselves.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Sequence
from typing import Any

Value = float | None
COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
COMPARISONS = {ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le}


def _evaluate(node: ast.AST, values: dict[str, Value]) -> Any:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, values)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.List):
        return [_evaluate(e, values) for e in node.elts]
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _evaluate(node.left, values), _evaluate(node.right, values)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None
        return BINARY[type(node.op)](left, right)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARISONS:
        left, right = _evaluate(node.left, values), _evaluate(node.comparators[0], values)
        return None if left is None or right is None else float(COMPARISONS[type(node.ops[0])](left, right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name, args = node.func.id, node.args
        if name == "FILL" and len(args) == 2:
            value = _evaluate(args[0], values)
            return _evaluate(args[1], values) if value is None else value
        if name == "IF" and len(args) == 3:
            condition = _evaluate(args[0], values)
            if condition is None:
                return None
            return _evaluate(args[1] if condition else args[2], values)
        if name in ("MAX", "MIN", "SUM") and len(args) == 1:
            present = [v for v in _evaluate(args[0], values) if v is not None]
            if not present:
                return None
            if name == "MAX":
                return max(present)
            return min(present) if name == "MIN" else sum(present)
    raise ValueError(f"metric math not modelled: {ast.dump(node)}")


def series(alarm: dict[str, Any], data: Callable[[dict[str, Any]], Sequence[Value]]) -> list[Value]:
    """The alarm's datapoints, oldest first: ``data(metric)`` gives each metric's (a dict with metricName,
    namespace, dimensions, stat or statistic)."""
    queries = alarm.get("metricQueries")
    if not queries:
        return list(data({k: alarm.get(k) for k in ("metricName", "namespace", "dimensions", "statistic")}))
    inputs = {q["id"]: list(data(q["metric"])) for q in queries if q.get("metric")}
    lengths = {len(v) for v in inputs.values()}
    assert len(lengths) == 1, f"series of different lengths: {lengths}"
    (length,) = lengths
    returned = [q for q in queries if q.get("returnData", True) and (q.get("expression") or q.get("metric"))]
    assert len(returned) == 1, f"{alarm.get('name')}: exactly one query returns data, found {len(returned)}"
    (result,) = returned
    if result.get("metric"):
        return inputs[result["id"]]
    tree = ast.parse(result["expression"], mode="eval")
    return [_evaluate(tree, {k: v[t] for k, v in inputs.items()}) for t in range(length)]


def state(
    alarm: dict[str, Any], data: Callable[[dict[str, Any]], Sequence[Value]], previous: str = "OK"
) -> str:
    """ALARM, OK or INSUFFICIENT_DATA after the alarm evaluates the series ``data`` gives."""
    compare = COMPARE.get(alarm["comparisonOperator"])
    if compare is None:
        raise ValueError(f"comparison not modelled: {alarm['comparisonOperator']}")
    n = int(alarm["evaluationPeriods"])
    m = int(alarm.get("datapointsToAlarm") or n)
    points = series(alarm, data)[-n:]
    treat = alarm.get("treatMissingData") or "missing"
    threshold = float(alarm["threshold"])
    breaching = 0
    present = 0
    for value in points:
        if value is None:
            if treat == "breaching":
                breaching += 1
                present += 1
            elif treat == "notBreaching":
                present += 1
            continue
        present += 1
        breaching += compare(value, threshold)
    if present == 0:
        return previous if treat == "ignore" else "INSUFFICIENT_DATA"
    return "ALARM" if breaching >= m else "OK"
