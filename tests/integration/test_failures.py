"""What happens when inputs go wrong, end to end through Dagster against the sample portal.

A baseline (two good months, published) is built once. Each test copies it, injects one
fault into the portal for a new month, and checks that the run fails with an error that
says what went wrong and where, and that the warehouse holds no partial month and the
published extract is byte for byte unchanged. That the same refresh then succeeds once the
fault is cleared is shown once for each place a month can stop, since what a failed run
leaves behind depends on where it stopped, not on which fault stopped it: in the query
route's answers (malformed JSON), half way through a download (a truncated shard), at an
expectation (negative items) and at a national check that keeps the rejected file for
inspection (the national total drop). A full refresh costs several seconds, so the other
faults stop there.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckKey, AssetKey, AssetRecordsFilter, DagsterInstance
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.partition_status_cache import AssetPartitionStatus

from pipelines.http import HttpClient
from pipelines.partitions import monthly_partitions
from pipelines.runner import RunFailed, refresh
from pipelines.sources.ckan import CkanClient
from pipelines.staging import sha256_file
from tests.support import FAST_RETRIES, portal_settings

pytestmark = pytest.mark.integration

BASE_MONTHS = [date(2025, 2, 1), date(2025, 3, 1)]
NEW = date(2025, 4, 1)
NEW_KEY = "2025-04-01"
RESOURCE = "EPD_SNOMED_202504"


@pytest.fixture(scope="module")
def fault_portal(tmp_path_factory, sample_copy):
    """A portal of this module's own, since faults change what it serves."""
    from demo.sample_portal import SamplePortal

    with SamplePortal(sample_copy(tmp_path_factory.mktemp("fault_portal") / "sample")) as portal:
        yield portal


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, fault_portal):
    root = tmp_path_factory.mktemp("baseline")
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    settings = portal_settings(root / "data", fault_portal.url)
    refresh(settings, BASE_MONTHS, echo=lambda _: None, **FAST_RETRIES)
    mp.undo()
    return root


class Case:
    """A copy of the baseline with the portal's faults cleared afterwards."""

    def __init__(self, root: Path, portal, monkeypatch) -> None:
        self.portal = portal
        self.root = root
        monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        self.settings = portal_settings(root / "data", portal.url)
        self.extract_checksum = sha256_file(self.settings.extract_path)

    def refresh(self, **overrides):
        settings = self.settings.with_overrides(**overrides) if overrides else self.settings
        return refresh(settings, [NEW], echo=lambda _: None, **FAST_RETRIES)

    def assert_nothing_lost(self) -> None:
        assert sha256_file(self.settings.extract_path) == self.extract_checksum
        con = duckdb.connect(str(self.settings.warehouse_path), read_only=True)
        try:
            for table in ("epd_opioid_rows", "presentation_facts", "practice_comparator_months"):
                n = con.execute(f"SELECT count(*) FROM {table} WHERE month = ?", [NEW]).fetchall()  # noqa: S608
                assert n[0][0] == 0, f"{table} holds a partial {NEW:%Y-%m}"
        finally:
            con.close()
        assert not self.settings.staging_dir.joinpath("epd", "2025-04.parquet").exists()

    def assert_recovers(self) -> None:
        self.portal.clear_faults()
        self.refresh()
        con = duckdb.connect(str(self.settings.extract_path), read_only=True)
        months = con.execute("SELECT max(month) FROM practice_comparators").fetchall()[0][0]
        con.close()
        assert months == NEW


@pytest.fixture
def case(baseline, fault_portal, tmp_path, monkeypatch):
    root = tmp_path / "case"
    shutil.copytree(baseline, root, symlinks=True)
    fault_portal.clear_faults()
    yield Case(root, fault_portal, monkeypatch)
    fault_portal.clear_faults()


# Transient faults (5xx, resets, 429 with Retry-After, timeouts) are retried by the HTTP
# client: tests/unit/test_http.py shows each on a mock transport without waiting; here
# resets and a 5xx come from the real portal over loopback, without a pipeline run.


def test_resets_and_server_errors_from_the_portal_are_retried(fault_portal):
    naps: list[float] = []
    with HttpClient(timeout_seconds=10, max_attempts=4, sleep=naps.append) as http:
        ckan = CkanClient(http, fault_portal.url)
        resets = fault_portal.set_fault("reset", endpoint="package_show", times=2)
        errors = fault_portal.set_fault("status", status=503, endpoint="resource_show", times=1)
        try:
            resource = ckan.epd_resource(NEW)
            ckan.resource_show(resource.id)
        finally:
            fault_portal.clear_faults()
    assert (resets.fired, errors.fired) == (2, 1)
    assert len(naps) == 3


# -- faults that stop the month: clear error, nothing lost, recovers ------------------


def _fails(case, match: str, **overrides) -> str:
    with pytest.raises(RunFailed) as caught:
        case.refresh(**overrides)
    message = str(caught.value)
    assert "month 2025-04 failed" in message
    for part in match.split("|"):
        assert part in message, f"{part!r} not in {message!r}"
    case.assert_nothing_lost()
    return message


def test_malformed_json(case):
    case.portal.set_fault("malformed_json", endpoint="datastore_search", month="2025-04")
    _fails(case, "not valid JSON|datastore_search EPD_SNOMED_202504")
    case.assert_recovers()


