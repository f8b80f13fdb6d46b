"""Ingest: the three public sources, fetched into per-month staged files.

Nothing here writes the warehouse, so months can be fetched in parallel; each staged file
is replaced atomically, so a failed fetch leaves the previous good file in place.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.common import OWNERS, gate, preview
from assets.months import Written, report_months, write_months
from pipelines.fetch import fetch_month, is_unchanged, stage_month
from pipelines.http import SourceError
from pipelines.partitions import MONTHLY_BACKFILL, monthly_partitions
from pipelines.quality import epd_frame, epd_parameters, list_size_frame
from pipelines.resources import MethodResource, SourcesResource, StoreResource
from pipelines.sources import list_sizes as ls
from pipelines.sources.ods import GP_PRACTICE_SETTING, fetch_epraccur
from pipelines.staging import write_json, write_parquet
from pipelines.validation import load_suite
from pipelines.warehouse import WAREHOUSE_POOL, run, transaction

EPD_SUITE = load_suite("epd_opioid_rows")
LIST_SIZE_SUITE = load_suite("practice_list_sizes")
ORGANISATION_SUITE = load_suite("practice_organisations")


@asset(
    partitions_def=monthly_partitions,
    group_name="ingest",
    kinds={"python", "parquet"},
    owners=OWNERS,
    check_specs=EPD_SUITE.check_specs(monthly_partitions),
    backfill_policy=MONTHLY_BACKFILL,
    description=(
        "One month of English Prescribing Dataset rows for BNF section 4.7 (analgesics), "
        "aggregated to practice x presentation, from the NHSBSA portal. Both EPD header "
        "layouts are mapped to one schema. Skipped when the month's resource is unchanged; "
        "re-fetched when it is re-published. Checked before it is staged: a month that "
        "fails a critical check is not staged (it is kept under staging/rejected/)."
    ),
)
def epd_opioid_rows(
    context: AssetExecutionContext,
    sources: SourcesResource,
    store: StoreResource,
    method: MethodResource,
) -> Iterator[Any]:
    with sources.http() as http:
        ckan = sources.ckan(http)
        written = yield from write_months(
            context, lambda month: _epd_month(context, sources, ckan, http, store, method, month)
        )
    yield from report_months(context, written)


def _epd_month(context, sources, ckan, http, store, method, month: date) -> Written:
    staging = store.staging
    params = epd_parameters(staging, month, method.month_change_tolerance)
    resource = ckan.epd_resource(month)
    previous = is_unchanged(staging, month, resource)
    if previous is not None:
        context.log.info(
            f"{resource.name} unchanged since {previous['retrieved_at']}; not re-fetched"
        )
        staged = pl.read_parquet(staging.epd_path(month))
        verdict = gate(context, epd_frame(staged), EPD_SUITE, f"{resource.name} (staged)", params)
        return Written(
            _epd_metadata(previous, skipped=True, frame=None),
            verdict.accepted(),
            DataVersion(previous["checksum_sha256"]),
        )
    context.log.info(f"fetching {resource.name} ({resource.version_key}) via {sources.fetch_route}")
    fetched = fetch_month(
        ckan, http, resource, sources.fetch_route, work_dir=store.layout.downloads_dir
    )
    rejected_path = staging.rejected_epd_path(month)
    verdict = gate(
        context,
        epd_frame(fetched.frame),
        EPD_SUITE,
        f"{resource.name} ({resource.version_key})",
        params,
        metadata={
            "rejected_rows_kept_at": MetadataValue.path(str(rejected_path)),
            "resource_name": resource.name,
            "published_at": str(resource.published_at),
        },
    )
    if verdict.rejection:
        write_parquet(fetched.frame, rejected_path)  # for inspection; never read
    checks = verdict.accepted()
    provenance = stage_month(staging, resource, fetched)
    if fetched.layout.unknown:
        context.log.warning(
            f"{resource.name}: unknown extra columns accepted: {fetched.layout.unknown}"
        )
    return Written(
        _epd_metadata(provenance, skipped=False, frame=fetched.frame),
        checks,
        DataVersion(provenance["checksum_sha256"]),
    )


def _epd_metadata(prov: dict, *, skipped: bool, frame: pl.DataFrame | None) -> dict:
    meta = {
        "skipped_unchanged": skipped,
        "row_count": MetadataValue.int(int(prov["row_count"])),
        "national_items": MetadataValue.int(int(prov["items_total"])),
        "resource_name": prov["resource_name"],
        "resource_id": prov["resource_id"],
        "dataset": prov["dataset"],
        "published_at": str(prov.get("last_modified") or prov.get("created")),
        "source_size_bytes": MetadataValue.int(int(prov["size"] or 0)),
        "route": prov["route"],
        "header_layout": prov["layout"],
        "unknown_columns": ", ".join(prov.get("unknown_columns") or []) or "none",
        "retrieved_at": prov["retrieved_at"],
        "checksum_sha256": prov["checksum_sha256"],
        "path": MetadataValue.path(prov["file"]),
    }
    if "query" in prov:
        meta["query"] = MetadataValue.md(f"```sql\n{prov['query']}\n```")
        meta["shards"] = MetadataValue.int(int(prov.get("shards", 0)))
    if frame is not None:
        meta["preview"] = preview(frame.sort("items", descending=True))
    return meta


@asset(
    partitions_def=monthly_partitions,
    group_name="ingest",
    kinds={"python", "parquet"},
    owners=OWNERS,
    check_specs=LIST_SIZE_SUITE.check_specs(monthly_partitions),
    backfill_policy=MONTHLY_BACKFILL,
    deps=[AssetKey("epd_opioid_rows"), AssetKey("practice_organisations")],
    description=(
        "Registered patients per GP practice as at the 1st of the month (NHS England, "
        "'Patients Registered at a GP Practice'): all ages, and adults 18+ summed from the "
        "single-year-of-age files (from five-year bands in months published without "
        "them; see docs/eras.md). The comparators' denominators."
    ),
)
def practice_list_sizes(
    context: AssetExecutionContext,
    sources: SourcesResource,
    store: StoreResource,
    method: MethodResource,
) -> Iterator[Any]:
    with sources.http() as http:
        written = yield from write_months(
            context, lambda month: _list_size_month(context, sources, http, store, method, month)
        )
    yield from report_months(context, written)


def _list_size_month(context, sources, http, store, method, month: date) -> Written:
    files = ls.month_files(http, sources.list_size_url, month)
    tables = {
        kind: ls.read_table(http, files.files[kind], f"{ls.FILE_STEMS[kind]} {month:%Y-%m}")
        for kind in ls.denominator_files(files)
    }
    frame, adults_method = ls.list_sizes_from(tables, month)
    checks = gate(
        context,
        list_size_frame(frame, store.staging, month),
        LIST_SIZE_SUITE,
        f"list sizes {month:%Y-%m} ({files.page_url})",
        {"coverage_min": method.list_size_coverage},
    ).accepted()
    path = store.staging.list_sizes_path(month)
    checksum = write_parquet(frame, path)
    provenance = {
        "month": f"{month:%Y-%m}",
        "page_url": files.page_url,
        "files": {kind: files.files[kind] for kind in tables},
        "adults_from": adults_method,
        "retrieved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "row_count": frame.height,
        "checksum_sha256": checksum,
    }
    write_json(provenance, store.staging.list_sizes_provenance_path(month))
    metadata = {
        "practices": MetadataValue.int(frame.height),
        "registered_patients": MetadataValue.int(int(frame["patients"].sum())),
        "registered_adults": MetadataValue.int(int(frame["adults"].fill_null(0).sum())),
        "practices_without_adult_counts": MetadataValue.int(frame["adults"].null_count()),
        "source_page": MetadataValue.url(files.page_url),
        "source_files": MetadataValue.json({kind: files.files[kind] for kind in tables}),
        "adults_from": adults_method,
        "path": MetadataValue.path(str(path)),
        "preview": preview(frame),
    }
    return Written(metadata, checks, DataVersion(checksum))


@asset(
    group_name="ingest",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    check_specs=ORGANISATION_SUITE.check_specs(),
    description=(
        "Every prescribing cost centre with its prescribing setting, status and open/close "
        "dates (ODS epraccur), mapped to PCN, sub-ICB location, ICB and NHS England region "
        "from the latest NHS England practice map. History is attributed to these current "
        "organisations. Cost centres missing from the latest map take ICB and region from "
        "their commissioner."
    ),
)
def practice_organisations(
    context: AssetExecutionContext, sources: SourcesResource, store: StoreResource
) -> Iterator[Any]:
    with sources.http() as http:
        epraccur = fetch_epraccur(http, sources.ods_url)
        pages = ls.month_pages(http, sources.list_size_url)
        latest = max(pages)
        files = ls.month_files(http, sources.list_size_url, latest)
        if "map" not in files.files:
            raise SourceError(
                f"latest list-size publication ({latest:%Y-%m}) links no "
                f"{ls.FILE_STEMS['map']} file: practices cannot be mapped to organisations",
                url=files.page_url,
            )
        practice_map = ls.parse_practice_map(
            ls.read_table(http, files.files["map"], f"gp-reg-pat-prac-map {latest:%Y-%m}")
        )
    frame = build_organisations(epraccur, practice_map, latest_map=f"{latest:%Y-%m}")
    verdict = gate(
        context, frame, ORGANISATION_SUITE, f"organisations (ODS, practice map {latest:%Y-%m})"
    )
    if verdict.rejection:
        yield from verdict.checks
        raise Failure(description=verdict.rejection.message)
    path = store.staging.organisations_path()
    checksum = write_parquet(frame, path)
    with store.warehouse() as con, transaction(con):
        con.register("organisations_frame", frame.to_arrow())
        run(con, "warehouse/replace_organisations")
        run(con, "warehouse/insert_organisations")
    gp = frame.filter(pl.col("prescribing_setting") == GP_PRACTICE_SETTING)
    yield MaterializeResult(
        metadata={
            "cost_centres": MetadataValue.int(frame.height),
            "gp_practices": MetadataValue.int(gp.height),
            "gp_practices_open": MetadataValue.int(
                gp.filter(pl.col("close_date").is_null()).height
            ),
            "icbs": MetadataValue.int(gp["icb_code"].n_unique()),
            "pcns": MetadataValue.int(gp["pcn_code"].drop_nulls().n_unique()),
            "unmapped_gp_practices": MetadataValue.int(gp["icb_code"].null_count()),
            "practice_map_month": f"{latest:%Y-%m}",
            "practice_map_url": MetadataValue.url(files.files["map"]),
            "ods_url": MetadataValue.url(sources.ods_url),
            "checksum_sha256": checksum,
            "preview": preview(gp),
        },
        data_version=DataVersion(checksum),
        check_results=verdict.checks,
    )


def build_organisations(
    epraccur: pl.DataFrame, practice_map: pl.DataFrame, *, latest_map: str
) -> pl.DataFrame:
    """Join ODS cost centres to the practice map; fill ICB and region for unmapped ones
    from the sub-ICB location that commissions them."""
    sub_icb = practice_map.select(
        "sub_icb_code", "sub_icb_name", "icb_code", "icb_name", "region_code", "region_name"
    ).unique(subset="sub_icb_code", keep="first")
    joined = epraccur.join(practice_map, on="practice_code", how="left")
    fallback = (
        joined.filter(pl.col("sub_icb_code").is_null())
        .drop("sub_icb_code", "sub_icb_name", "icb_code", "icb_name", "region_code", "region_name")
        .join(sub_icb, left_on="commissioner_code", right_on="sub_icb_code", how="left")
        .with_columns(
            pl.col("commissioner_code").alias("sub_icb_code"),
            pl.lit("ods commissioner").alias("mapping_source"),
        )
    )
    mapped = joined.filter(pl.col("sub_icb_code").is_not_null()).with_columns(
        pl.lit(f"practice map {latest_map}").alias("mapping_source")
    )
    columns = [
        "practice_code", "practice_name", "postcode", "pcn_code", "pcn_name", "sub_icb_code",
        "sub_icb_name", "icb_code", "icb_name", "region_code", "region_name",
        "prescribing_setting", "status_code", "open_date", "close_date", "mapping_source",
    ]  # fmt: skip
    both = pl.concat(
        [
            f.with_columns(
                pl.coalesce("map_practice_name", "ods_name").alias("practice_name")
            ).select(columns)
            for f in (mapped, fallback)
        ]
    )
    return both.sort("practice_code")
