"""One-line, key-path-first error messages for invalid stack config and catalog entries.

pydantic does the validating; this module only turns its errors into the lines a user reads:
``picturesocial:nodeGroups.general.minSize: 5 is greater than maxSize 4``.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from pydantic import ValidationError
from pydantic_core import PydanticCustomError


class SettingsError(Exception):
    """Invalid configuration. ``lines`` holds one message per problem, each naming key, value and rule."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


def rule(message: str, field: str | None = None) -> PydanticCustomError:
    """An error raised from a validator. ``field`` names the key it is about, below the model's own path
    (a model validator comparing ``minSize`` with ``maxSize`` reports ``...general.minSize``)."""
    return PydanticCustomError("rule", "{message}", {"message": message, "field": field})


def show(value: Any) -> str:
    """A value as the user wrote it: strings quoted, structures as compact JSON."""
    try:
        return json.dumps(value, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        return repr(value)


def key_path(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for "the key itself was invalid"
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        elif not path:
            path = str(part)
        else:
            path += f".{part}"
    return path


def _line(prefix: tuple[Any, ...], err: dict[str, Any]) -> str:
    loc = prefix + tuple(err["loc"])
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "rule":
        if ctx.get("field"):
            loc = loc + (ctx["field"],)
        return f"{key_path(loc)}: {ctx['message']}"
    if kind == "extra_forbidden":
        return f"{key_path(loc)}: unknown key (a typo? it is not part of the settings schema)"
    if kind == "missing":
        return f"{key_path(loc)}: is required"
    value = show(err.get("input"))
    message = err["msg"]
    # pydantic says "Value error, <ours>" for ValueError raised in validators.
    message = message.removeprefix("Value error, ")
    message = message.replace("Input should be", "must be").replace("String should", "must")
    message = message.replace("Input is not", "is not").replace("input is not", "is not")
    message = message.replace("List should", "must").replace("Dictionary should", "must")
    return f"{key_path(loc)}: {value} {message[0].lower() + message[1:]}"


def from_validation_error(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> SettingsError:
    return SettingsError([_line(prefix, err) for err in exc.errors(include_url=False)])
