"""The dashboard: a static site built from the published extract alone."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AutomationCondition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.common import OWNERS
from pipelines.config import duckdb_temp_dir
from pipelines.dashboard import build_site
from pipelines.publish import EXTRACT_NAME
from pipelines.resources import StoreResource

DASHBOARD_DIR = "dashboard"


@asset(
    group_name="publish",
    kinds={"html", "plotly"},
    owners=OWNERS,
    deps=[AssetKey("published_extract")],
    automation_condition=AutomationCondition.eager(),
    description=(
        "published/dashboard/: the static dashboard site (England, regions, ICBs, sub-ICB "
        "locations, PCNs and practices; league tables, funnel plots, decile and SPC charts), "
        "built from the published extract alone, checked (every page, link and data file; "
        "no page over 2 MB; scripts only from the site), then swapped in atomically. Open "
        "index.html directly or run `opioids dashboard --serve`."
    ),
)
def dashboard(context: AssetExecutionContext, store: StoreResource) -> MaterializeResult:
    build = build_site(
        store.published_dir / EXTRACT_NAME,
        store.published_dir / DASHBOARD_DIR,
        memory_limit=store.duckdb_memory_limit,
        temp_directory=duckdb_temp_dir(store.root, store.duckdb_temp_directory),
    )
    index = build.path / "index.html"
    context.log.info(f"dashboard built: {index} ({build.pages} pages, {build.seconds:.1f}s)")
    return MaterializeResult(
        metadata={
            "open": MetadataValue.url(index.as_uri()),
            "site": MetadataValue.path(str(build.path)),
            "serve": MetadataValue.md("`opioids dashboard --serve` then open the printed URL"),
            "data_month": build.data_month,
            "pages": MetadataValue.int(build.pages),
            "files": MetadataValue.int(build.files),
            "size_mb": MetadataValue.float(round(build.bytes / 1e6, 1)),
            "largest_page_kb": MetadataValue.float(round(build.largest_page_bytes / 1e3, 1)),
            "build_seconds": MetadataValue.float(round(build.seconds, 1)),
        }
    )
