"""The pipeline end to end through Dagster against the sample portal over loopback HTTP."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import polars as pl
import pytest
from dagster import AssetCheckKey, AssetKey, AssetRecordsFilter, DagsterInstance
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from pipelines.partitions import month_partition_key, months_between
from pipelines.runner import refresh
from pipelines.staging import sha256_file
from tests.support import FAST_RETRIES, portal_settings

pytestmark = pytest.mark.integration

# 2025-02 is the last legacy-header month of the sample, 2025-03 the first current one;
# 2025-01 is where tapentadol's chemical code changes.
FIRST, LAST = date(2024, 12, 1), date(2025, 4, 1)


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory, portal):
    """One refresh of five months on a real, persistent Dagster instance in a temp dir."""
    root = tmp_path_factory.mktemp("e2e")
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    settings = portal_settings(root / "data", portal.url)
    report = refresh(settings, months_between(FIRST, LAST), echo=lambda _: None, **FAST_RETRIES)
    yield settings, report
    mp.undo()


def _extract(settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(settings.extract_path), read_only=True)


def test_every_gp_practice_and_month_is_published(pipeline_run):
    settings, report = pipeline_run
    con = _extract(settings)
    months = con.execute("SELECT DISTINCT month FROM practice_comparators ORDER BY 1").fetchall()
    assert [m[0] for m in months] == months_between(FIRST, LAST)
    # Every GP practice that prescribed or had a list size appears; no other cost centre.
    settings_in = con.execute("SELECT DISTINCT prescribing_setting FROM practices").fetchall()
    assert settings_in == [(4,)]
    staged = pl.read_parquet(settings.staging_dir / "list_sizes" / "2025-03.parquet")
    published = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT practice_code FROM practice_comparators WHERE month = DATE '2025-03-01'"
        ).fetchall()
    }
    assert set(staged["practice_code"]) <= published
    comparators = {
        r[0]
        for r in con.execute("SELECT DISTINCT comparator_id FROM practice_comparators").fetchall()
    }
    assert len(comparators) == 8
    assert len(report.run_ids) == 1  # organisations, five months and publication: one run


def test_each_month_of_the_range_has_its_own_metadata_and_checks(pipeline_run):
    _, report = pipeline_run
    key = AssetKey("epd_opioid_rows")
    months = months_between(FIRST, LAST)
    with DagsterInstance.get() as instance:
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=key), limit=len(months) + 1
        ).records
        names = {
            r.partition_key: r.asset_materialization.metadata["resource_name"] for r in records
        }
        assert {k: v.value for k, v in names.items()} == {
            month_partition_key(m): f"EPD_SNOMED_{m:%Y%m}" for m in months
        }
        for month in months:
            (check,) = instance.event_log_storage.get_asset_check_execution_history(
                AssetCheckKey(key, "items_at_least_one"),
                limit=1,
                partition_filter=PartitionKeyFilter(key=month_partition_key(month)),
            )
            assert check.status == AssetCheckExecutionRecordStatus.SUCCEEDED
            target = check.event.dagster_event.event_specific_data.target_materialization_data
            assert target is not None and target.run_id == report.run_ids[0]


def test_both_header_layouts_were_read(pipeline_run):
    settings, _ = pipeline_run
    layouts = {}
    for month in ("2025-02", "2025-03"):
        prov = json.loads((settings.staging_dir / "epd" / f"{month}.provenance.json").read_text())
        layouts[month] = prov["layout"]
        assert (
            prov["row_count"] > 0
            and prov["resource_name"] == f"EPD_SNOMED_{month.replace('-', '')}"
        )
    assert layouts == {"2025-02": "legacy", "2025-03": "current"}


def test_values_are_sums_over_sums_and_never_infinite(pipeline_run):
    settings, _ = pipeline_run
    con = _extract(settings)
    bad = con.execute(
        "SELECT count(*) FROM practice_comparators WHERE isinf(value) OR isnan(value) "
        "OR (denominator = 0 AND value IS NOT NULL)"
    ).fetchone()[0]
    assert bad == 0
    # A 3-month value is the sum of three months' numerators over their denominators.
    row = con.execute(
        """
        SELECT practice_code, numerator, denominator, value FROM practice_comparators
        WHERE period = '3m' AND month = DATE '2025-04-01' AND comparator_id = 'opioid_items'
          AND denominator_type = 'patients' AND value IS NOT NULL
        ORDER BY practice_code LIMIT 1
        """
    ).fetchone()
    monthly = con.execute(
        """
        SELECT sum(numerator), sum(denominator) FROM practice_comparators
        WHERE period = '1m' AND practice_code = ? AND comparator_id = 'opioid_items'
          AND denominator_type = 'patients' AND month BETWEEN DATE '2025-02-01' AND DATE '2025-04-01'
        """,
        [row[0]],
    ).fetchone()
    assert row[1] == pytest.approx(monthly[0]) and row[2] == pytest.approx(monthly[1])
    assert row[3] == pytest.approx(1000 * monthly[0] / monthly[1])


def test_rerun_is_idempotent_and_skips_unchanged_months(pipeline_run, portal, monkeypatch):
    settings, _ = pipeline_run
    monkeypatch.setenv("DAGSTER_HOME", str(settings.data_dir.parent / "dagster_home"))
    staged = settings.staging_dir / "epd" / "2025-02.parquet"
    checksum = sha256_file(staged)
    con = _extract(settings)
    before = pl.from_arrow(
        con.sql("SELECT * FROM practice_comparators ORDER BY ALL").to_arrow_table()
    )
    con.close()
    refresh(settings, [date(2025, 2, 1)], echo=lambda _: None, **FAST_RETRIES)
    prov = json.loads((settings.staging_dir / "epd" / "2025-02.provenance.json").read_text())
    assert sha256_file(staged) == checksum
    con = _extract(settings)
    after = pl.from_arrow(
        con.sql("SELECT * FROM practice_comparators ORDER BY ALL").to_arrow_table()
    )
    assert before.equals(after)
    assert prov["checksum_sha256"] == checksum


def test_check_results_are_attached_to_their_partition(pipeline_run):
    """Each month's check evaluations carry the month's partition key, so the UI shows a
    check's status per month rather than one status for the whole asset."""
    from dagster import AssetCheckKey, AssetKey, DagsterInstance

    settings, report = pipeline_run
    instance = DagsterInstance.get()
    key = AssetCheckKey(AssetKey("epd_opioid_rows"), "practice_code_format")
    records = instance.event_log_storage.get_asset_check_execution_history(key, limit=20)
    partitions = [
        r.event.dagster_event.event_specific_data.partition
        for r in records
        if r.event and r.event.dagster_event and r.event.dagster_event.event_specific_data
    ]
    # Every month was judged on its own partition (2025-02 twice: the re-run test).
    assert set(partitions) == {f"{m:%Y-%m}-01" for m in months_between(FIRST, LAST)}
    assert None not in partitions
