"""The settings layer: the typed, validated view of one stack's config and of the API catalog.

``load(config, project=, stack=)`` is pure (a dict in, ``Settings`` or ``SettingsError`` out) and is
shared by the Pulumi program, the offline engine and the operational tools. ``from_pulumi()`` reads the
config the Pulumi runtime was given (by the CLI, or by the offline engine) and calls ``load``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from settings import strict_yaml
from settings.catalog import ApiSpec, Autoscaling, Catalog, Resources
from settings.errors import SettingsError, from_validation_error, show
from settings.models import Canary, StackSettings

__all__ = ["Api", "Settings", "SettingsError", "StackSettings", "load", "from_pulumi", "NAMESPACE", "ROOT"]

NAMESPACE = "picturesocial"
ROOT = Path(__file__).resolve().parents[1]
# Keys outside our namespace that the settings read; every other namespace belongs to its provider.
FOREIGN_KEYS = ("aws:region", "aws:allowedAccountIds")


@dataclass(frozen=True)
class Api:
    """One API as deployed in one stack: the catalog entry with the stack's values applied."""

    name: str
    spec: ApiSpec
    tag: str
    digest: str | None
    resources: Resources
    autoscaling: Autoscaling
    canary: Canary | None

    @property
    def namespace(self) -> str:
        return self.spec.namespace


@dataclass(frozen=True)
class Settings:
    stack: StackSettings
    catalog: Catalog
    apis: dict[str, Api]


def _decode(value: Any) -> Any:
    """The CLI hands structured config to the program as JSON text; plain strings stay strings."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def load_catalog(path: Path) -> Catalog:
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    try:
        data = strict_yaml.load(path.read_text())
    except FileNotFoundError:
        raise SettingsError([f"{NAMESPACE}:catalog: \"{shown}\" does not exist"]) from None
    except yaml.YAMLError as exc:
        raise SettingsError([f"{shown}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    try:
        return Catalog.model_validate(data or {})
    except ValidationError as exc:
        raise SettingsError([f"{shown}: {line}" for line in from_validation_error(exc).lines]) from None


def _resolve(stack: StackSettings, catalog: Catalog) -> dict[str, Api]:
    problems = []
    for name in sorted(set(catalog.apis) - set(stack.apis)):
        problems.append(f"{NAMESPACE}:apis.{name}: is required: {stack.catalog_file} declares it, so every "
                        "stack must give its tag")
    for name in sorted(set(stack.apis) - set(catalog.apis)):
        problems.append(f"{NAMESPACE}:apis.{name}: {show(name)} is not an API of {stack.catalog_file} "
                        f"({', '.join(sorted(catalog.apis))})")
    if problems:
        raise SettingsError(problems)
    apis = {}
    for name, spec in sorted(catalog.apis.items()):
        values = stack.apis[name]
        bounds = values.replicas
        autoscaling = spec.autoscaling
        if bounds is not None:
            merged = {**autoscaling.model_dump(), **bounds.model_dump(exclude_none=True)}
            try:
                autoscaling = Autoscaling.model_validate(merged)
            except ValidationError as exc:
                raise from_validation_error(exc, (f"{NAMESPACE}:apis", name, "replicas")) from None
        apis[name] = Api(name=name, spec=spec, tag=values.tag, digest=values.digest,
                         resources=values.resources or spec.resources, autoscaling=autoscaling,
                         canary=values.canary)
    return apis


def load(config: Mapping[str, Any], *, project: str, stack: str) -> Settings:
    wanted = {
        key: _decode(value)
        for key, value in config.items()
        if key.startswith(f"{NAMESPACE}:") or key in FOREIGN_KEYS
    }
    try:
        stack_settings = StackSettings.model_validate({"project": project, "stack": stack, **wanted})
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    catalog = load_catalog(ROOT / stack_settings.catalog_file)
    return Settings(stack=stack_settings, catalog=catalog, apis=_resolve(stack_settings, catalog))


def from_pulumi() -> Settings:
    import pulumi
    from pulumi.runtime import config as runtime_config

    config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return load(config, project=pulumi.get_project(), stack=pulumi.get_stack())
