"""Where bulk downloads are kept: one file per publication, earlier ones cleared."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from pipelines.sources import bulk
from pipelines.sources.bulk import cache_path
from pipelines.sources.ckan import EpdResource

RESOURCE = EpdResource(
    dataset="english-prescribing-dataset-epd-with-snomed-code",
    id="r1",
    name="EPD_SNOMED_202401",
    month=date(2024, 1, 1),
    url="https://portal.test/x.csv",
    size=100,
    created="2024-03-15T09:00:00",
    last_modified=None,
    hash=None,
    schema_fields=None,
)


def test_a_republished_month_gets_a_new_file_name(tmp_path: Path) -> None:
    first = cache_path(tmp_path, RESOURCE, "zip")
    again = cache_path(tmp_path, RESOURCE, "zip")
    republished = cache_path(
        tmp_path, replace(RESOURCE, last_modified="2026-02-16T08:00:00"), "zip"
    )
    assert first == again and first != republished
    assert first.name.startswith("EPD_SNOMED_202401-") and first.suffix == ".zip"
    assert cache_path(tmp_path, RESOURCE, "csv").suffix == ".csv"


def test_earlier_publications_and_stale_reads_are_removed(tmp_path: Path) -> None:
    old = cache_path(tmp_path, replace(RESOURCE, size=99), "zip")
    old.write_bytes(b"old")
    old.with_name(old.name + ".part").write_bytes(b"o")
    other_month = cache_path(tmp_path, replace(RESOURCE, name="EPD_SNOMED_202402"), "zip")
    other_month.write_bytes(b"keep")
    current = cache_path(tmp_path, RESOURCE, "zip")
    current.with_name(current.name + ".part").write_bytes(b"partial")
    bulk._remove_other_versions(tmp_path, RESOURCE, {current})
    assert not old.exists() and not old.with_name(old.name + ".part").exists()
    assert other_month.exists()
    assert current.with_name(current.name + ".part").exists()

    stale, fresh = tmp_path / ".epd-read-old", tmp_path / ".epd-read-new"
    stale.mkdir()
    fresh.mkdir()
    long_ago = time.time() - 7 * 3600
    os.utime(stale, (long_ago, long_ago))
    bulk._remove_stale_reads(tmp_path)
    assert not stale.exists() and fresh.exists()
