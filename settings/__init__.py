"""The settings layer: the typed, validated view of one stack's config and of the API catalog.

``load(config, project=, stack=)`` is pure (a dict in, ``Settings`` or ``SettingsError`` out) and is
shared by the Pulumi program, the offline engine and the operational tools. ``from_pulumi()`` reads the
config the Pulumi runtime was given (by the CLI, or by the offline engine) and calls ``load``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from settings import addons, aws_limits, kubernetes, strict_yaml
from settings.catalog import ApiSpec, Autoscaling, Catalog, Resources
from settings.errors import SettingsError, from_validation_error, show
from settings.models import Canary, StackSettings

__all__ = ["Api", "Settings", "SettingsError", "StackSettings", "load", "from_pulumi", "NAMESPACE", "CATALOG"]

NAMESPACE = "picturesocial"
# The API catalog, relative to the project directory (the one holding Pulumi.yaml and __main__.py).
CATALOG = Path("workloads/catalog.yaml")
# Keys outside our namespace that the settings read. The providers are explicit (infra/provider.py), so no
# other key of their namespaces is read by anything: one there is a typo or a leftover, and an error.
FOREIGN_KEYS = ("aws:region", "aws:allowedAccountIds")
PROVIDER_NAMESPACES = ("aws", "eks", "kubernetes")


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
    # What holds today but needs someone's attention soon (a Kubernetes version near its end of support).
    warnings: list[str] = field(default_factory=list)

    @property
    def deployed_tags(self) -> dict[str, list[str]]:
        """Per API, the image tags this stack runs (stable and canary): what the registry must keep."""
        return {name: [api.tag] + ([api.canary.tag] if api.canary else []) for name, api in self.apis.items()}

    @property
    def deployed_images(self) -> dict[str, list[tuple[str, str | None]]]:
        """Per API, (tag, digest) of every image this stack runs (stable, then canary)."""
        return {
            name: [(api.tag, api.digest)] + ([(api.canary.tag, api.canary.digest)] if api.canary else [])
            for name, api in self.apis.items()
        }


def _decode(value: Any) -> Any:
    """The CLI hands structured config to the program as JSON text; plain strings stay strings."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def load_catalog(project_dir: Path) -> Catalog:
    """The project's API catalog, ``<project>/workloads/catalog.yaml``."""
    shown = CATALOG
    try:
        text = (project_dir / CATALOG).read_text()
        data = strict_yaml.load(text)
    except FileNotFoundError:
        raise SettingsError([f"{CATALOG}: no such file in {project_dir}"]) from None
    except strict_yaml.YAMLError as exc:
        raise SettingsError([f"{shown}: not valid YAML: {strict_yaml.problem(exc, text)}"]) from None
    try:
        return Catalog.model_validate(data or {})
    except ValidationError as exc:
        raise SettingsError(
            [f"{shown}: {line}" for line in from_validation_error(exc, model=Catalog).lines]
        ) from None


def _resolve(stack: StackSettings, catalog: Catalog) -> dict[str, Api]:
    problems = []
    for name in sorted(set(catalog.apis) - set(stack.apis)):
        problems.append(
            f"{NAMESPACE}:apis.{name}: is required: {CATALOG} declares it, so every stack must give its tag"
        )
    for name in sorted(set(stack.apis) - set(catalog.apis)):
        problems.append(
            f"{NAMESPACE}:apis.{name}: {show(name)} is not an API of {CATALOG} "
            f"({', '.join(sorted(catalog.apis))})"
        )
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
        apis[name] = Api(
            name=name,
            spec=spec,
            tag=values.tag,
            digest=values.digest,
            resources=values.resources or spec.resources,
            autoscaling=autoscaling,
            canary=values.canary,
        )
    return apis


