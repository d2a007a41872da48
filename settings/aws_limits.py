"""AWS's own limits on names, from the service models botocore ships.

Mocks accept any name; AWS does not. ``limit("iam CreateRole.RoleName")`` reads that member's length,
pattern and enum constraints from botocore's model of the service (the same JSON the AWS SDKs are generated
from), so the rules are AWS's, not a copy of them. Where a model carries no constraint for a member, the
documented limit in ``data/aws_names.yaml`` (with its source) is used instead and the message says so.
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


@dataclass(frozen=True)
class Limit:
    member: str  # "iam CreateRole.RoleName"
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] | None = None
    documented: str | None = None  # where the limit comes from when the model has none

    @property
    def source(self) -> str:
        if self.documented:
            return f"{self.member}: {self.documented}; botocore's model sets no limit"
        return f"{self.member} in botocore's service model"

    def problem(self, value: str) -> str | None:
        """What AWS would refuse about ``value``, or None."""
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


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    return strict_yaml.load(TABLE.read_text())


@cache
def _model(service: str) -> dict[str, Any]:
    return Loader().load_service_model(service, "service-2")


@cache
def limit(member: str) -> Limit:
    """The constraints of ``"<service> <Operation>.<Member>"``."""
    service, rest = member.split(" ", 1)
    operation, name = rest.split(".", 1)
    model = _model(service)
    request = model["shapes"][model["operations"][operation]["input"]["shape"]]
    shape = model["shapes"][request["members"][name]["shape"]]
    found = Limit(
        member,
        min=shape.get("min"),
        max=shape.get("max"),
        pattern=shape.get("pattern"),
        enum=tuple(shape["enum"]) if "enum" in shape else None,
    )
    documented = _table()["documented"].get(member)
    # A documented limit fills only a silence of the model (the DynamoDB model limits an ARN, not a name).
    constrained = any(getattr(found, key) is not None for key in ("min", "max", "pattern", "enum"))
    if documented and constrained and member != "dynamodb CreateTable.TableName":
        raise ValueError(f"{member}: the service model now has constraints; drop it from documented")
    if documented:
        return Limit(
            member,
            min=documented.get("min"),
            max=documented.get("max"),
            pattern=documented.get("pattern"),
            documented=documented["source"],
        )
    return found


def check(value: str, member: str) -> str | None:
    """The rule ``value`` breaks and its source, as one phrase, or None."""
    found = limit(member)
    problem = found.problem(value)
    return f"{problem} ({found.source})" if problem else None


def _parse_path(path: str) -> list[str]:
    parts: list[str] = []
    for match in re.finditer(r'\["([^"]+)"\]|([^.\[\]]+)', path):
        parts.append(match.group(1) or match.group(2))
    return parts


def _lookup(inputs: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(inputs, dict) or part not in inputs:
            return None
        inputs = inputs[part]
    return inputs


@dataclass(frozen=True)
class Finding:
    input: str
    value: str
    problem: str | None  # None: checked and fine
    skipped: bool = False  # not known at synth time


def check_resource(typ: str, inputs: dict[str, Any]) -> Iterator[Finding]:
    """Every mapped name-like input of one resource, checked. Inputs not set (auto-named by the provider,
    which keeps within the limit: pulumi-aws AutoName) yield nothing; values unknown at synth are skipped."""
    for path, member in (_table()["members"].get(typ) or {}).items():
        value = _lookup(inputs, _parse_path(path))
        if value is None:
            continue
        if not isinstance(value, str) or UNKNOWN in value:
            yield Finding(path, str(value), None, skipped=True)
            continue
        yield Finding(path, value, check(value, member))


def mapped_types() -> set[str]:
    return set(_table()["members"])
