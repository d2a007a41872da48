"""Building blocks shared by every settings model: the base model and the string rules."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from settings.errors import rule

DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def dns_label(value: str) -> str:
    if len(value) > 63 or not DNS_1035.match(value):
        raise rule(f'"{value}" must be a DNS-1035 label: lowercase letters, digits and \'-\', '
                   "starting with a letter, not ending with '-', at most 63 characters")
    return value


Name = Annotated[str, AfterValidator(dns_label)]


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

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True,
                              frozen=True, validate_default=True)
