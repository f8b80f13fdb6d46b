"""Publish: the validated outputs as one publication (a DuckDB extract, Parquet, CSV, a
methodology page and the dashboard), made current by one switch.

The extract and the dashboard are two assets of one step (a subsettable multi-asset): the
dashboard is built into the publication's folder from that publication's extract and
checked before the switch, so readers never see an extract with another publication's
dashboard. Materialised alone, the dashboard makes a new publication of the current
extract and files with a rebuilt site. See docs/adr/0021-dashboard-in-its-publication.md.
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from assets.common import OWNERS, judge
from assets.dashboard import DASHBOARD, DASHBOARD_SPEC, dashboard_result
from pipelines.automation import PUBLISH_WHEN_SETTLED
from pipelines.comparators import load_comparators
from pipelines.dashboard import DashboardError, ReleaseSite, SiteCheckFailed, rebuild_dashboard
from pipelines.methodology import methodology_markdown
from pipelines.periods import factor_versions, publication_periods
from pipelines.provenance import RECORD_NAME, publication_record
from pipelines.publish import publish
from pipelines.quality import integrity_frame
from pipelines.releases import NoPublication
from pipelines.resources import MethodResource, SourcesResource, StoreResource
from pipelines.validation import load_suite, validate
from pipelines.warehouse import WAREHOUSE_POOL

PUBLISH_SUITE = load_suite("published_extract")


def integrity_gate(con) -> list:
    """The published_extract suite, run on the new extract before it is swapped in."""
    return validate(integrity_frame(con), PUBLISH_SUITE)


PUBLISHED_EXTRACT = AssetKey("published_extract")

EXTRACT_SPEC = AssetSpec(
    PUBLISHED_EXTRACT,
    group_name="publish",
    automation_condition=PUBLISH_WHEN_SETTLED,
    kinds={"duckdb", "parquet", "csv"},
    owners=OWNERS,
    deps=[AssetKey("comparator_statistics")],
    description=(
        "published/opioid_comparators.duckdb: the extract analysts and dashboards read, "
        "with the same tables as Parquet and CSV under published/files/. Built in a new "
        "publication folder and checked for referential integrity; with the dashboard "
        "selected, its site is built and checked there too; then one switch makes them "
        "current together. A failure leaves the previous publication untouched."
    ),
)


@multi_asset(
    name="published_extract",
    specs=[EXTRACT_SPEC, DASHBOARD_SPEC],
    check_specs=PUBLISH_SUITE.check_specs(),
    can_subset=True,
    pool=WAREHOUSE_POOL,
)
def published_extract(
    context: AssetExecutionContext,
    store: StoreResource,
    method: MethodResource,
    sources: SourcesResource,
) -> Iterator[Any]:
    selected = context.selected_asset_keys
    site = ReleaseSite(
        memory_limit=store.duckdb_memory_limit,
        temp_directory=store.layout.duckdb_temp_dir,
    )
    if PUBLISHED_EXTRACT not in selected:
        try:
            build = rebuild_dashboard(
                store.layout.published_dir,
                memory_limit=site.memory_limit,
                temp_directory=site.temp_directory,
            )
        except (DashboardError, SiteCheckFailed, NoPublication) as exc:
            raise Failure(description=f"{exc}; the current publication is unchanged") from None
        context.log.info(f"dashboard rebuilt: {build.path} ({build.pages} pages)")
        yield dashboard_result(build)
        return
    yield from _publish(context, store, method, sources, site if DASHBOARD in selected else None)


def _publish(
    context: AssetExecutionContext,
    store: StoreResource,
    method: MethodResource,
    sources: SourcesResource,
    site: ReleaseSite | None,
) -> Iterator[Any]:
    periods = publication_periods(store.staging.root)
    if len(factor_versions(periods)) > 1:
        context.log.warning(
            "months were resolved with different OME factor sets "
            f"({', '.join(factor_versions(periods))}): the methodology page says so; re-run "
            "them with one factor set to compute the trend one way"
        )
    page = methodology_markdown(
        load_comparators(),
        factor_set=method.ome_factor_set,
        min_list_size=method.min_list_size,
        periods=periods,
    )
    try:
        publication = publish(
            store.layout.warehouse_path,
            store.layout.published_dir,
            gate=integrity_gate,
            extra_files={
                "methodology.md": page,
                RECORD_NAME: publication_record(store.staging.root, ods_url=sources.ods_url),
            },
            add_to_release=site,
        )
    except (DashboardError, SiteCheckFailed) as exc:
        raise Failure(
            description=f"{exc}; not published: the previous publication is unchanged"
        ) from None
    verdict = judge(
        context,
        PUBLISH_SUITE,
        publication.outcomes,
        "new extract",
        kept="not published; the previous publication is unchanged",
    )
    if verdict.rejection:
        yield from verdict.checks
        raise Failure(description=verdict.rejection.message)
    yield MaterializeResult(
        asset_key=PUBLISHED_EXTRACT,
        check_results=verdict.checks,
        metadata={
            "extract": MetadataValue.path(str(publication.extract_path)),
            "checksum_sha256": publication.checksum_sha256,
            "published_at": publication.published_at,
            **{f"rows_{t}": MetadataValue.int(n) for t, n in publication.row_counts.items()},
        },
    )
    if site is not None:
        build = site.published(store.layout.published_dir)
        context.log.info(f"dashboard built: {build.path} ({build.pages} pages)")
        yield dashboard_result(build)
