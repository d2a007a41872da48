"""YAML as the Pulumi CLI reads it: YAML 1.2 (`no` is a string, as in Go's yaml.v3), and a key given twice is
an error, not silently the last value. ruamel.yaml's own duplicate-key check does the refusing."""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

__all__ = ["YAMLError", "load", "problem"]


def load(text: str) -> Any:
    return YAML(typ="safe").load(text)


def problem(exc: YAMLError) -> str:
    """One line: what is wrong, and on which line."""
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{what} (line {mark.line + 1})" if mark is not None else what
