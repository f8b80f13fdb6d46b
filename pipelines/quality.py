"""The frames and parameters each expectation suite is run on.

Some rules need a value derived from several columns (quantity x items), from the previous
month, or from another source (which practices prescribed). They are prepared here, next
to nothing else, so the suites stay declarative and the assets stay short.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import polars as pl

from pipelines.sources.ods import GP_PRACTICE_SETTING
from pipelines.staging import StagingArea, read_json
from pipelines.warehouse import query_frame

# Floating-point slack for "total quantity <= quantity per item x items".
_QUANTITY_SLACK = 1e-6


def previous_month(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def epd_frame(staged: pl.DataFrame) -> pl.DataFrame:
    return staged.with_columns(
        pl.col("month").dt.strftime("%Y-%m").alias("month_key"),
        (pl.col("max_quantity") * pl.col("items") * (1 + _QUANTITY_SLACK) + _QUANTITY_SLACK).alias(
            "quantity_bound"
        ),
    )


def epd_parameters(staging: StagingArea, month: date, tolerance: float) -> dict[str, Any]:
    """The partition month, and the band around the previous month's size (if staged)."""
    params: dict[str, Any] = {"month": f"{month:%Y-%m}"}
    prev = read_json(staging.epd_provenance_path(previous_month(month)))
    if prev:
        rows, items = int(prev["row_count"]), int(prev["items_total"])
        params |= {
            "rows_min": rows * (1 - tolerance),
            "rows_max": rows * (1 + tolerance),
            "items_min": items * (1 - tolerance),
            "items_max": items * (1 + tolerance),
        }
    return params


def list_size_frame(sizes: pl.DataFrame, staging: StagingArea, month: date) -> pl.DataFrame:
    """List sizes, outer-joined to the GP practices that prescribed this month (when the
    month's rows and the organisations are staged), so coverage can be measured."""
    frame = sizes.select("practice_code", "patients", "adults").with_columns(
        pl.lit(True).alias("has_list_size")
    )
    rows_path, orgs_path = staging.epd_path(month), staging.organisations_path()
    if not (rows_path.exists() and orgs_path.exists()):
        return frame.with_columns(pl.lit(False).alias("prescribed"))
    gp = pl.read_parquet(orgs_path).filter(
        (pl.col("prescribing_setting") == GP_PRACTICE_SETTING)
        & (pl.col("close_date").is_null() | (pl.col("close_date") >= month))
    )
    prescribing = (
        pl.read_parquet(rows_path, columns=["practice_code"])
        .unique()
        .join(gp.select("practice_code"), on="practice_code", how="semi")
        .with_columns(pl.lit(True).alias("prescribed"))
    )
    return (
        frame.join(prescribing, on="practice_code", how="full", coalesce=True)
        .with_columns(
            pl.col("has_list_size").fill_null(False), pl.col("prescribed").fill_null(False)
        )
        .sort("practice_code")
    )


def presentation_frame(resolved: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """Each presentation with its items, and the share of the month's opioid items that
    unresolved in-scope presentations carry (summed by the suite)."""
    items = rows.group_by("bnf_code", "bnf_name").agg(pl.col("items").sum())
    total = float(rows.get_column("items").sum() or 0)
    return (
        resolved.join(items, on=["bnf_code", "bnf_name"], how="left")
        .with_columns(pl.col("items").fill_null(0))
        .with_columns(
            pl.when(pl.col("in_scope") & ~pl.col("resolved") & (total > 0))
            .then(pl.col("items") / total)
            .otherwise(0.0)
            .alias("unresolved_items_share")
        )
    )


def comparator_frame(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    frame = query_frame(con, "warehouse/validate_month_comparators", {"month": month})
    value = pl.col("value")
    return frame.with_columns(
        (value.is_null() | value.is_finite()).alias("value_finite"),
        (
            value.is_null()
            | ((value >= pl.col("plausible_min")) & (value <= pl.col("plausible_max")))
        ).alias("within_bounds"),
    )


def integrity_frame(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return query_frame(con, "publish/integrity")
