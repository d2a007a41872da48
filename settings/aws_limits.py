"""AWS's own limits on names and values, from the service models botocore ships.

Mocks accept any name or number; AWS does not. ``limit("iam CreateRole.RoleName")`` reads that member's
length, pattern and enum constraints (for a number: its range) from botocore's model of the service (the same
JSON the AWS SDKs are generated from), so the rules are AWS's, not a copy of them. A member may be a path
into nested structures (``cloudwatch PutMetricAlarm.Metrics.MetricStat.Period``; a list stands for each of its
elements). Where a model carries no constraint for a member, the documented limit in ``data/aws_names.yaml``
(with its source) is used instead and the message says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from botocore.loaders import Loader

from settings import strict_yaml

TABLE = Path(__file__).parent / "data" / "aws_names.yaml"
UNKNOWN = "[unknown]"  # how the offline graph writes a value not known at synth time


NUMERIC = {"integer", "long", "double", "float"}


@dataclass(frozen=True)
class Limit:
    member: str  # "iam CreateRole.RoleName"
    min: int | float | None = None
    max: int | float | None = None
    pattern: str | None = None
    enum: tuple[Any, ...] | None = None
    documented: str | None = None  # where the limit comes from when the model has none
    kind: str = "string"  # the model's shape type: a number's min and max bound its value, not its length
    narrows: bool = False  # the documented limit is tighter than the model's

    @property
    def source(self) -> str:
        if self.documented:
            model = "tighter than botocore's model" if self.narrows else "botocore's model sets no limit"
            return f"{self.member}: {self.documented}; {model}"
        return f"{self.member} in botocore's service model"

    def problem(self, value: Any) -> str | None:
        """What AWS would refuse about ``value``, or None."""
        if self.kind in NUMERIC:
            return self._number_problem(value)
        if self.max is not None and len(value) > self.max:
            return f"{len(value)} characters long; AWS allows at most {self.max}"
        if self.min is not None and len(value) < self.min:
            return f"{len(value)} characters long; AWS needs at least {self.min}"
        if self.enum is not None and value not in self.enum:
            return f"not one of {', '.join(self.enum)}"
        # Smithy patterns are not anchored, but AWS matches them against the whole value.
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return f"not matching AWS's pattern {self.pattern}"
        return None

    def _number_problem(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "not a number"
        if self.kind in ("integer", "long") and value != int(value):
            return "not a whole number"
        if self.max is not None and value > self.max:
            return f"above AWS's maximum of {self.max:g}"
        if self.min is not None and value < self.min:
            return f"below AWS's minimum of {self.min:g}"
        if self.enum is not None and value not in self.enum:
            return f"not one of {', '.join(map(str, self.enum))}"
        return None


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    return strict_yaml.load(TABLE.read_text())


@cache
def _model(service: str) -> dict[str, Any]:
    return Loader().load_service_model(service, "service-2")


def _member_shape(model: dict[str, Any], operation: str, path: str) -> dict[str, Any]:
    """The shape of ``path`` (dotted members) in the operation's input; a list stands for its elements."""
    shape = model["shapes"][model["operations"][operation]["input"]["shape"]]
    for name in path.split("."):
        shape = model["shapes"][shape["members"][name]["shape"]]
        while shape.get("type") == "list":
            shape = model["shapes"][shape["member"]["shape"]]
    return shape


@cache
def limit(member: str) -> Limit:
    """The constraints of ``"<service> <Operation>.<Member>[.<Member>...]"``."""
    service, rest = member.split(" ", 1)
    operation, name = rest.split(".", 1)
    shape = _member_shape(_model(service), operation, name)
    kind = shape.get("type", "string")
    found = Limit(
        member,
        min=shape.get("min"),
        max=shape.get("max"),
        pattern=shape.get("pattern"),
        enum=tuple(shape["enum"]) if "enum" in shape else None,
        kind=kind,
    )
    documented = _table()["documented"].get(member)
    # A documented limit fills only a silence of the model (the DynamoDB model limits an ARN, not a name).
    constrained = any(getattr(found, key) is not None for key in ("min", "max", "pattern", "enum"))
    # `narrows`: AWS documents a tighter limit than its model carries (KMS's 7-30 days in a 1-365 shape).
    narrows = bool(documented and documented.get("narrows"))
    if documented and constrained and not narrows and member != "dynamodb CreateTable.TableName":
        raise ValueError(f"{member}: the service model now has constraints; drop it from documented")
    if documented:
        return Limit(
            member,
            min=documented.get("min"),
            max=documented.get("max"),
            pattern=documented.get("pattern"),
            enum=tuple(documented["enum"]) if "enum" in documented else None,
            documented=documented["source"],
            kind=kind,
            narrows=narrows,
        )
    return found


def check(value: Any, member: str) -> str | None:
    """The rule ``value`` breaks and its source, as one phrase, or None."""
    found = limit(member)
    problem = found.problem(value)
    return f"{problem} ({found.source})" if problem else None


def _parse_path(path: str) -> list[str]:
    parts: list[str] = []
    for match in re.finditer(r'\["([^"]+)"\]|(\[\])|([^.\[\]]+)', path):
        parts.append(match.group(1) or match.group(2) or match.group(3))
    return parts


def _lookup_all(inputs: Any, parts: list[str], at: str = "") -> Iterator[tuple[str, Any]]:
    """Every (concrete path, value) ``parts`` reaches; ``[]`` walks every element of a list."""
    if not parts:
        yield at, inputs
        return
    part, rest = parts[0], parts[1:]
    if part == "[]":
        for i, element in enumerate(inputs if isinstance(inputs, list) else []):
            yield from _lookup_all(element, rest, f"{at}[{i}]")
        return
    if isinstance(inputs, dict) and part in inputs:
        shown = f'["{part}"]' if "." in part else (f".{part}" if at else part)
        yield from _lookup_all(inputs[part], rest, at + shown)


@dataclass(frozen=True)
class Finding:
    input: str
    value: str
    problem: str | None  # None: checked and fine
    skipped: bool = False  # not known at synth time


def check_resource(typ: str, inputs: dict[str, Any]) -> Iterator[Finding]:
    """Every mapped input of one resource (its names, and its values AWS constrains), checked. Inputs not set
    (auto-named by the provider, which keeps within the limit: pulumi-aws AutoName; a value left to AWS's
    default) yield nothing; values unknown at synth are skipped."""
    table = _table()
    mapped = {**(table["members"].get(typ) or {}), **(table.get("values", {}).get(typ) or {})}
    for path, member in mapped.items():
        for at, value in _lookup_all(inputs, _parse_path(path)):
            if value is None:
                continue
            if isinstance(value, str) and UNKNOWN in value:
                yield Finding(at, value, None, skipped=True)
                continue
            if limit(member).kind not in NUMERIC and not isinstance(value, str):
                yield Finding(at, str(value), None, skipped=True)
                continue
            yield Finding(at, str(value), check(value, member))


def mapped_types() -> set[str]:
    return set(_table()["members"]) | set(_table().get("values", {}))
