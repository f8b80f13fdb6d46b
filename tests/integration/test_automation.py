"""The monthly schedule and the new-month sensor, evaluated against the sample portal."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from dagster import (
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
)

from pipelines.resources import build_resources
from pipelines.runner import refresh
from pipelines.schedules import monthly_refresh_schedule
from pipelines.sensors import MAX_REQUESTS_PER_TICK, new_month_sensor
from tests.support import FAST_RETRIES, portal_settings

pytestmark = pytest.mark.integration


def test_schedule_requests_the_month_published_two_months_later():
    from pipelines.definitions import defs

    when = datetime(2026, 3, 22, 6, 0, tzinfo=ZoneInfo("Europe/London"))
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(
            instance=instance,
            scheduled_execution_time=when,
            repository_def=defs.get_repository_def(),
        )
        request = monthly_refresh_schedule.evaluate_tick(context).run_requests[0]
    assert request.partition_key == "2026-01-01"


def _tick(settings):
    resources = build_resources(settings, **FAST_RETRIES)
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources=resources)
        return new_month_sensor(context)


def test_sensor_requests_new_and_republished_months_only(tmp_path, monkeypatch, sample_copy):
    from demo.sample_portal import SamplePortal

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    with SamplePortal(sample_copy(tmp_path / "portal")) as portal:
        settings = portal_settings(tmp_path / "data", portal.url)
        first = _tick(settings)
        assert isinstance(first, list) and len(first) == MAX_REQUESTS_PER_TICK
        # Newest first: a fresh install catches up from the latest month backwards.
        assert first[0].partition_key == "2025-12-01"

        staged = [date(2025, 11, 1), date(2025, 12, 1)]
        refresh(settings, staged, echo=lambda _: None, publish=False, **FAST_RETRIES)
        second = _tick(settings)
        keys = {r.partition_key for r in second}
        assert "2025-12-01" not in keys and "2025-11-01" not in keys
        assert "2025-10-01" in keys

        portal.republish("2025-12")
        third = _tick(settings)
        assert any(isinstance(r, RunRequest) and r.partition_key == "2025-12-01" for r in third)
        assert all(r.run_key for r in third)  # one run per publication, never repeated


def test_sensor_skips_quietly_when_the_portal_is_down(tmp_path):
    settings = portal_settings(tmp_path / "data", "http://127.0.0.1:9")
    result = _tick(settings.with_overrides(http_max_attempts=1))
    assert isinstance(result, SkipReason) and "portal not reachable" in result.skip_message
