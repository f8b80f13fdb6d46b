"""Reference: the OME reference for every opioid presentation seen in a month.

Presentations are resolved from the data each month rather than from a fixed list, so a
new product is picked up the month it first appears, and one the resolver cannot read is
listed (never dropped) in ``unresolved_opioid_presentations``.
"""

from collections.abc import Iterator
from datetime import date
from typing import Any

import polars as pl
from dagster import AssetExecutionContext, AssetKey, DataVersion, MetadataValue, asset

from assets.common import OWNERS, gate, preview
from assets.months import Written, report_months, write_months
from pipelines.ome import canonical_chemical_code, load_reference, resolve_frame
from pipelines.partitions import MONTHLY_BACKFILL, monthly_partitions
from pipelines.quality import presentation_frame
from pipelines.resources import MethodResource, StoreResource
from pipelines.staging import write_parquet
from pipelines.validation import load_suite


def resolve_month(rows: pl.DataFrame, factor_set: str) -> pl.DataFrame:
    """Resolve each distinct presentation of a month, with its canonical chemical code."""
    reference = load_reference(factor_set=factor_set)
    pairs = rows.select("bnf_code", "bnf_name").unique().sort("bnf_code", "bnf_name")
    resolved = resolve_frame(pairs, reference)
    return resolved.with_columns(
        pl.col("chemical_code")
        .map_elements(lambda c: canonical_chemical_code(c, reference), return_dtype=pl.String)
        .alias("canonical_chemical_code")
    )


def unresolved_in(resolved: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """In-scope presentations the resolver could not read, with the month's items."""
    items = rows.group_by("bnf_code", "bnf_name").agg(
        pl.col("items").sum(), pl.col("practice_code").n_unique().alias("practices")
    )
    return (
        resolved.filter(pl.col("in_scope") & ~pl.col("resolved"))
        .select("bnf_code", "bnf_name", "chemical_code", "substance", "note")
        .join(items, on=["bnf_code", "bnf_name"], how="left")
        .sort("items", descending=True)
    )


PRESENTATION_SUITE = load_suite("opioid_presentations")


@asset(
    partitions_def=monthly_partitions,
    group_name="reference",
    kinds={"python", "parquet"},
    owners=OWNERS,
    deps=[AssetKey("epd_opioid_rows")],
    check_specs=PRESENTATION_SUITE.check_specs(monthly_partitions),
    backfill_policy=MONTHLY_BACKFILL,
    description=(
        "The OME reference for every BNF 4.7 presentation prescribed in the month: "
        "substance, route, form, opioid mg per unit, OME factor and its source, OME per "
        "unit, whether it is a regular long-acting product and its likely daily dose."
    ),
)
def opioid_presentations(
    context: AssetExecutionContext, store: StoreResource, method: MethodResource
) -> Iterator[Any]:
    written = yield from write_months(
        context, lambda month: _presentations_month(context, store, method, month)
    )
    yield from report_months(context, written)


def _presentations_month(context, store, method, month: date) -> Written:
    rows = pl.read_parquet(store.staging.epd_path(month))
    resolved = resolve_month(rows, method.ome_factor_set)
    checks = gate(
        context,
        presentation_frame(resolved, rows),
        PRESENTATION_SUITE,
        f"OME reference {month:%Y-%m} (factor set {method.ome_factor_set})",
        {"max_unresolved_share": method.max_unresolved_share},
    ).accepted()
    checksum = write_parquet(resolved, store.staging.presentations_path(month))
    in_scope = resolved.filter(pl.col("in_scope"))
    unresolved = unresolved_in(resolved, rows)
    total_items = int(rows.get_column("items").sum())
    metadata = {
        "presentations": MetadataValue.int(resolved.height),
        "in_scope_presentations": MetadataValue.int(in_scope.height),
        "unresolved_in_scope": MetadataValue.int(unresolved.height),
        "unresolved_items_share": MetadataValue.float(
            float(unresolved.get_column("items").sum() or 0) / total_items if total_items else 0.0
        ),
        "factor_set": method.ome_factor_set,
        "preview": preview(
            in_scope.select(
                "bnf_code",
                "bnf_name",
                "route",
                "mg_per_unit",
                "ome_factor",
                "ome_mg_per_unit",
                "regular_long_acting",
                "likely_daily_ome_mg",
            )
        ),
    }
    return Written(metadata, checks, DataVersion(checksum))


@asset(
    partitions_def=monthly_partitions,
    group_name="reference",
    kinds={"python", "parquet"},
    owners=OWNERS,
    deps=[AssetKey("epd_opioid_rows"), AssetKey("opioid_presentations")],
    backfill_policy=MONTHLY_BACKFILL,
    description=(
        "In-scope opioid presentations prescribed this month that the OME resolver could "
        "not read (code, name, items, practices, reason). Their items still count where "
        "scope is known, but they carry no OME: fix them with reference/ome_overrides.csv."
    ),
)
def unresolved_opioid_presentations(
    context: AssetExecutionContext, store: StoreResource
) -> Iterator[Any]:
    written = yield from write_months(
        context, lambda month: _unresolved_month(context, store, month)
    )
    yield from report_months(context, written)


def _unresolved_month(context, store, month: date) -> Written:
    rows = pl.read_parquet(store.staging.epd_path(month))
    resolved = pl.read_parquet(store.staging.presentations_path(month))
    unresolved = unresolved_in(resolved, rows)
    path = store.staging.root / "unresolved" / f"{month:%Y-%m}.parquet"
    write_parquet(unresolved, path)
    if unresolved.height:
        context.log.warning(
            f"{unresolved.height} in-scope presentation(s) unresolved in {month:%Y-%m}: "
            f"{unresolved.get_column('bnf_code').head(5).to_list()}"
        )
    return Written(
        {
            "unresolved": MetadataValue.int(unresolved.height),
            "unresolved_items": MetadataValue.int(int(unresolved.get_column("items").sum() or 0)),
            "path": MetadataValue.path(str(path)),
            "preview": preview(unresolved),
        }
    )
