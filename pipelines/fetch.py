"""Fetching one EPD month: resource lookup, route choice and staging with provenance.

Kept out of the asset so the CLI, tests and benchmarks can call the same code, and so the
asset body reads as what it does: find, skip if unchanged, fetch, stage, report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from pipelines.http import HttpClient, SourceError
from pipelines.sources.ckan import CkanClient, EpdResource
from pipelines.sources.epd import (
    FetchedMonth,
    SchemaError,
    detect_layout,
    normalise,
    portal_query,
    staged_schema_fingerprint,
)
from pipelines.staging import StagingArea, read_json, sha256_file, write_json, write_parquet

log = logging.getLogger(__name__)


def fetch_via_sql(ckan: CkanClient, resource: EpdResource) -> FetchedMonth:
    """The opioid rows of one month, aggregated by the portal's SQL service."""
    fields = ckan.datastore_fields(resource.name)
    where = f"{resource.name} (datastore fields)"
    layout = detect_layout(fields, where=where)
    query = portal_query(layout, resource.name)
    result = ckan.datastore_search_sql(resource.name, query)
    if result.frame.height == 0:
        raise SchemaError(
            f"{resource.name}: the portal returned no BNF 4.7 rows at all for "
            f"{resource.month:%Y-%m} (empty month)"
        )
    # The answer carries the aliases of the query, which are the layout's own names.
    answer_layout = detect_layout(result.frame.columns, where=f"{resource.name} (query answer)")
    frame = normalise(
        result.frame,
        answer_layout,
        resource.month,
        where=f"{resource.name} via datastore_search_sql",
    )
    return FetchedMonth(
        frame=frame,
        layout=layout,
        route="sql",
        details={
            "query": query,
            "shards": len(result.shard_urls),
            "answer_rows": result.frame.height,
        },
    )


def fetch_month(
    ckan: CkanClient, http: HttpClient, resource: EpdResource, route: str, work_dir: Any = None
) -> FetchedMonth:
    """Fetch by the configured route; ``auto`` falls back to the bulk files on SQL failure."""
    if route == "sql":
        return fetch_via_sql(ckan, resource)
    from pipelines.sources import bulk  # the bulk route is heavy and optional

    if route == "bulk":
        return bulk.fetch_via_bulk(ckan, http, resource, work_dir=work_dir)
    if route == "auto":
        try:
            return fetch_via_sql(ckan, resource)
        except SourceError as exc:
            log.warning(
                "SQL route failed for %s (%s); falling back to bulk files", resource.name, exc
            )
            fetched = bulk.fetch_via_bulk(ckan, http, resource, work_dir=work_dir)
            fetched.details["fallback_reason"] = str(exc)
            return fetched
    raise ValueError(f"unknown fetch route {route!r}")


@dataclass(frozen=True)
class StageOutcome:
    skipped: bool
    provenance: dict[str, Any]
    frame: pl.DataFrame | None


def is_unchanged(staging: StagingArea, month: date, resource: EpdResource) -> dict[str, Any] | None:
    """The stored provenance when the staged file is this very publication, intact, in
    the current staged format."""
    previous = read_json(staging.epd_provenance_path(month))
    path = staging.epd_path(month)
    if (
        previous
        and previous.get("version_key") == resource.version_key
        and previous.get("staged_schema") == staged_schema_fingerprint()
        and path.exists()
        and sha256_file(path) == previous.get("checksum_sha256")
    ):
        return previous
    return None


def stage_month(
    staging: StagingArea, resource: EpdResource, fetched: FetchedMonth
) -> dict[str, Any]:
    """Write the month's Parquet and its provenance; the Parquet first, so a provenance
    file never describes a file that is not there."""
    path = staging.epd_path(resource.month)
    checksum = write_parquet(fetched.frame, path)
    provenance = {
        **resource.provenance(),
        "month": f"{resource.month:%Y-%m}",
        "route": fetched.route,
        "layout": fetched.layout.name,
        "organisation_column": fetched.layout.columns.get("icb_code"),
        "unknown_columns": list(fetched.layout.unknown),
        "retrieved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "staged_schema": staged_schema_fingerprint(),
        "row_count": fetched.frame.height,
        "items_total": int(fetched.frame.get_column("items").sum()),
        "file": str(path),
        "checksum_sha256": checksum,
        **fetched.details,
    }
    write_json(provenance, staging.epd_provenance_path(resource.month))
    return provenance
