"""Evaluates an identity-based IAM policy for one request, offline, for the tests.

No maintained Python library evaluates IAM conditions (moto's evaluator skips every operator but StringEquals,
which would make a missing permission pass). This one knows the operators the project's policies use and
refuses any other, so a test can never pass because a condition was ignored. Semantics: IAM user guide,
"Policy evaluation logic" (an explicit Deny wins; otherwise an Allow whose Action, Resource and every
Condition match).
"""

from __future__ import annotations

import fnmatch
from typing import Any


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


# Each negated operator and the one it negates.
NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _operator(operator: str, key: str, wanted: list[str], context: dict[str, Any]) -> bool:
    present = key in context
    actual = _as_list(context.get(key)) if present else []
    if operator == "Null":
        return (not present) == (str(wanted[0]).lower() == "true")
    if operator.endswith("IfExists") and not present:
        return True
    base = operator.removesuffix("IfExists")
    if base in NEGATED:
        # IAM user guide, "Condition operators": a negated operator matches a request without the key.
        return not present or not _operator(NEGATED[base], key, wanted, context)
    if base.startswith("ForAllValues:"):
        inner = base.split(":", 1)[1]
        return all(_operator(inner, key, wanted, {key: value}) for value in actual)
    if base.startswith("ForAnyValue:"):
        inner = base.split(":", 1)[1]
        return any(_operator(inner, key, wanted, {key: value}) for value in actual)
    if not present:
        return False
    value = str(actual[0])
    if base == "StringEquals":
        return value in map(str, wanted)
    if base == "ArnEquals":
        # ARNs compare segment by segment, each as StringLike: without a wildcard, equality.
        return any(_like(str(w), value) for w in wanted)
    if base in ("StringLike", "ArnLike"):
        return any(_like(str(w), value) for w in wanted)
    if base == "Bool":
        return value.lower() == str(wanted[0]).lower()
    raise ValueError(
        f"condition operator {operator} is not known to this evaluator: teach it, do not skip it"
    )


def _statement_matches(
    statement: dict[str, Any], action: str, resource: str, context: dict[str, Any]
) -> bool:
    if "Action" in statement:
        if not any(_like(a.lower(), action.lower()) for a in _as_list(statement["Action"])):
            return False
    elif any(_like(a.lower(), action.lower()) for a in _as_list(statement["NotAction"])):
        return False
    if not any(_like(r, resource) for r in _as_list(statement.get("Resource", "*"))):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, wanted in keys.items():
            if not _operator(operator, key, _as_list(wanted), context):
                return False
    return True


def allowed(
    policy: dict[str, Any], action: str, resource: str, context: dict[str, Any] | None = None
) -> bool:
    """Whether ``policy`` allows ``action`` on ``resource`` with the request ``context`` (condition keys)."""
    context = context or {}
    statements = _as_list(policy["Statement"])
    if any(s["Effect"] == "Deny" and _statement_matches(s, action, resource, context) for s in statements):
        return False
    return any(
        s["Effect"] == "Allow" and _statement_matches(s, action, resource, context) for s in statements
    )
