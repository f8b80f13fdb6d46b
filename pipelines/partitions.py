"""Monthly partitions: one per EPD dispensing month."""

from __future__ import annotations

import warnings
from datetime import date, datetime

from dagster import BackfillPolicy, BetaWarning, MonthlyPartitionsDefinition

from pipelines.config import code_location_settings

# The SNOMED EPD dataset starts in 2020-11; earlier months come from the retired dataset
# and can be included with the first_month setting (OPIOIDS_FIRST_MONTH, e.g. 2014-01).
# Partitions are part of the code location's definitions, so they take the settings the
# code location is loaded with.
FIRST_MONTH = code_location_settings().first_month

monthly_partitions = MonthlyPartitionsDefinition(start_date=f"{FIRST_MONTH}-01")

# A backfill of N months (from the UI, `dg launch --partition-range` or the CLI) is one run
# whose steps go through the months in order, not N runs.
MONTHLY_BACKFILL = BackfillPolicy.single_run()
# `backfill_policy=` is marked beta in Dagster 1.13; say so once here, not on every import.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)


def partition_month(partition_key: str) -> date:
    return datetime.strptime(partition_key, "%Y-%m-%d").date()


def month_partition_key(month: date) -> str:
    return f"{month:%Y-%m}-01"


def parse_month(text: str) -> date:
    """``YYYY-MM`` as typed on the command line, with a clear error otherwise."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError as exc:
        raise ValueError(f"expected a month as YYYY-MM, got {text!r}") from exc


def months_between(first: date, last: date) -> list[date]:
    if last < first:
        raise ValueError(f"--to {last:%Y-%m} is before --from {first:%Y-%m}")
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
