"""The same months refreshed through Dagster by the SQL route and by the bulk files publish
identical comparators: everything downstream of staging is route-independent."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from pipelines.runner import refresh
from tests.support import FAST_RETRIES, portal_settings

pytestmark = pytest.mark.integration

MONTHS = [date(2025, 2, 1), date(2025, 3, 1)]  # last legacy header, first current one


def _published(settings) -> dict[str, object]:
    con = duckdb.connect(str(settings.extract_path), read_only=True)
    try:
        return {
            table: con.sql(f"SELECT * FROM {table} ORDER BY ALL").pl()  # noqa: S608
            for table in ("practice_comparators", "presentation_breakdown", "national_deciles")
        }
    finally:
        con.close()


def test_bulk_and_sql_routes_publish_the_same_numbers(tmp_path, portal, monkeypatch):
    results, routes = {}, {}
    for route in ("sql", "bulk"):
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / route / "dagster_home"))
        settings = portal_settings(tmp_path / route / "data", portal.url).with_overrides(
            fetch_route=route
        )
        refresh(settings, MONTHS, echo=lambda _: None, **FAST_RETRIES)
        results[route] = _published(settings)
        prov = json.loads((settings.staging_dir / "epd" / "2025-03.provenance.json").read_text())
        routes[route] = prov["route"]
    assert routes == {"sql": "sql", "bulk": "bulk"}
    for table, frame in results["sql"].items():
        assert frame.height > 0
        assert frame.equals(results["bulk"][table]), table
