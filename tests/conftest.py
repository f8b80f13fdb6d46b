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


# Under pytest-xdist each group of tests runs whole on one worker, so module fixtures (a
# refresh, a portal) are built once: a group is a module, except that the modules reading
# the shared 13-month publication (``outputs_extract``) are one group, so it is built once.
SHARED_EXTRACT_MODULES = frozenset(
    f"tests/integration/{name}.py"
    for name in (
        "test_dashboard_browser",
        "test_export",
        "test_worked_queries",
        "test_extract_compatibility",
        "test_publication_switch",
    )
)
OUTPUTS_GROUP = "outputs_extract"
# The longest groups, longest first (docs/performance.md): groups are handed to workers in
# this order, so these start at once instead of being left to the end.
LONGEST_FIRST = (
    "tests/integration/test_monthly_automation_daemon.py",
    OUTPUTS_GROUP,
    "tests/integration/test_ui_after_demo.py",
    "tests/integration/test_failures.py",
    "tests/integration/test_crash_recovery.py",
    "tests/integration/test_publish_automation.py",
    "tests/integration/test_concurrency.py",
    "tests/integration/test_history.py",
)


def group_of(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    return OUTPUTS_GROUP if module in SHARED_EXTRACT_MODULES else module


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the tests group by group, the longest groups first (stable otherwise)."""
    rank = {group: i for i, group in enumerate(LONGEST_FIRST)}
    first_seen: dict[str, int] = {}
    for item in items:
        first_seen.setdefault(group_of(item.nodeid), len(first_seen))
    items.sort(
        key=lambda item: (
            rank.get(group_of(item.nodeid), len(rank)),
            first_seen[group_of(item.nodeid)],
        )
    )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN201 - xdist's hook
    """Hand each group whole to one worker, in collection order (longest first).

    (xdist's own ``loadgroup`` cannot be used: it marks groups by rewriting test ids in a
    way pytest 9 no longer reads, so every test became a group of its own.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    config.option.loadscopereorder = False  # keep the collection order, longest first
    return GroupScheduling(config, log)


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
