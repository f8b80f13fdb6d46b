"""What every ``opioids`` subcommand shares: exit codes, the one-line failure, settings
and the month argument type."""

from __future__ import annotations

from datetime import date
from importlib.metadata import PackageNotFoundError, version

import click

from pipelines.config import Settings, load_settings, setting_docs

EXIT_RUN_FAILED = 1
EXIT_USAGE = 2


def package_version() -> str:
    try:
        return version("opioid-comparators")
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "unknown"


def environment_epilog() -> str:
    lines = ["\b", "Settings (environment variables, with their defaults):"]
    for doc in setting_docs():
        lines.append(f"  {doc.env:<32} {doc.doc} [{doc.default}]")
    lines.append(
        "  DAGSTER_HOME                     the Dagster instance [<data dir>/dagster_home]"
    )
    return "\n".join(lines)


class Fail(click.ClickException):
    """An expected failure: printed as ``error: ...`` with no traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_RUN_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"error: {self.format_message()}", err=True)


def settings_of(ctx: click.Context) -> Settings:
    try:
        return load_settings()
    except ValueError as exc:
        raise Fail(str(exc), EXIT_USAGE) from None


class MonthType(click.ParamType):
    name = "YYYY-MM"

    def convert(self, value, param, ctx):  # noqa: ANN001 - click's signature
        if isinstance(value, date):
            return value
        from pipelines.partitions import parse_month

        try:
            return parse_month(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


MONTH = MonthType()
