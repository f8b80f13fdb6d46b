"""Jobs: reference data, months, the cross-month statistics with publication, and the
whole refresh the CLI runs."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

ORGANISATION_ASSETS = ("practice_organisations",)
MONTHLY_ASSETS = (
    "epd_opioid_rows",
    "practice_list_sizes",
    "opioid_presentations",
    "unresolved_opioid_presentations",
    "practice_opioid_comparators",
)
PUBLISH_ASSETS = ("comparator_statistics", "published_extract")
DASHBOARD_ASSETS = ("dashboard",)

organisations_job = define_asset_job(
    "organisations_refresh",
    selection=AssetSelection.assets(*ORGANISATION_ASSETS),
    description="Refresh practices and their organisations (ODS and the latest practice map).",
)
monthly_job = define_asset_job(
    "monthly_refresh",
    selection=AssetSelection.assets(*MONTHLY_ASSETS),
    description=(
        "Fetch, resolve and compute the comparators of one month, or of a range of months "
        "in one run (a backfill)."
    ),
)
publish_job = define_asset_job(
    "statistics_and_publish",
    selection=AssetSelection.assets(*PUBLISH_ASSETS, *DASHBOARD_ASSETS),
    description=(
        "Rebuild windows, roll-ups and statistics over all months, then publish the extract, "
        "its files and its dashboard together. Declarative automation requests the same "
        "once the months have settled; this job runs it by hand."
    ),
)
refresh_job = define_asset_job(
    "refresh",
    selection=AssetSelection.assets(
        *ORGANISATION_ASSETS, *MONTHLY_ASSETS, *PUBLISH_ASSETS, *DASHBOARD_ASSETS
    ),
    description=(
        "Everything for a range of months in one run: organisations, each month in order, "
        "then statistics, publication and the dashboard. A failed step stops the run "
        "before anything is published. What `opioids refresh` and `opioids demo` launch."
    ),
)
dashboard_job = define_asset_job(
    "dashboard_build",
    selection=AssetSelection.assets(*DASHBOARD_ASSETS),
    description=(
        "Rebuild the static dashboard site from the current extract, as a new publication "
        "of the same extract and files (switched in once the site checks out)."
    ),
)
