"""Publish: the validated outputs as a DuckDB extract, Parquet, CSV and a methodology page."""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.common import OWNERS, judge
from pipelines.automation import PUBLISH_WHEN_SETTLED
from pipelines.comparators import load_comparators
from pipelines.methodology import methodology_markdown
from pipelines.periods import factor_versions, publication_periods
from pipelines.provenance import RECORD_NAME, publication_record
from pipelines.publish import publish
from pipelines.quality import integrity_frame
from pipelines.resources import MethodResource, SourcesResource, StoreResource
from pipelines.validation import load_suite, validate
from pipelines.warehouse import WAREHOUSE_POOL

PUBLISH_SUITE = load_suite("published_extract")


def integrity_gate(con) -> list:
    """The published_extract suite, run on the new extract before it is swapped in."""
    return validate(integrity_frame(con), PUBLISH_SUITE)


@asset(
    group_name="publish",
    automation_condition=PUBLISH_WHEN_SETTLED,
    check_specs=PUBLISH_SUITE.check_specs(),
    kinds={"duckdb", "parquet", "csv"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    deps=[AssetKey("comparator_statistics")],
    description=(
        "published/opioid_comparators.duckdb: the extract analysts and dashboards read, "
        "with the same tables as Parquet and CSV under published/files/. Built aside, "
        "checked for referential integrity, then swapped in atomically: a failure leaves "
        "the previous publication untouched."
    ),
)
def published_extract(
    context: AssetExecutionContext,
    store: StoreResource,
    method: MethodResource,
    sources: SourcesResource,
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
    publication = publish(
        store.warehouse_path,
        store.published_dir,
        gate=integrity_gate,
        extra_files={
            "methodology.md": page,
            RECORD_NAME: publication_record(store.staging.root, ods_url=sources.ods_url),
        },
    )
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
        check_results=verdict.checks,
        metadata={
            "extract": MetadataValue.path(str(publication.extract_path)),
            "checksum_sha256": publication.checksum_sha256,
            "published_at": publication.published_at,
            **{f"rows_{t}": MetadataValue.int(n) for t, n in publication.row_counts.items()},
        },
    )
