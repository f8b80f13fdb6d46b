"""Publication by declarative automation, evaluated tick by tick as the automation sensor
does, on a real instance with real runs against the sample portal.

Each tick evaluates every automation condition with the daemon's evaluator and groups what
it requests into runs with the daemon's own run-request builder; each requested run is then
executed, so the number of statistics-and-publish runs is counted, not inferred.
"""

from __future__ import annotations

import time
from datetime import date

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    RunRequest,
    evaluate_automation_conditions,
)
from dagster._core.definitions.automation_tick_evaluation_context import build_run_requests
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.storage.partition_status_cache import AssetPartitionStatus
from dagster._core.storage.tags import BACKFILL_ID_TAG

from pipelines.jobs import DASHBOARD_ASSETS, MONTHLY_ASSETS, PUBLISH_ASSETS
from pipelines.partitions import month_partition_key, monthly_partitions, months_between
from pipelines.runner import build_definitions, partition_tags, prepare_instance
from tests.support import FAST_RETRIES

pytestmark = pytest.mark.integration

BACKFILL = months_between(date(2025, 1, 1), date(2025, 6, 1))
REJECTED, LATER = date(2025, 7, 1), date(2025, 8, 1)
PUBLISHED = AssetKey("published_extract")


class Daemon:
    """The automation sensor's evaluation, one tick at a time, and the runs it asks for."""

    def __init__(self, settings) -> None:
        self.instance: DagsterInstance = prepare_instance(settings)
        self.defs = build_definitions(settings, **FAST_RETRIES)
        self.cursor = None

    def tick(self) -> list[RunRequest]:
        result = evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor
        )
        self.cursor = result.cursor
        return list(
            build_run_requests(
                result._requested_subsets,  # noqa: SLF001 - what the sensor turns into runs
                self.defs.resolve_asset_graph(),
                run_tags={"opioids/trigger": "automation"},
                emit_backfills=False,
            )
        )

    def execute(self, request: RunRequest) -> None:
        job = self.defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            instance=self.instance,
            asset_selection=list(request.asset_selection or []),
            tags=dict(request.tags),
            raise_on_error=False,
        )
        assert result.success

    def run_months(self, months: list[date], tags: dict[str, str] | None = None) -> bool:
        job = self.defs.resolve_job_def("monthly_refresh")
        single = len(months) == 1
        result = job.execute_in_process(
            instance=self.instance,
            partition_key=month_partition_key(months[0]) if single else None,
            tags={**(tags or {}), **({} if single else partition_tags(months))},
            raise_on_error=False,
        )
        return result.success

    def publish_runs(self) -> int:
        return sum(
            1
            for run in self.instance.get_runs()
            if run.asset_selection and PUBLISHED in run.asset_selection
        )


def test_a_backfill_publishes_once_and_a_rejected_month_holds_publication(settings, portal):
    daemon = Daemon(settings)
    instance = daemon.instance
    organisations = daemon.defs.resolve_job_def("organisations_refresh")
    assert organisations.execute_in_process(instance=instance, raise_on_error=False).success
    assert daemon.tick() == []

    # A backfill of six months, as the UI launches it: one record, one run over the range.
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id="sixmonths",
        asset_graph=daemon.defs.resolve_asset_graph(),
        partition_names=[month_partition_key(m) for m in BACKFILL],
        asset_selection=[AssetKey(k) for k in MONTHLY_ASSETS],
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=None,
        description=None,
        run_config=None,
    )
    instance.add_backfill(backfill)
    assert daemon.tick() == []
    assert daemon.run_months(BACKFILL, {BACKFILL_ID_TAG: backfill.backfill_id})
    # Every month has landed but the backfill is not yet marked done: still nothing.
    assert daemon.tick() == []
    instance.update_backfill(backfill.with_status(BulkActionStatus.COMPLETED_SUCCESS))

    (request,) = daemon.tick()
    # The dashboard follows its publication in the same run (eager on published_extract).
    expected = {AssetKey(k) for k in PUBLISH_ASSETS + DASHBOARD_ASSETS}
    assert set(request.asset_selection) == expected
    daemon.execute(request)
    assert daemon.tick() == []
    assert daemon.publish_runs() == 1

    # A rejected month records no materialisation: its partition shows failed, it does not
    # count as an update, and publication waits while it stays failed.
    portal.set_fault("negative_items", month=f"{REJECTED:%Y-%m}", rows=2)
    try:
        assert not daemon.run_months([REJECTED])
    finally:
        portal.clear_faults()
    key = month_partition_key(REJECTED)
    status = instance.get_status_by_partition(
        AssetKey("epd_opioid_rows"), [key], monthly_partitions
    )
    assert status[key] == AssetPartitionStatus.FAILED
    assert daemon.tick() == []
    assert daemon.run_months([LATER])
    assert daemon.tick() == []

    # Once the month is fixed and re-run, one run publishes both.
    assert daemon.run_months([REJECTED])
    (request,) = daemon.tick()
    daemon.execute(request)
    assert daemon.tick() == []
    assert daemon.publish_runs() == 2
