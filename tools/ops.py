"""What the operational tools (preflight, smoke) share: the stack's settings, an AWS session, the
report table. Read-only towards AWS: no tool here creates, changes or deletes anything."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import (
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import settings
from tools import ROOT
from tools.offline.stack_config import StackConfigError, load_stack_config

# botocore's standard retry mode: retries throttling and transient errors with backoff.
RETRIES = Config(retries={"mode": "standard", "max_attempts": 10})
CREDENTIAL_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)
STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


class Stop(Exception):
    """Ends a tool with one line and exit 1 (no credentials, bad config)."""


def load_settings(stack: str, config_file: Path | None = None, project_dir: Path = ROOT) -> settings.Settings:
    """The stack's settings through the same settings layer as the program."""
    try:
        project, config, _ = load_stack_config(project_dir, stack, config_file)
        return settings.load(config, project=project, stack=stack, project_dir=project_dir)
    except StackConfigError as exc:
        raise Stop(str(exc)) from None
    except settings.SettingsError as exc:
        raise Stop(exc.lines[0]) from None


@dataclass
class Aws:
    """A standard boto3 session (profiles, environment, SSO) and clients with standard retries."""

    session: boto3.Session
    region: str  # the region every call goes to: the stack's

    def client(self, service: str):
        return self.session.client(service, region_name=self.region, config=RETRIES)


@dataclass
class Report:
    title: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, check: str, status: str, detail: str) -> None:
        assert status in STYLE, status
        self.rows.append((check, status, detail))

    def status(self, check: str) -> str:
        return next(status for name, status, _ in self.rows if name == check)

    @property
    def failed(self) -> bool:
        return any(status == "fail" for _, status, _ in self.rows)

    def print(self, console: Console) -> None:
        table = Table(title=self.title, title_justify="left")
        for column in ("check", "status", "detail"):
            table.add_column(column)
        for check, status, detail in self.rows:
            table.add_row(escape(check), f"[{STYLE[status]}]{status}[/]", escape(detail))
        console.print(table)
        verdict = "FAILED" if self.failed else "ok"
        console.print(
            f"{verdict}: {sum(s == 'fail' for _, s, _ in self.rows)} failed, "
            f"{sum(s == 'warn' for _, s, _ in self.rows)} warnings"
        )


def main_for(
    tool: str,
    description: str,
    run: Callable[[argparse.Namespace, Aws, settings.Settings], Report],
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
    argv: list[str] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m tools.{tool}", description=description)
    parser.add_argument("stack")
    parser.add_argument(
        "--project", type=Path, default=ROOT, help="the project directory (default: this repository)"
    )
    parser.add_argument("--config", type=Path, help="use FILE instead of Pulumi.<stack>.yaml")
    parser.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    if extra:
        extra(parser)
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    try:
        config = load_settings(args.stack, args.config, args.project.absolute())
        session = boto3.Session(profile_name=args.profile)
        aws = Aws(session=session, region=config.stack.region)
        report = run(args, aws, config)
    except Stop as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except CREDENTIAL_ERRORS as exc:
        print(
            f"error: no usable AWS credentials ({exc}); configure a profile (--profile, AWS_PROFILE), "
            "environment variables or SSO, then run again",
            file=sys.stderr,
        )
        return 1
    except NoRegionError as exc:  # pragma: no cover - the region always comes from the stack
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report.print(console)
    return 1 if report.failed else 0
