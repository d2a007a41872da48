"""The API catalog (workloads/catalog.yaml): what each API is, independent of the environment."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from settings.errors import rule
from settings.base import Model, Name

# Kubernetes quantities: CPU in cores or millicores, memory in bytes with binary or decimal suffixes.
CPU = re.compile(r"^(\d+m|\d+(\.\d{1,3})?)$")
MEMORY = re.compile(r"^\d+(Ki|Mi|Gi|Ti|k|M|G|T)?$")
MEMORY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def cpu_millis(value: str) -> float:
    return float(value[:-1]) if value.endswith("m") else float(value) * 1000


def memory_bytes(value: str) -> int:
    number = re.match(r"^\d+", value).group()
    return int(number) * MEMORY_UNITS[value[len(number):]]


class Quantities(Model):
    cpu: str
    memory: str

    @model_validator(mode="after")
    def _kubernetes_would_accept(self) -> "Quantities":
        if not CPU.match(self.cpu):
            raise rule(f'"{self.cpu}" is not a Kubernetes CPU quantity: millicores such as 250m, or cores '
                       "such as 0.5", field="cpu")
        if not MEMORY.match(self.memory):
            raise rule(f'"{self.memory}" is not a Kubernetes memory quantity: a number with Ki, Mi, Gi '
                       "(or k, M, G), such as 256Mi", field="memory")
        return self


class Resources(Model):
    requests: Quantities
    limits: Quantities

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> "Resources":
        if cpu_millis(self.limits.cpu) < cpu_millis(self.requests.cpu):
            raise rule(f'"{self.limits.cpu}" is below the request "{self.requests.cpu}"', field="limits.cpu")
        if memory_bytes(self.limits.memory) < memory_bytes(self.requests.memory):
            raise rule(f'"{self.limits.memory}" is below the request "{self.requests.memory}"',
                       field="limits.memory")
        return self


class Autoscaling(Model):
    min_replicas: int = Field(2, ge=1, le=100)
    max_replicas: int = Field(10, ge=1, le=500)
    cpu_utilization: int = Field(70, ge=10, le=100)

    @model_validator(mode="after")
    def _bounds_in_order(self) -> "Autoscaling":
        if self.min_replicas > self.max_replicas:
            raise rule(f"{self.min_replicas} is greater than maxReplicas {self.max_replicas}",
                       field="minReplicas")
        return self


class Probes(Model):
    readiness_path: str = Field(pattern=r"^/")
    liveness_path: str = Field(pattern=r"^/")

    @model_validator(mode="after")
    def _differ(self) -> "Probes":
        # A liveness probe that checks readiness (dependencies) restarts pods when a dependency is down.
        if self.readiness_path == self.liveness_path:
            raise rule(f'"{self.liveness_path}" is also the readiness path; liveness must check only that '
                       "the process is alive", field="livenessPath")
        return self


DynamoAction = Literal["GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem",
                       "BatchWriteItem", "ConditionCheckItem"]


class AwsAccess(Model):
    rekognition: list[Literal["DetectLabels", "DetectText", "DetectFaces", "DetectModerationLabels"]] = []
    s3_read: list[Name] = []
    dynamodb: dict[Name, list[DynamoAction]] = {}

    @property
    def any(self) -> bool:
        return bool(self.rekognition or self.s3_read or self.dynamodb)


class ApiSpec(Model):
    namespace: Name
    port: int = Field(ge=1024, le=65535)  # non-root containers cannot bind below 1024
    probes: Probes
    resources: Resources
    autoscaling: Autoscaling = Autoscaling()
    exposed: bool = False
    allow_from: list[Name] = []
    aws: AwsAccess = AwsAccess()


class Table(Model):
    hash_key: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,255}$")


class Catalog(Model):
    buckets: dict[Name, dict] = {}
    tables: dict[Name, Table] = {}
    apis: dict[Name, ApiSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_resolve(self) -> "Catalog":
        namespaces = {api.namespace for api in self.apis.values()}
        for name, api in self.apis.items():
            for i, namespace in enumerate(api.allow_from):
                if namespace not in namespaces:
                    raise rule(f'"{namespace}" is not the namespace of any API ({", ".join(sorted(namespaces))})',
                               field=f"apis.{name}.allowFrom[{i}]")
            for i, bucket in enumerate(api.aws.s3_read):
                if bucket not in self.buckets:
                    raise rule(f'"{bucket}" is not a bucket declared under buckets', field=f"apis.{name}.aws.s3Read[{i}]")
            for table in api.aws.dynamodb:
                if table not in self.tables:
                    raise rule(f'"{table}" is not a table declared under tables', field=f"apis.{name}.aws.dynamodb")
        return self

    @property
    def namespaces(self) -> dict[str, list[str]]:
        """API names per namespace."""
        out: dict[str, list[str]] = {}
        for name, api in sorted(self.apis.items()):
            out.setdefault(api.namespace, []).append(name)
        return out


__all__ = ["Catalog", "ApiSpec", "Resources", "Autoscaling", "Quantities"]
