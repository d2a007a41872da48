"""YAML as the Pulumi CLI reads it: YAML 1.2 (`no` is a string, as in Go's yaml.v3), and a key given twice is
an error, not silently the last value. ruamel.yaml's own duplicate-key check does the refusing."""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import YAMLError

__all__ = ["YAMLError", "load", "problem"]


def load(text: str) -> Any:
    """A fresh document each call: callers may change it."""
    return copy.deepcopy(_parsed(text))


# A process that synthesizes several stacks (tools.diff, tools.snapshot, the test suite) reads the same
# catalog and stack files each time; ruamel.yaml's parser is pure Python (~9% of a synth, profiled), a copy of
# the parsed document a fraction of that. Errors are not cached: a bad document raises on every call.
@functools.lru_cache(maxsize=64)
def _parsed(text: str) -> Any:
    return YAML(typ="safe").load(text)


def problem(exc: YAMLError, text: str | None = None) -> str:
    """One line: what is wrong, and on which line. A key given twice names the key and both lines (ruamel's
    own message shows the two values, often just ``{}``); ``text`` is the document, to find the first one."""
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, DuplicateKeyError) and mark is not None:
        key = re.match(r'found duplicate key "(.*?)" with value', what or "")
        if key:
            first = _first_line_of(key.group(1), text, exc.context_mark, mark) if text else None
            where = f"lines {first + 1} and {mark.line + 1}" if first is not None else f"line {mark.line + 1}"
            return f'duplicate key "{key.group(1)}" ({where}): a key may be given once'
    return f"{what} (line {mark.line + 1})" if mark is not None else what


def _first_line_of(key: str, text: str, start: Any, duplicate: Any) -> int | None:
    """The line of the key's first occurrence in the mapping that holds its duplicate: the last line before
    the duplicate, at the same column, that gives the key."""
    lines = text.splitlines()
    quoted = re.escape(key)
    given = re.compile(r"\s*(?:" + quoted + r"|\"" + quoted + r"\"|'" + quoted + r"')\s*:")
    for number in range(duplicate.line - 1, (start.line if start is not None else 0) - 1, -1):
        line = lines[number]
        if len(line) - len(line.lstrip(" ")) == duplicate.column and given.match(line):
            return number
    return None
