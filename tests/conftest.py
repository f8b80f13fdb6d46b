"""Shared fixtures: the sample portal on loopback and pipeline settings pointing at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import Settings
from tests.support import portal_settings


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory):
    """One sample portal for the session (generating the sample takes a few seconds).

    Tests that change the portal (faults, re-publication) start their own instead.
    """
    from demo.sample_portal import SamplePortal

    with SamplePortal(tmp_path_factory.mktemp("sample_portal")) as running:
        yield running


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``), keep each module's tests on one worker so
    module-scoped fixtures (a refresh, a portal) are built once, and put every test that
    reads the shared published extract in one group so it is built once too."""
    for item in items:
        if "outputs_extract" in getattr(item, "fixturenames", ()):
            group = "outputs_extract"
        else:
            group = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))


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
