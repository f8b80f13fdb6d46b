"""What every asset module shares: owners, the metadata preview format and the gate that
runs a suite before an asset writes."""

from dataclasses import dataclass
from typing import Any

import polars as pl
from dagster import AssetCheckResult, AssetExecutionContext, MetadataValue

from pipelines.validation import (
    CheckOutcome,
    Suite,
    check_results,
    failure_message,
    failures,
    validate,
)

OWNERS = ["team:medicines-optimisation-data"]
PREVIEW_ROWS = 10


def preview(frame: pl.DataFrame, rows: int = PREVIEW_ROWS) -> MetadataValue:
    """A short Markdown table, so a data engineer can eyeball a run in the UI."""
    head = frame.head(rows)
    if head.height == 0:
        return MetadataValue.md("_no rows_")
    header = "| " + " | ".join(head.columns) + " |"
    rule = "| " + " | ".join("---" for _ in head.columns) + " |"
    body = [
        "| " + " | ".join("" if v is None else _fmt(v) for v in row) + " |" for row in head.rows()
    ]
    return MetadataValue.md("\n".join([header, rule, *body]))


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    return str(v).replace("|", "\\|")


class Rejected(Exception):
    """A critical check failed: the asset wrote nothing, and its step must fail.

    Carries the check results so they are still recorded (observed values and the failing
    rows sample stay visible in the UI on the rejected partition)."""

    def __init__(
        self, message: str, checks: list[AssetCheckResult], metadata: dict[str, Any]
    ) -> None:
        super().__init__(message)
        self.message = message
        self.checks = checks
        self.metadata = metadata


@dataclass(frozen=True)
class Verdict:
    """The check results of a suite, and the rejection to raise if a critical one failed."""

    checks: list[AssetCheckResult]
    rejection: Rejected | None

    def accepted(self) -> list[AssetCheckResult]:
        """The check results to report with the write; raises the rejection instead."""
        if self.rejection is not None:
            raise self.rejection
        return self.checks


def judge(
    context: AssetExecutionContext,
    suite: Suite,
    outcomes: list[CheckOutcome],
    where: str,
    *,
    kept: str = "not staged; the previous good output is unchanged",
    metadata: dict[str, Any] | None = None,
) -> Verdict:
    checks = check_results(outcomes, suite.asset, where)
    if not failures(outcomes):
        return Verdict(checks, None)
    message = failure_message(outcomes, where)
    context.log.error(f"{message}; {kept}")
    return Verdict(checks, Rejected(f"{message}; {kept}", checks, metadata or {}))


def gate(
    context: AssetExecutionContext,
    frame: pl.DataFrame,
    suite: Suite,
    where: str,
    parameters: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Verdict:
    """Run a suite on what an asset is about to write, before it writes anything."""
    return judge(context, suite, validate(frame, suite, parameters), where, **kwargs)
