"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

from pipelines.cli import sample_settings
from pipelines.config import Settings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# Retries in tests wait milliseconds, not seconds; the policy itself is the production one.
FAST_RETRIES = {"backoff_base_seconds": 0.01}


def portal_settings(data_dir: Path, portal_url: str) -> Settings:
    """Settings for a run against the sample portal, patient enough for fault tests."""
    return sample_settings(
        Settings(data_dir=data_dir, http_timeout_seconds=10.0, http_max_attempts=4), portal_url
    )
