"""Reads Pulumi.yaml and Pulumi.<stack>.yaml as the CLI would and hands the result to the SDK.

The SDK never reads these files: under the CLI the engine does, here this module does, applying the
project-level defaults and values of Pulumi.yaml first so both see the same config.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from settings import strict_yaml

SECRET_PLACEHOLDER = "offline-placeholder-for-a-secret"


class StackConfigError(Exception):
    pass


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _replace_secure(value: Any, secret_keys: set[str], key: str) -> Any:
    # `secure:` values are encrypted with the stack's secrets provider and cannot be read offline.
    if isinstance(value, dict) and set(value) == {"secure"}:
        secret_keys.add(key)
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {k: _replace_secure(v, secret_keys, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_secure(v, secret_keys, key) for v in value]
    return value


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
        data = strict_yaml.load(text)
    except FileNotFoundError:
        raise StackConfigError(f"{path}: no such stack file") from None
    except strict_yaml.YAMLError as exc:
        raise StackConfigError(f"{path}: not valid YAML: {strict_yaml.problem(exc, text)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise StackConfigError(f"{path}: must be a YAML mapping")
    return data


def load_stack_config(
    root: Path, stack: str, config_file: Path | None = None
) -> tuple[str, dict[str, str], list[str]]:
    """Returns (project, config as the CLI passes it: every value a string, secret keys)."""
    project_file = read_yaml(root / "Pulumi.yaml")
    project = project_file["name"]
    values: dict[str, Any] = {}
    for key, declaration in (project_file.get("config") or {}).items():
        full = _full_key(project, key)
        if isinstance(declaration, dict):
            if "value" in declaration:
                values[full] = declaration["value"]
            elif "default" in declaration:
                values[full] = declaration["default"]
        else:
            values[full] = declaration

    stack_file = read_yaml(config_file or root / f"Pulumi.{stack}.yaml")
    secret_keys: set[str] = set()
    stack_values = stack_file.get("config") or {}
    if not isinstance(stack_values, dict):
        raise StackConfigError(f"{config_file or f'Pulumi.{stack}.yaml'}: `config` must be a mapping")
    for key, value in stack_values.items():
        full = _full_key(project, key)
        values[full] = _replace_secure(value, secret_keys, full)

    # The CLI passes strings, and structured values as JSON text.
    as_cli = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    return project, as_cli, sorted(secret_keys)
