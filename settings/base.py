"""Building blocks shared by every settings model: the base model and the string rules."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

from settings.errors import rule

DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def dns_label(value: str) -> str:
    if len(value) > 63 or not DNS_1035.match(value):
        raise rule(
            f"\"{value}\" must be a DNS-1035 label: lowercase letters, digits and '-', "
            "starting with a letter, not ending with '-', at most 63 characters"
        )
    return value


Name = Annotated[str, AfterValidator(dns_label)]


def _network(value: object) -> object:
    """An IPv4 CIDR written with host bits (10.0.0.1/16) names no network; say which one was meant."""
    if isinstance(value, str):
        try:
            loose = ipaddress.IPv4Network(value, strict=False)
        except ValueError:
            return value  # pydantic's own "not a valid IPv4 network" follows
        if str(loose) != value and ipaddress.IPv4Network(value.split("/")[0]) != loose.network_address:
            raise rule(f'"{value}" has host bits set; did you mean "{loose}"?')
    return value


Cidr = Annotated[ipaddress.IPv4Network, BeforeValidator(_network)]


def matching(pattern: str, description: str) -> AfterValidator:
    """A string rule with a message a person can act on, rather than the raw regular expression."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise rule(f'"{value}" must be {description}')
        return value

    return AfterValidator(check)


class Model(BaseModel):
    """Base of every settings object: camelCase keys as in the stack files, no unknown keys, immutable."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, validate_default=True
    )
