"""A refresh killed while it holds the warehouse never blocks the next one.

A real ``opioids refresh`` subprocess is SIGKILLed while its warehouse-pool step (the
organisations, stalled by a portal that hangs on the ODS download) holds the pool's only
slot. The next refresh (run here in the test's process: what the command runs, without
paying for a second interpreter) must notice the dead run, mark it failed, free the slot
and finish.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from filelock import FileLock

from pipelines.runner import refresh
from pipelines.warehouse import WAREHOUSE_POOL
from tests.support import FAST_RETRIES, portal_settings

pytestmark = pytest.mark.integration
OPIOIDS = str(Path(sys.executable).parent / "opioids")


@pytest.fixture
def slow_portal(tmp_path_factory, sample_copy):
    from demo.sample_portal import SamplePortal

    with SamplePortal(sample_copy(tmp_path_factory.mktemp("slow_portal") / "sample")) as portal:
        yield portal


def _slot_holders(home: Path) -> list[str]:
    if not (home / "dagster.yaml").exists():
        return []
    # The instance lock: the refresh may be creating the instance's tables right now.
    with FileLock(home / ".instance.lock"), DagsterInstance.from_config(str(home)) as instance:
        info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        return [slot.run_id for slot in info.claimed_slots]


def test_refresh_after_a_killed_refresh_completes(tmp_path, slow_portal, monkeypatch):
    home = tmp_path / "dagster_home"
    env = dict(
        os.environ,
        OPIOIDS_DATA_DIR=str(tmp_path / "data"),
        DAGSTER_HOME=str(home),
        **slow_portal.env(),
        OPIOIDS_HTTP_TIMEOUT="200",
    )
    command = [OPIOIDS, "refresh", "--from", "2025-01", "--to", "2025-01"]
    slow_portal.set_fault("hang", endpoint="ods", seconds=240, times=1)
    victim = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        holders: list[str] = []
        while not holders:
            assert victim.poll() is None, victim.communicate()[0]
            assert time.monotonic() < deadline, "the refresh never took the warehouse slot"
            time.sleep(0.5)
            holders = _slot_holders(home)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
    slow_portal.clear_faults()
    assert _slot_holders(home) == holders  # the dead run still holds the slot

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    said: list[str] = []
    refresh(
        portal_settings(tmp_path / "data", slow_portal.url),
        [date(2025, 1, 1)],
        echo=said.append,
        **FAST_RETRIES,
    )
    out = "\n".join(said)
    assert f"run {holders[0][:8]}" in out and "marked failed" in out

    with DagsterInstance.from_config(str(home)) as instance:
        dead = instance.get_run_by_id(holders[0])
        assert dead is not None and dead.status == DagsterRunStatus.FAILURE
        assert not instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).claimed_slots
