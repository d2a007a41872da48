"""The settings layer: the typed, validated view of one stack's config.

``load(config, project=, stack=)`` is pure (a dict in, ``StackSettings`` or ``SettingsError`` out) and
is shared by the Pulumi program, the offline engine and the operational tools. ``from_pulumi()`` reads
the config the Pulumi runtime was given (by the CLI, or by the offline engine) and calls ``load``.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from pydantic import ValidationError

from settings.errors import SettingsError, from_validation_error
from settings.models import StackSettings

__all__ = ["SettingsError", "StackSettings", "load", "from_pulumi", "NAMESPACE"]

NAMESPACE = "picturesocial"
# Keys outside our namespace that the settings read; every other namespace belongs to its provider.
FOREIGN_KEYS = ("aws:region", "aws:allowedAccountIds")


def _decode(value: Any) -> Any:
    """The CLI hands structured config to the program as JSON text; plain strings stay strings."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def load(config: Mapping[str, Any], *, project: str, stack: str) -> StackSettings:
    wanted = {
        key: _decode(value)
        for key, value in config.items()
        if key.startswith(f"{NAMESPACE}:") or key in FOREIGN_KEYS
    }
    # aws:region is a plain string even when it looks like JSON to nobody; keep it verbatim.
    if "aws:region" in config:
        wanted["aws:region"] = config["aws:region"]
    try:
        return StackSettings.model_validate({"project": project, "stack": stack, **wanted})
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def from_pulumi() -> StackSettings:
    import pulumi
    from pulumi.runtime import config as runtime_config

    config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return load(config, project=pulumi.get_project(), stack=pulumi.get_stack())
