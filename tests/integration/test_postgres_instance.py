"""The deployment profile: a Dagster instance on a real PostgreSQL server runs a month and
publishes, with no SQLite run or event storage written."""

from __future__ import annotations

from datetime import date

import duckdb
import psycopg2
import pytest
from dagster import DagsterRunStatus
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

from pipelines.runner import prepare_instance, refresh
from tests.support import FAST_RETRIES, portal_settings

pytestmark = pytest.mark.integration


def test_a_month_runs_and_publishes_on_the_postgres_instance(
    postgres_server, portal, tmp_path, monkeypatch
):
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    url = postgres_server.new_database("one_month")
    settings = portal_settings(tmp_path / "data", portal.url).with_overrides(
        instance="postgres", postgres_url=url
    )

    report = refresh(settings, [date(2025, 12, 1)], echo=lambda _: None, **FAST_RETRIES)

    instance = prepare_instance(settings)
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        runs = {r.run_id: r for r in instance.get_runs()}
        assert set(runs) == set(report.run_ids)
        assert {r.status for r in runs.values()} == {DagsterRunStatus.SUCCESS}
        assert [r.job_name for r in runs.values()] == ["refresh"]
    finally:
        instance.dispose()

    # The runs and their events are rows of the PostgreSQL database ...
    with psycopg2.connect(url) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs")
        assert cur.fetchone()[0] == 1
        cur.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
            (report.run_ids[0], "ASSET_MATERIALIZATION"),
        )
        assert cur.fetchone()[0] >= 5
    # ... and nothing of Dagster's SQLite storage was written.
    assert (home / "dagster.yaml").read_text().count("postgres_url") == 1
    assert not [p for p in home.rglob("*") if p.suffix in (".db", ".sqlite")]
    assert not (home / "history").exists() and not (home / "schedules").exists()

    con = duckdb.connect(str(settings.extract_path), read_only=True)
    try:
        months = con.sql("SELECT DISTINCT month FROM practice_comparators").fetchall()
    finally:
        con.close()
    assert months == [(date(2025, 12, 1),)]
