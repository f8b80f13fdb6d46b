"""Pipeline settings that point every source at a running sample portal."""

from __future__ import annotations

from datetime import date

from demo.sample_portal.pages import LIST_SIZE_INDEX_PATH, ODS_PATH
from pipelines.config import Settings

# The sample's months: 18 of them, across the 2025 change of EPD header layout.
SAMPLE_FIRST_MONTH = date(2024, 7, 1)
SAMPLE_LAST_MONTH = date(2025, 12, 1)


def sample_settings(base: Settings, portal_url: str) -> Settings:
    """``base`` with the portal, list-size and ODS sources at ``portal_url``."""
    portal_url = portal_url.rstrip("/")
    return base.with_overrides(
        portal_url=portal_url,
        list_size_url=f"{portal_url}{LIST_SIZE_INDEX_PATH}/",
        ods_url=f"{portal_url}{ODS_PATH}",
    )
