"""Which inputs make Pulumi replace a resource, per type (tools/data/replacement_inputs.yaml).

The diff reads it to tell a replacement from an update; the fake cloud reads it to give a replaced resource
new ids, so that what depends on them changes too, as it would for real.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

TABLE = Path(__file__).resolve().parents[1] / "data" / "replacement_inputs.yaml"


@cache
def load_table(path: Path = TABLE) -> dict[str, tuple[tuple[str, ...], ...]]:
    types = yaml.safe_load(path.read_text())["types"]
    return {typ: tuple(tuple(p.split(".")) for p in entry["inputs"]) for typ, entry in types.items()}


def forces_replacement(parts: list[Any], forcing: tuple[tuple[str, ...], ...]) -> bool:
    """Whether a change at input path ``parts`` replaces the resource (a table path covers what is below
    it)."""
    keys = tuple(str(p) for p in parts)
    return any(keys[: len(t)] == t for t in forcing)


def identity_inputs(typ: str, inputs: dict[str, Any]) -> list[Any]:
    """The values of the replace-forcing inputs: what a resource's identity (its id) depends on."""
    out = []
    for path in load_table().get(typ, ()):
        value: Any = inputs
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        out.append(value)
    return out
