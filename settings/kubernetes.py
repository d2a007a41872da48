"""Which Kubernetes versions EKS supports, and until when: the calendar (settings/data/eks_versions.yaml) and
the rule every stack's version is held to.

A cluster on STANDARD support past its version's end of standard support is either billed at the extended rate
or upgraded by EKS behind the program's back; a new one would start there. So the settings refuse it, and warn
60 days ahead. "Today" is the clock's (UTC), or PICTURESOCIAL_TODAY (YYYY-MM-DD) for tests and rehearsals;
PICTURESOCIAL_SKIP_SUPPORT_CHECK=1 turns the check off for one run (the offline diff's base side: an old
commit can always be diffed).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from settings import strict_yaml

CALENDAR = Path(__file__).parent / "data" / "eks_versions.yaml"
WARNING_DAYS = 60
TODAY_VARIABLE = "PICTURESOCIAL_TODAY"
SKIP_VARIABLE = "PICTURESOCIAL_SKIP_SUPPORT_CHECK"

SupportType = Literal["STANDARD", "EXTENDED"]


class Release(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    release: dt.date
    end_of_standard_support: dt.date
    end_of_extended_support: dt.date
    source: str | None = None  # when the row comes from elsewhere than the file's sources

    def end_of(self, support_type: SupportType) -> dt.date:
        return self.end_of_standard_support if support_type == "STANDARD" else self.end_of_extended_support


@cache
def calendar() -> dict[str, Release]:
    data = strict_yaml.load(CALENDAR.read_text())
    return {version: Release.model_validate(row) for version, row in data["versions"].items()}


def minor(version: str) -> tuple[int, int]:
    major, minor_ = version.split(".")
    return int(major), int(minor_)


def newest_in_support(
    today: dt.date, among: Iterable[str], support_type: SupportType = "STANDARD"
) -> str | None:
    """The newest of ``among`` that EKS has released and still supports (on ``support_type``) on ``today``."""
    rows = calendar()
    current = [v for v in among if v in rows and rows[v].release <= today < rows[v].end_of(support_type)]
    return max(current, key=minor, default=None)


class TodayError(ValueError):
    pass


def today() -> dt.date | None:
    """The date the support rule is checked on: PICTURESOCIAL_TODAY, else the clock (UTC); None when
    PICTURESOCIAL_SKIP_SUPPORT_CHECK is set."""
    if os.environ.get(SKIP_VARIABLE, "") not in ("", "0"):
        return None
    given = os.environ.get(TODAY_VARIABLE, "")
    if not given:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(given)
    except ValueError:
        raise TodayError(f'{TODAY_VARIABLE}: "{given}" must be a date written YYYY-MM-DD') from None


def support(
    version: str, support_type: SupportType, on: dt.date, pinned: Iterable[str]
) -> tuple[str | None, str | None]:
    """(problem, warning) for a cluster at ``version`` on ``support_type``, on the date ``on``. ``pinned``:
    the versions this project can run (add-on pins), among which the way out is named."""
    row = calendar().get(version)
    if row is None:
        return f'"{version}" is not in the EKS release calendar ({CALENDAR.name})', None
    kind = support_type.lower()
    end = row.end_of(support_type)
    newest = newest_in_support(on, pinned)
    if newest is not None and minor(newest) > minor(version):
        way_out = (
            f"the newest version in standard support with pinned add-ons is {newest}: upgrade one minor "
            'version at a time (README "Upgrading Kubernetes")'
        )
    else:
        way_out = (
            "no newer version in standard support has pinned add-ons: pin the next one in "
            'settings/addons.py, then upgrade (README "Upgrading Kubernetes")'
        )
    if on >= end:
        extended = (
            f", or set picturesocial:cluster.supportType: EXTENDED (until {row.end_of_extended_support})"
            if support_type == "STANDARD" and on < row.end_of_extended_support
            else ""
        )
        return f'"{version}" ended {kind} support on {end}; {way_out}{extended}', None
    if (end - on).days <= WARNING_DAYS:
        return None, f'"{version}" ends {kind} support on {end}, in {(end - on).days} days; {way_out}'
    return None, None