def _name_problems(stack: StackSettings, catalog: Catalog) -> list[str]:
    """Physical names AWS (or Kubernetes) would refuse, each blamed on the config key that makes it.

    A derived name (``<cluster>-<bucket>``) is blamed on the cluster name when even the shortest key would
    not fit after it, and on the catalog key otherwise."""
    names = stack.names
    cluster_key = (
        f"{NAMESPACE}:cluster.name"
        if stack.cluster.name
        else f'{NAMESPACE}:cluster.name (default "{stack.cluster_name}")'
    )
    shown = CATALOG
    problems: dict[str, str] = {}

    def check(key: str, what: str, value: str, member: str) -> bool:
        problem = aws_limits.check(value, member)
        if problem and key not in problems:
            problems[key] = f"{key}: {what} {show(value)} is {problem}"
        return problem is None

    check(cluster_key, "the EKS cluster name", names.cluster, "eks CreateCluster.name")
    check(
        cluster_key,
        "the control-plane log group",
        names.control_plane_log_group,
        "logs CreateLogGroup.logGroupName",
    )
    check(cluster_key, "the KMS alias", names.secrets_key_alias, "kms CreateAlias.AliasName")
    derived: list[tuple[str, Callable[[str], str], str, str, Mapping[str, object]]] = [
        ("ECR repository", names.repository, "ecr CreateRepository.repositoryName", "apis", catalog.apis),
        ("S3 bucket", names.bucket, "s3 CreateBucket.Bucket", "buckets", catalog.buckets),
        ("DynamoDB table", names.table, "dynamodb CreateTable.TableName", "tables", catalog.tables),
        (
            "load balancer",
            names.load_balancer,
            "elbv2 CreateLoadBalancer.Name",
            "apis",
            {name: api for name, api in catalog.apis.items() if api.exposed},
        ),
    ]
    for what, name_of, member, section, keys in derived:
        # Too long whatever the key: the cluster name's fault.
        if keys and aws_limits.check(name_of("a"), member):
            check(cluster_key, f"leaves no room for {what} names:", name_of(min(keys)), member)
            continue
        for key in sorted(keys):
            check(f"{shown}: {section}.{key}", f"the {what} name", name_of(key), member)
    if stack.karpenter.enabled:
        check(
            cluster_key, "Karpenter's interruption queue", names.karpenter_queue, "sqs CreateQueue.QueueName"
        )
        check(cluster_key, "Karpenter's node role", names.karpenter_node_role, "iam CreateRole.RoleName")
    for api, spec in sorted(catalog.apis.items()):
        # Kubernetes, not AWS: a Service name is a DNS-1035 label of at most 63 characters.
        if spec.exposed and len(f"{api}-lb") > 63:
            problems.setdefault(
                f"{shown}: apis.{api}",
                f'{shown}: apis.{api}: the Service name "{api}-lb" is '
                f"{len(api) + 3} characters long; Kubernetes allows at most 63 (a DNS-1035 label)",
            )
    return list(problems.values())


def _in_file(stack_file: str, line: str) -> str:
    """Every line names its file: the catalog's already do; the rest are the stack file's."""
    return line if line.startswith(f"{CATALOG}:") else f"{stack_file}: {line}"


def load(
    config: Mapping[str, Any], *, project: str, stack: str, project_dir: Path, today: dt.date | None = None
) -> Settings:
    """``config`` as the CLI passes it (every value a string, objects as JSON text). With ``today``, the
    cluster's Kubernetes version is held to the EKS support calendar on that date."""
    wanted = {
        key: _decode(value)
        for key, value in config.items()
        if key.startswith(f"{NAMESPACE}:") or key.split(":")[0] in PROVIDER_NAMESPACES
    }
    # Every independent problem in one round: the stack file's and the catalog's are reported together; the
    # checks that need both (tags per API, derived names) run when both are valid.
    problems: list[str] = []
    stack_settings: StackSettings | None = None
    catalog: Catalog | None = None
    try:
        stack_settings = StackSettings.model_validate(
            {"project": project, "stack": stack, **wanted}, context={"today": today}
        )
    except ValidationError as exc:
        problems += from_validation_error(exc, model=StackSettings).lines
    try:
        catalog = load_catalog(project_dir)
    except SettingsError as exc:
        problems += exc.lines
    apis: dict[str, Api] = {}
    if stack_settings is not None and catalog is not None:
        try:
            apis = _resolve(stack_settings, catalog)
        except SettingsError as exc:
            problems += exc.lines
        problems += _name_problems(stack_settings, catalog)
    if problems:
        raise SettingsError([_in_file(f"Pulumi.{stack}.yaml", line) for line in problems])
    assert stack_settings is not None and catalog is not None
    warnings = []
    if today is not None:  # a refusal was raised by the model; what is left is a warning, or nothing
        cluster = stack_settings.cluster
        _, warning = kubernetes.support(
            cluster.version, cluster.support_type, today, addons.kubernetes_versions()
        )
        if warning:
            warnings.append(f"{NAMESPACE}:cluster.version: {warning}")
    return Settings(stack=stack_settings, catalog=catalog, apis=apis, warnings=warnings)


def from_pulumi(project_dir: Path) -> Settings:
    """The settings of the stack the Pulumi runtime runs. The language host hands the program every config key
    in ``PULUMI_CONFIG`` (``pulumi.runtime.get_config_env``): listing them is how an unknown key is caught;
    values are read through ``pulumi.Config`` like any program's."""
    import pulumi

    try:
        today = kubernetes.today()
    except kubernetes.TodayError as exc:
        raise SettingsError([str(exc)]) from None
    config = {}
    for key in pulumi.runtime.get_config_env():
        namespace, _, name = key.partition(":")
        config[key] = pulumi.Config(namespace).get(name)
    return load(
        config, project=pulumi.get_project(), stack=pulumi.get_stack(), project_dir=project_dir, today=today
    )
