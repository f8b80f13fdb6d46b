"""Dead runs are told apart from live ones, marked failed and their slots freed; waiting
for a pool reports who holds it and can be interrupted, before a run and inside one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.storage.dagster_run import DagsterRun

from pipelines.run_liveness import (
    PID_TAG,
    LivenessRunLauncher,
    interruptible_pool_waits,
    process_alive,
    recover_dead_runs,
    wait_for_pool,
    worker_tags,
)

POOL = "warehouse"


@pytest.fixture(scope="module")
def shared_instance(tmp_path_factory):
    with DagsterInstance.local_temp(str(tmp_path_factory.mktemp("instance"))) as inst:
        yield inst


@pytest.fixture
def instance(shared_instance):
    """One instance for the module (creating one takes seconds), emptied for each test."""
    shared_instance.wipe()
    shared_instance.event_log_storage.set_concurrency_slots(POOL, 1)
    return shared_instance


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _started_run(instance: DagsterInstance, tags: dict[str, str]) -> str:
    run = DagsterRun(job_name="monthly_refresh", tags=tags, status=DagsterRunStatus.STARTED)
    return instance.add_run(run).run_id


def _run_holding_slot(instance: DagsterInstance, tags: dict[str, str]) -> str:
    run_id = _started_run(instance, tags)
    claim = instance.event_log_storage.claim_concurrency_slot(POOL, run_id, "comparators")
    assert claim.is_claimed
    return run_id


def test_process_alive_tells_live_dead_and_reused_pids():
    assert process_alive(os.getpid(), time.time())
    assert not process_alive(_dead_pid())
    # This process started before now; one that "started" before an hour ago is not it.
    assert not process_alive(os.getpid(), time.time() - 3600)


def test_dead_run_is_failed_and_its_slot_freed(instance):
    run_id = _run_holding_slot(instance, {PID_TAG: str(_dead_pid())})
    live_id = _started_run(instance, worker_tags())
    waiting = instance.event_log_storage.claim_concurrency_slot(POOL, live_id, "comparators")
    assert not waiting.is_claimed  # pending behind the dead run
    dead = recover_dead_runs(instance)
    assert [d.run_id for d in dead] == [run_id]
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(live_id).status == DagsterRunStatus.STARTED
    # The slot is free, and the live run's waiting step gets it on its next try.
    assert not instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
    retry = instance.event_log_storage.claim_concurrency_slot(POOL, live_id, "comparators")
    assert retry.is_claimed


def test_slot_of_an_ended_run_is_freed(instance):
    run_id = _run_holding_slot(instance, worker_tags())
    instance.report_run_canceled(instance.get_run_by_id(run_id))
    assert recover_dead_runs(instance) == []
    assert not instance.event_log_storage.get_concurrency_info(POOL).claimed_slots


def test_waiting_reports_the_holder_and_stops_on_ctrl_c(instance):
    run_id = _run_holding_slot(instance, worker_tags())
    said: list[str] = []
    naps: list[float] = []
    clock = iter(range(0, 1000, 10))

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        wait_for_pool(
            instance,
            POOL,
            echo=said.append,
            sleep=sleep,
            clock=lambda: float(next(clock)),
            report_every_seconds=30,
        )
    assert len(naps) == 5
    assert len(said) == 2 and run_id[:8] in said[0] and "Ctrl-C" in said[0]


def test_waiting_returns_once_the_holder_is_gone(instance):
    _run_holding_slot(instance, {PID_TAG: str(_dead_pid())})
    said: list[str] = []
    assert wait_for_pool(instance, POOL, echo=said.append, sleep=pytest.fail) >= 0
    assert said == []


def test_launcher_reports_dead_and_live_workers(instance):
    launcher = LivenessRunLauncher()
    launcher.register_instance(instance)
    dead_id = _run_holding_slot(instance, {PID_TAG: str(_dead_pid())})
    live_id = _started_run(instance, worker_tags())
    untagged_id = _started_run(instance, {})
    status = {
        run_id: launcher.check_run_worker_health(instance.get_run_by_id(run_id)).status.value
        for run_id in (dead_id, live_id, untagged_id)
    }
    assert status == {dead_id: "FAILED", live_id: "RUNNING", untagged_id: "RUNNING"}


def test_ctrl_c_stops_a_run_whose_step_waits_inside_dagster_for_the_slot(instance):
    """Another live run holds the slot; Dagster's in-process executor would hold the
    interrupt back until that run lets go, for ever here."""
    from dagster import job, op

    holder = _run_holding_slot(instance, worker_tags())

    @op(pool=POOL)
    def write_warehouse() -> None:
        raise AssertionError("ran without the slot")

    @job
    def writer() -> None:
        write_warehouse()

    storage, done = instance.event_log_storage, threading.Event()

    def ctrl_c_once_waiting() -> None:
        deadline = time.monotonic() + 60
        while storage.get_concurrency_info(POOL).pending_step_count == 0:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        else:
            os.kill(os.getpid(), signal.SIGINT)  # the run is inside Dagster, which holds it
        if not done.wait(30):
            storage.free_concurrency_slots_for_run(holder)  # fail the test, never hang it

    threading.Thread(target=ctrl_c_once_waiting, daemon=True).start()
    try:
        with interruptible_pool_waits(grace_seconds=0.3) as interrupted:
            result = writer.execute_in_process(instance=instance, raise_on_error=False)
    finally:
        done.set()
    assert interrupted() and not result.success
    assert instance.get_run_by_id(result.run_id).status == DagsterRunStatus.FAILURE
    info = instance.event_log_storage.get_concurrency_info(POOL)
    assert info.active_run_ids == {holder} and info.pending_step_count == 0
