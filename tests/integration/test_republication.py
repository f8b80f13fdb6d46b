"""A month re-published on the portal (newer last_modified) is fetched again."""

from __future__ import annotations

import json
from datetime import date

import pytest

from pipelines.runner import refresh
from tests.support import FAST_RETRIES, portal_settings

pytestmark = pytest.mark.integration

MONTH = date(2025, 1, 1)


def test_republished_month_is_refetched_and_unchanged_one_is_not(
    tmp_path, monkeypatch, sample_copy
):
    from demo.sample_portal import SamplePortal

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    with SamplePortal(sample_copy(tmp_path / "portal")) as portal:
        settings = portal_settings(tmp_path / "data", portal.url)
        months = [MONTH, date(2025, 2, 1)]
        refresh(settings, months, echo=lambda _: None, publish=False, **FAST_RETRIES)
        prov_path = settings.staging_dir / "epd" / "2025-01.provenance.json"
        other_path = settings.staging_dir / "epd" / "2025-02.provenance.json"
        first = json.loads(prov_path.read_text())
        other_first = json.loads(other_path.read_text())

        portal.republish("2025-01")
        refresh(settings, months, echo=lambda _: None, publish=False, **FAST_RETRIES)
        second = json.loads(prov_path.read_text())
        other_second = json.loads(other_path.read_text())

    assert second["version_key"] != first["version_key"]
    assert second["retrieved_at"] >= first["retrieved_at"]
    assert second["checksum_sha256"] != first["checksum_sha256"]  # the data changed too
    # The untouched month was not fetched again: same provenance, byte for byte.
    assert other_second == other_first
