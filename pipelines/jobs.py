"""Jobs: reference data, one month, and the cross-month statistics with publication."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

MONTHLY_ASSETS = (
    "epd_opioid_rows",
    "practice_list_sizes",
    "opioid_presentations",
    "unresolved_opioid_presentations",
    "practice_opioid_comparators",
)

organisations_job = define_asset_job(
    "organisations_refresh",
    selection=AssetSelection.assets("practice_organisations"),
    description="Refresh practices and their organisations (ODS and the latest practice map).",
)
monthly_job = define_asset_job(
    "monthly_refresh",
    selection=AssetSelection.assets(*MONTHLY_ASSETS),
    description="Fetch, resolve and compute one month's comparators.",
)
publish_job = define_asset_job(
    "statistics_and_publish",
    selection=AssetSelection.assets("comparator_statistics", "published_extract"),
    description="Rebuild windows, roll-ups and statistics over all months, then publish.",
)
