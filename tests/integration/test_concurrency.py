"""Two refreshes at once on one data directory: the `warehouse` pool serialises the steps
that write the DuckDB warehouse (one writing process per file), so both succeed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance

pytestmark = pytest.mark.integration
OPIOIDS = str(Path(sys.executable).parent / "opioids")


def test_parallel_refreshes_queue_for_the_warehouse(tmp_path, portal, monkeypatch):
    env = dict(
        os.environ,
        OPIOIDS_DATA_DIR=str(tmp_path / "data"),
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
        **portal.env(),
    )
    ranges = [("2025-01", "2025-01"), ("2025-02", "2025-02")]  # a month each is enough to overlap
    procs = [
        subprocess.Popen(
            [OPIOIDS, "refresh", "--from", a, "--to", b],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for a, b in ranges
    ]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out
        assert "Could not set lock" not in out

    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with DagsterInstance.get() as instance:
        blocked = 0
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id):
                if "blocked by limit for pool warehouse" in (entry.user_message or ""):
                    blocked += 1
    # The two processes overlapped, and the pool made one wait for the other.
    assert blocked > 0
