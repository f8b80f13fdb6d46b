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
    from pipelines.sample_portal import SamplePortal

    with SamplePortal(tmp_path_factory.mktemp("sample_portal")) as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path, portal, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return portal_settings(tmp_path / "data", portal.url)
