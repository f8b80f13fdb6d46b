"""What every asset module shares: owners, the metadata preview format and the gate that
runs a suite before an asset writes."""

from dataclasses import dataclass
from typing import Any

import polars as pl
from dagster import AssetCheckResult, AssetExecutionContext, MaterializeResult, MetadataValue

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


@dataclass(frozen=True)
class Verdict:
    """The checks to report with a materialisation, and the rejection to return instead
    when a critical check failed (the asset then writes nothing)."""

    checks: list[AssetCheckResult]
    rejected: MaterializeResult | None


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
    rejected = MaterializeResult(
        metadata={"rejected": True, "reason": message, **(metadata or {})}, check_results=checks
    )
    return Verdict(checks, rejected)


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
