"""Shared fixtures: the sample portal on loopback and pipeline settings pointing at it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from pipelines.config import Settings
from tests.support import portal_settings

# Scratch space in memory when the machine has it: every commit to the Dagster instance's
# SQLite files and every DuckDB checkpoint waits for the disk (about 10 ms a time on this
# machine, thousands of times a run), which is no part of what the tests show. The files
# are still real files (tmpfs), written and renamed as on disk. An explicit TMPDIR wins.
MEMORY_SCRATCH = Path("/dev/shm")


def pytest_configure(config: pytest.Config) -> None:
    if "TMPDIR" not in os.environ and os.access(MEMORY_SCRATCH, os.W_OK | os.X_OK):
        os.environ["TMPDIR"] = str(MEMORY_SCRATCH)  # inherited by xdist workers, subprocesses
        tempfile.tempdir = None  # forget a temporary directory already looked up


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory):
    """One sample portal for the session (generating the sample takes a few seconds).

    Tests that change the portal (faults, re-publication) start their own instead.
    """
    from demo.sample_portal import SamplePortal

    with SamplePortal(tmp_path_factory.mktemp("sample_portal")) as running:
        yield running


@pytest.fixture(scope="session")
def sample_copy(portal):
    """Fill a new directory with the session's sample, for a portal of a test's own.

    Generating the sample costs seconds of CPU; the copy is hard links, which is safe
    because the portal only ever replaces its files (write and rename), never edits them.
    """

    def copy(dest: Path) -> Path:
        shutil.copytree(
            portal.data_dir, dest, copy_function=os.link, ignore=shutil.ignore_patterns("cache")
        )
        return dest

    return copy


@pytest.fixture
def settings(tmp_path: Path, portal, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return portal_settings(tmp_path / "data", portal.url)


@pytest.fixture(scope="session")
def outputs_extract(tmp_path_factory: pytest.TempPathFactory, portal) -> Path:
    """One 13-month publication (2024-12..2025-12, so 12-month windows exist) with its
    dashboard, shared by the output tests: the export, the worked queries, the dashboard in
    a browser and the publication switch. Its Dagster instance is ``dagster_home`` beside
    the data directory."""
    from datetime import date

    from pipelines.partitions import months_between
    from pipelines.runner import refresh
    from tests.support import FAST_RETRIES

    root = tmp_path_factory.mktemp("outputs_extract")
    settings = portal_settings(root / "data", portal.url)
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    try:
        months = months_between(date(2024, 12, 1), date(2025, 12, 1))
        refresh(settings, months, echo=lambda _: None, dashboard=True, **FAST_RETRIES)
    finally:
        mp.undo()
    return settings.extract_path


# The longest groups, longest first (seconds each in docs/performance.md). Run with
# ``--no-loadscope-reorder`` (as ``make test`` does), pytest-xdist hands groups out in
# collection order, so these start at once on the workers instead of being left to the
# end (its default order is by number of tests, which puts one-test modules last).
LONGEST_FIRST = (
    "tests/integration/test_monthly_automation_daemon.py",
    "outputs_extract",
    "tests/integration/test_ui_after_demo.py",
    "tests/integration/test_failures.py",
    "tests/integration/test_crash_recovery.py",
    "tests/integration/test_publish_automation.py",
    "tests/integration/test_concurrency.py",
    "tests/integration/test_publication_switch.py",
    "tests/integration/test_history.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``), keep each module's tests on one worker so
    module-scoped fixtures (a refresh, a portal) are built once, and put every test that
    reads the shared published extract in one group so it is built once too. Groups are
    ordered longest first (:data:`LONGEST_FIRST`), each group's tests kept together."""
    if not config.pluginmanager.hasplugin("xdist"):
        return  # run without xdist (``-p no:xdist``): there are no groups to keep
    groups = {}
    for item in items:
        if "outputs_extract" in getattr(item, "fixturenames", ()):
            group = "outputs_extract"
        else:
            group = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
        groups[item.nodeid] = group
    rank = {group: i for i, group in enumerate(LONGEST_FIRST)}
    first_seen = {}
    for item in items:
        first_seen.setdefault(groups[item.nodeid], len(first_seen))
    items.sort(
        key=lambda item: (
            rank.get(groups[item.nodeid], len(rank)),
            first_seen[groups[item.nodeid]],
        )
    )


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on a free loopback port for the session (tests/postgres.py).

    When it cannot start the tests that need it fail, saying why; they never skip.
    """
    from tests.postgres import start_postgres

    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
