"""AWS's limits on counts (alarms' metrics, security group rules, routes, load balancers, policy sizes, ...),
read from ``data/aws_quotas.yaml``, where each is written once with its source. tools/offline/quotas.py
counts them in a synthesized graph; tools/preflight.py compares the adjustable ones with the account."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from settings import strict_yaml

TABLE = Path(__file__).parent / "data" / "aws_quotas.yaml"


class Quota(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    limit: int = Field(gt=0)
    hard: bool = False  # AWS refuses more; no request raises it
    refuse: bool = False  # adjustable, but the design holds to the default
    scope: str
    what: str
    source: str
    service_code: str | None = None  # Service Quotas, for the adjustable ones
    quota_name: str | None = None
    quota_code: str | None = None

    @model_validator(mode="after")
    def _adjustable_ones_name_their_quota(self) -> Quota:
        if not self.hard and not (self.service_code and self.quota_name):
            raise ValueError(f"{self.key}: an adjustable quota needs service_code and quota_name")
        return self

    @property
    def refused(self) -> bool:
        """Over this limit, the stack is refused rather than warned about."""
        return self.hard or self.refuse


@lru_cache(maxsize=1)
def quotas() -> dict[str, Quota]:
    data = strict_yaml.load(TABLE.read_text())
    return {key: Quota.model_validate({"key": key, **value}) for key, value in data.items()}


def quota(key: str) -> Quota:
    return quotas()[key]
