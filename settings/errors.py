"""One-line, key-path-first error messages for invalid stack config and catalog entries.

pydantic does the validating; this module only turns its errors into the lines a user reads:
``picturesocial:nodeGroups.general.minSize: 5 is greater than maxSize 4``. Messages come from a table keyed
by pydantic's error *type* (stable across pydantic releases), never from rewriting its English text.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

from pydantic import BaseModel, ValidationError
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


def rules(problems: Sequence[tuple[str | None, str]]) -> PydanticCustomError:
    """Several problems of one object, each reported on its own line: ``[(field, message), ...]``.
    A model validator collects them all instead of stopping at the first."""
    first = problems[0][1] if problems else ""
    return PydanticCustomError(
        "rules", "{message}", {"message": first, "problems": [list(p) for p in problems]}
    )


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
        elif isinstance(part, str) and part.startswith("["):  # a field given as "[3]" or "[3].name"
            path += part
        elif not path:
            path = str(part)
        else:
            path += f".{part}"
    return path


def _quote_hint(value: Any) -> str:
    """YAML turns unquoted 1.0 or 1.30 into numbers; say so, and say what to write instead."""
    text = show(value)
    hint = f'{text} is a number in YAML, not a string: quote it ("{text}")'
    if isinstance(value, float) and len(text.split(".")[-1]) == 1:
        hint += f"; an unquoted {text}0 is read as {text} too"
    return hint


def _bounds(ctx: dict[str, Any]) -> str:
    return " and ".join(
        f"{word} {ctx[key]:g}" if isinstance(ctx[key], float) else f"{word} {ctx[key]}"  # 0, not 0.0
        for key, word in (("ge", "at least"), ("gt", "greater than"), ("le", "at most"), ("lt", "less than"))
        if key in ctx
    )


def _expected(ctx: dict[str, Any]) -> str:
    return str(ctx.get("expected", "")).replace("'", '"')


# pydantic error type -> the rule, as read after "<key>: <value> ". ``{v}`` is the shown value.
MESSAGES: dict[str, Any] = {
    "string_type": lambda v, ctx, raw: (
        _quote_hint(raw)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool)
        else f"{v} must be a string"
    ),
    "int_type": "{v} must be a whole number",
    "int_parsing": "{v} must be a whole number",
    "int_from_float": "{v} must be a whole number",
    "float_type": "{v} must be a number",
    "float_parsing": "{v} must be a number",
    "bool_type": "{v} must be true or false",
    "bool_parsing": "{v} must be true or false",
    "literal_error": lambda v, ctx, raw: f"{v} must be {_expected(ctx)}",
    "enum": lambda v, ctx, raw: f"{v} must be {_expected(ctx)}",
    "greater_than_equal": lambda v, ctx, raw: f"{v} must be {_bounds(ctx)}",
    "greater_than": lambda v, ctx, raw: f"{v} must be {_bounds(ctx)}",
    "less_than_equal": lambda v, ctx, raw: f"{v} must be {_bounds(ctx)}",
    "less_than": lambda v, ctx, raw: f"{v} must be {_bounds(ctx)}",
    "too_short": lambda v, ctx, raw: (
        f"{v} must have at least {ctx['min_length']} {'entry' if ctx['min_length'] == 1 else 'entries'}"
    ),
    "too_long": lambda v, ctx, raw: f"{v} must have at most {ctx['max_length']} entries",
    "string_too_short": lambda v, ctx, raw: f"{v} must be at least {ctx['min_length']} characters",
    "string_too_long": lambda v, ctx, raw: f"{v} must be at most {ctx['max_length']} characters",
    "string_pattern_mismatch": lambda v, ctx, raw: f"{v} must match the pattern {ctx['pattern']}",
    "dict_type": "{v} must be a mapping (key: value pairs)",
    "model_type": "{v} must be a mapping (key: value pairs)",
    "model_attributes_type": "{v} must be a mapping (key: value pairs)",
    "list_type": "{v} must be a list",
    "ip_v4_network": "{v} is not a valid IPv4 network such as 10.0.0.0/16",
    "ip_v4_address": "{v} is not a valid IPv4 address",
    "url_parsing": "{v} is not a valid URL",
    "url_scheme": lambda v, ctx, raw: f"{v} must be a URL with scheme {_expected(ctx)}",
    "value_error": lambda v, ctx, raw: str(ctx.get("error", "")),
}


def _message(err: Mapping[str, Any]) -> str:
    kind, ctx, raw = err["type"], err.get("ctx") or {}, err.get("input")
    template = MESSAGES.get(kind)
    value = show(raw)
    if template is None:  # a type this table does not know yet: pydantic's own words, still one line
        text = err["msg"]
        return f"{value} is invalid: {text[0].lower() + text[1:]}"
    if callable(template):
        return template(value, ctx, raw)
    return template.format(v=value)


# -- "did you mean": the keys a model accepts at a location ------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """``Optional[X]``, ``Annotated[X, ...]`` -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` (None when ``loc`` leaves models)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = typing.cast(type[BaseModel], current).model_fields
            field = next((f for name, f in fields.items() if part in (name, f.alias)), None)
            if field is None:
                return None
            current = field.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) is list:
            current = typing.get_args(current)[0]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _known_keys(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    found = _model_at(model, loc) if model else None
    if found is None:
        return []
    return [field.alias or name for name, field in found.model_fields.items()]


def from_validation_error(
    exc: ValidationError, prefix: tuple[Any, ...] = (), model: type[BaseModel] | None = None
) -> SettingsError:
    """One line per problem. A mistyped key (``nodeGroup``) gives one line with the key it resembles, and
    the "is required" line of that key is dropped: it is the same mistake."""
    errors = exc.errors(include_url=False)
    suggestions: dict[tuple[Any, ...], str] = {}
    for err in errors:
        if err["type"] == "extra_forbidden":
            loc = tuple(err["loc"])
            close = difflib.get_close_matches(str(loc[-1]), _known_keys(model, loc[:-1]), n=1, cutoff=0.6)
            if close:
                suggestions[loc] = close[0]
    typo_for = {loc[:-1] + (key,) for loc, key in suggestions.items()}
    lines: list[str] = []
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "missing" and loc in typo_for:
            continue
        full = prefix + loc
        if err["type"] in ("rule", "rules"):
            ctx = err.get("ctx") or {}
            problems = ctx.get("problems") or [[ctx.get("field"), ctx["message"]]]
            for field, message in problems:
                lines.append(f"{key_path(full + ((field,) if field else ()))}: {message}")
        elif err["type"] == "extra_forbidden":
            hint = (
                f"; did you mean {key_path(full[:-1] + (suggestions[loc],))}?"
                if loc in suggestions
                else " (not part of the settings schema)"
            )
            lines.append(f"{key_path(full)}: unknown key{hint}")
        elif err["type"] == "missing":
            lines.append(f"{key_path(full)}: is required")
        else:
            lines.append(f"{key_path(full)}: {_message(err)}")
    return SettingsError(lines)
