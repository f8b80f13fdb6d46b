"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from demo.settings import sample_settings
from pipelines.config import Settings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(name: str) -> Path:
    """A file of ``../shared/data`` (real reference data kept beside the clone, never in it).

    A user's clone has no ``../shared``: there the tests that need it skip and say so. CI
    has it beside the clone, so under CI a missing file fails the test instead.
    """
    path = SHARED_DATA / name
    if not path.is_file():
        message = f"{path} is not present: this test needs ../shared/data beside the clone"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


# Retries in tests wait milliseconds, not seconds; the policy itself is the production one.
FAST_RETRIES = {"backoff_base_seconds": 0.01}


def portal_settings(data_dir: Path, portal_url: str) -> Settings:
    """Settings for a run against the sample portal, patient enough for fault tests."""
    return sample_settings(
        Settings(data_dir=data_dir, http_timeout_seconds=10.0, http_max_attempts=4), portal_url
    )


def default_signals() -> None:
    """``preexec_fn`` for a child that must stop on SIGTERM (or Ctrl-C): both at their
    defaults. A test run started in the background by a non-interactive shell ignores
    SIGINT, Python keeps it ignored, and Dagster maps SIGTERM to SIGINT's handler whenever
    it runs in the test process, so its children would inherit SIGTERM ignored too (a
    Dagster code server then outlives SIGTERM)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def write_tables(path: Path, tables: dict[str, pl.DataFrame]) -> Path:
    """A DuckDB file at ``path`` holding each frame of ``tables`` as the table it is keyed
    by (a hand-made extract for a unit test); returns ``path``."""
    con = duckdb.connect(str(path))
    try:
        for name, frame in tables.items():
            con.from_arrow(frame.to_arrow()).create(name)
    finally:
        con.close()
    return path
