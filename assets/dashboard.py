"""The dashboard: a static site built from the published extract alone, part of its
publication (materialised by the publication step; see assets/publish.py)."""

from dagster import AssetKey, AssetSpec, AutomationCondition, MaterializeResult, MetadataValue

from assets.common import OWNERS
from pipelines.dashboard import SiteBuild

DASHBOARD = AssetKey("dashboard")

DASHBOARD_SPEC = AssetSpec(
    DASHBOARD,
    group_name="publish",
    kinds={"html", "plotly"},
    owners=OWNERS,
    deps=[AssetKey("published_extract")],
    # Requested with its publication (in the same tick, so the same run): a publication
    # then carries a dashboard built from its own extract.
    automation_condition=AutomationCondition.eager(),
    description=(
        "published/dashboard/: the static dashboard site (England, regions, ICBs, sub-ICB "
        "locations, PCNs and practices; league tables, funnel plots, decile and SPC charts), "
        "built from its publication's extract alone and checked (every page, link and data "
        "file; no page over 2 MB; scripts only from the site) inside the publication's "
        "folder, before the one switch that makes the extract, files and dashboard current "
        "together. Materialised on its own, it makes a new publication of the current "
        "extract and files with a rebuilt dashboard. Open index.html directly or run "
        "`opioids dashboard --serve`."
    ),
)


def dashboard_result(build: SiteBuild) -> MaterializeResult:
    index = build.path / "index.html"
    return MaterializeResult(
        asset_key=DASHBOARD,
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
            "workbooks": MetadataValue.int(build.workbooks),
            "workbook_mb": MetadataValue.float(round(build.workbook_bytes / 1e6, 1)),
        },
    )
