"""A month is skipped only when its publication, its staged file and the staged format
are all unchanged; anything else fetches it again."""

from datetime import date

import polars as pl

from pipelines.fetch import is_unchanged
from pipelines.sources.ckan import EpdResource
from pipelines.sources.epd import staged_schema_fingerprint
from pipelines.staging import StagingArea, write_json, write_parquet

MONTH = date(2025, 1, 1)


def _resource(last_modified: str = "2025-03-20T09:00:00") -> EpdResource:
    return EpdResource(
        dataset="d", id="u", name="EPD_SNOMED_202501", month=MONTH, url=None, size=10,
        created="2025-03-15T09:00:00", last_modified=last_modified, hash=None, schema_fields=None,
    )  # fmt: skip


def _stage(tmp_path, **overrides) -> StagingArea:
    staging = StagingArea(tmp_path)
    checksum = write_parquet(pl.DataFrame({"a": [1]}), staging.epd_path(MONTH))
    provenance = {
        "version_key": _resource().version_key,
        "checksum_sha256": checksum,
        "staged_schema": staged_schema_fingerprint(),
        **overrides,
    }
    write_json(provenance, staging.epd_provenance_path(MONTH))
    return staging


def test_unchanged_publication_is_skipped(tmp_path):
    assert is_unchanged(_stage(tmp_path), MONTH, _resource()) is not None


def test_republished_month_is_fetched_again(tmp_path):
    assert is_unchanged(_stage(tmp_path), MONTH, _resource("2026-05-01T09:00:00")) is None


def test_month_staged_in_an_older_format_is_fetched_again(tmp_path):
    assert is_unchanged(_stage(tmp_path, staged_schema="older"), MONTH, _resource()) is None


def test_tampered_or_partial_file_is_fetched_again(tmp_path):
    staging = _stage(tmp_path)
    staging.epd_path(MONTH).write_bytes(b"not the file we staged")
    assert is_unchanged(staging, MONTH, _resource()) is None
