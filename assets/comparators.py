"""Comparators: the month's staged files loaded into the warehouse and every comparator
computed for every GP practice, then rolling windows, organisation roll-ups and
statistics across all months.

Only assets in this module (and the organisation load) write the warehouse; they share the
``warehouse`` pool, so parallel backfill runs queue for it instead of meeting DuckDB's
single-writer lock. Each month is written in one transaction: delete, then insert.
"""

from collections.abc import Iterator
from datetime import date
from typing import Any

import polars as pl
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from assets.common import OWNERS, gate, preview
from assets.months import Written, report_months, write_months
from pipelines.automation import PUBLISH_WHEN_SETTLED
from pipelines.comparators import definition_rows, load_comparators
from pipelines.config import REFERENCE_DIR
from pipelines.partitions import MONTHLY_BACKFILL, monthly_partitions
from pipelines.quality import comparator_frame
from pipelines.resources import MethodResource, StoreResource
from pipelines.statistics import compute_statistics
from pipelines.validation import load_suite
from pipelines.warehouse import WAREHOUSE_POOL, query_frame, run, run_each, transaction


def load_definitions(con) -> pl.DataFrame:
    """Replace the warehouse's comparator definitions with the files in ``comparators/``."""
    rows = definition_rows(load_comparators())
    con.register("definitions_frame", rows.to_arrow())
    run(con, "warehouse/replace_comparator_definitions")
    run(con, "warehouse/insert_comparator_definitions")
    con.unregister("definitions_frame")
    limits = pl.read_csv(REFERENCE_DIR / "quantity_limits.csv")
    con.register("limits_frame", limits.to_arrow())
    run(con, "warehouse/replace_quantity_limits")
    run(con, "warehouse/insert_quantity_limits")
    con.unregister("limits_frame")
    return rows


def load_month(con, store: StoreResource, month: date) -> None:
    """Write one month into the warehouse: staged rows, list sizes, OME reference, facts
    and the month's comparators, all or nothing."""
    params = {"month": month}
    run_each(con, "warehouse/delete_month", params)
    run(
        con,
        "warehouse/load_epd_opioid_rows",
        {"month": month, "path": str(store.staging.epd_path(month))},
    )
    run(
        con,
        "warehouse/load_list_sizes",
        {"month": month, "path": str(store.staging.list_sizes_path(month))},
    )
    run(
        con,
        "warehouse/load_presentations",
        {"month": month, "path": str(store.staging.presentations_path(month))},
    )
    run(con, "warehouse/presentation_facts", params)
    run(con, "warehouse/practice_comparator_months", params)


COMPARATOR_SUITE = load_suite("practice_opioid_comparators")


@asset(
    partitions_def=monthly_partitions,
    group_name="comparators",
    check_specs=COMPARATOR_SUITE.check_specs(monthly_partitions),
    backfill_policy=MONTHLY_BACKFILL,
    kinds={"duckdb", "sql"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    deps=[
        AssetKey("epd_opioid_rows"),
        AssetKey("practice_list_sizes"),
        AssetKey("opioid_presentations"),
        AssetKey("practice_organisations"),
    ],
    description=(
        "Every comparator in comparators/*.toml for every GP practice (prescribing setting 4) "
        "for the month, with both denominators (all patients, adults 18+) and each variant "
        "(90 mg and 120 mg high-dose thresholds). Numerators and denominators are kept, so "
        "rolling windows and organisation totals are sums over sums. The months of one run "
        "are written in one transaction: a rejected month leaves the warehouse unchanged."
    ),
)
def practice_opioid_comparators(
    context: AssetExecutionContext, store: StoreResource
) -> Iterator[Any]:
    with store.warehouse() as con, transaction(con):
        load_definitions(con)
        written = yield from write_months(
            context, lambda month: _comparator_month(context, con, store, month)
        )
    yield from report_months(context, written)


def _comparator_month(context, con, store: StoreResource, month: date) -> Written:
    load_month(con, store, month)
    checks = gate(
        context,
        comparator_frame(con, month),
        COMPARATOR_SUITE,
        f"comparators {month:%Y-%m}",
        kept="rolled back; the warehouse is unchanged",
    ).accepted()
    summary = query_frame(con, "warehouse/month_summary", {"month": month})
    sample = query_frame(con, "warehouse/month_preview", {"month": month})
    row = summary.row(0, named=True)
    metadata = {
        "practices": MetadataValue.int(row["practices"]),
        "practices_without_list_size": MetadataValue.int(row["practices_without_list_size"]),
        "comparator_rows": MetadataValue.int(row["comparator_rows"]),
        "national_opioid_items": MetadataValue.int(int(row["opioid_items"] or 0)),
        "national_ome_mg_per_day": MetadataValue.float(float(row["ome_mg_per_day"] or 0)),
        "national_high_dose_items_90mg": MetadataValue.int(int(row["high_dose_items"] or 0)),
        "implausible_quantity_rows": MetadataValue.int(row["implausible_quantity_rows"]),
        "preview": preview(sample),
    }
    return Written(metadata, checks)


@asset(
    group_name="comparators",
    automation_condition=PUBLISH_WHEN_SETTLED,
    kinds={"duckdb", "sql"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    deps=[AssetKey("practice_opioid_comparators")],
    description=(
        "All months together, in DuckDB SQL (sql/statistics/): 1-, 3- and 12-month values "
        "(sums of numerators over sums of denominators), roll-ups to PCN, sub-ICB location, "
        "ICB, region and England, national deciles, percentile ranks, funnel limits (plain "
        "and over-dispersed), change against 12 months earlier and SPC signals. Incremental: "
        "only the cross-sections and series that changed months affect are recomputed."
    ),
)
def comparator_statistics(
    context: AssetExecutionContext, store: StoreResource, method: MethodResource
) -> MaterializeResult:
    with store.warehouse() as con, transaction(con):
        counts = compute_statistics(con, min_list_size=method.min_list_size)
    rebuilt = bool(counts.pop("rebuilt"))
    context.log.info(
        f"statistics {'rebuilt in full' if rebuilt else 'refreshed'}: "
        f"{counts['months_recomputed']} month(s) recomputed"
    )
    return MaterializeResult(
        metadata={
            "refresh": MetadataValue.text("full rebuild" if rebuilt else "incremental"),
            **{k: MetadataValue.int(v) for k, v in counts.items()},
        }
    )