def test_inner_failure_carries_the_portal_message(case):
    case.portal.set_fault("inner_failure", month="2025-04", message="Query exceeded quota")
    _fails(case, "query failed|Query exceeded quota|EPD_SNOMED_202504")


@pytest.mark.parametrize(
    ("kind", "words"), [("corrupt_shard", "corrupt gzip"), ("truncated_shard", "shard")]
)
def test_bad_shard_is_named(case, kind, words):
    case.portal.row_cap = 1000  # the month's answer is larger: it arrives in shards
    try:
        case.portal.set_fault(kind, month="2025-04")
        message = _fails(case, f"{words}|{RESOURCE}")
        assert "/gc/" in message  # which shard, by URL
        if kind == "truncated_shard":  # a partial download left behind must not matter
            case.assert_recovers()
    finally:
        case.portal.row_cap = 32000


def test_renamed_column(case):
    case.portal.set_fault("rename_column", month="2025-04", column="ITEMS", new_name="ITEM_COUNT")
    _fails(case, "missing column(s) ITEMS|EPD_SNOMED_202504|ITEM_COUNT")


def test_missing_column(case):
    case.portal.set_fault("drop_column", month="2025-04", column="TOTAL_QUANTITY")
    _fails(case, "missing column(s) TOTAL_QUANTITY|EPD_SNOMED_202504")


def test_unknown_extra_column_is_accepted_and_reported(case):
    case.portal.set_fault("extra_column", month="2025-04", column="NEW_FLAG", value="Y")
    case.refresh()
    prov = json.loads((case.settings.staging_dir / "epd" / "2025-04.provenance.json").read_text())
    assert prov["unknown_columns"] == ["NEW_FLAG"]


def test_negative_items_are_blocked_by_the_expectation(case):
    case.portal.set_fault("negative_items", month="2025-04", rows=2)
    _fails(case, "epd_opioid_rows.items_at_least_one|EPD_SNOMED_202504")
    # A rejected month is a failed partition, not a materialised one, and the check that
    # rejected it is recorded against that month with what it saw.
    key = AssetKey("epd_opioid_rows")
    with DagsterInstance.get() as instance:
        status = instance.get_status_by_partition(key, [NEW_KEY], monthly_partitions)
        assert status[NEW_KEY] == AssetPartitionStatus.FAILED
        assert not instance.fetch_materializations(
            AssetRecordsFilter(asset_key=key, asset_partitions=[NEW_KEY]), limit=1
        ).records
        (record,) = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(key, "items_at_least_one"),
            limit=1,
            partition_filter=PartitionKeyFilter(key=NEW_KEY),
        )
        assert record.status == AssetCheckExecutionRecordStatus.FAILED
        evaluation = record.event.dagster_event.event_specific_data
        assert evaluation.partition == NEW_KEY
        assert evaluation.metadata["unexpected_count"].value >= 1
        sample = evaluation.metadata["failing_rows_sample"].value
        assert sample and all(row["items"] < 1 for row in sample)
    case.assert_recovers()
    with DagsterInstance.get() as instance:
        status = instance.get_status_by_partition(key, [NEW_KEY], monthly_partitions)
        assert status[NEW_KEY] == AssetPartitionStatus.MATERIALIZED


def test_a_rejected_month_stops_a_range_and_is_recorded_on_its_partition(case):
    case.portal.set_fault("negative_items", month="2025-04", rows=2)
    with pytest.raises(RunFailed) as caught:
        refresh(case.settings, [BASE_MONTHS[-1], NEW], echo=lambda _: None, **FAST_RETRIES)
    assert "months 2025-03..2025-04 failed" in str(caught.value)
    case.assert_nothing_lost()
    key = AssetKey("epd_opioid_rows")
    with DagsterInstance.get() as instance:
        status = instance.get_status_by_partition(key, [NEW_KEY], monthly_partitions)
        assert status[NEW_KEY] == AssetPartitionStatus.FAILED
        (record,) = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(key, "items_at_least_one"),
            limit=1,
            partition_filter=PartitionKeyFilter(key=NEW_KEY),
        )
        assert record.status == AssetCheckExecutionRecordStatus.FAILED
        assert record.event.dagster_event.event_specific_data.partition == NEW_KEY


def test_non_numeric_quantity(case):
    case.portal.set_fault("non_numeric_quantity", month="2025-04", value="ten")
    _fails(case, "non-numeric|EPD_SNOMED_202504")


def test_duplicated_rows_are_blocked(case):
    case.portal.set_fault("duplicate_rows", month="2025-04", rows=10)
    _fails(case, "epd_opioid_rows.no_duplicate_source_rows")


def test_empty_month(case):
    case.portal.set_fault("empty_month", month="2025-04")
    _fails(case, "empty month|EPD_SNOMED_202504")


def test_national_total_drop_is_blocked(case):
    case.portal.set_fault("scale_items", month="2025-04", factor=0.4)
    _fails(case, "epd_opioid_rows.national_items_near_previous_month|EPD_SNOMED_202504")
    rejected = case.settings.staging_dir / "rejected" / "epd" / "2025-04.parquet"
    assert rejected.exists()  # kept for inspection, never read by the pipeline
    case.assert_recovers()
