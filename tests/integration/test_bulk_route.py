"""The bulk route against the sample portal over loopback: same frames as the SQL route.

The portal serves each month's CSV and a zip behind an expiring presigned ``zip_url``,
both with Range support, and the SQL service the other route uses, all from the same
bytes. So for one month both routes must stage identical frames, whichever layout the
month has and whichever way the bulk file arrived (zip, resumed zip, refreshed link,
plain CSV when ``zip_url`` is missing).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.fetch import FetchedMonth, fetch_month, fetch_via_sql
from pipelines.http import HttpClient
from pipelines.sources.bulk import cache_path, fetch_via_bulk
from pipelines.sources.bulk_download import part_path
from pipelines.sources.ckan import CkanClient, EpdResource

pytestmark = pytest.mark.integration

# 2024-10 has the legacy header, 2025-04 the current one (and a zip64 zip); both carry a
# published sha256, so the zip member is checked against it too.
LEGACY, CURRENT = date(2024, 10, 1), date(2025, 4, 1)


class RecordingHttp(HttpClient):
    """The production client, noting the headers of each download it opens."""

    def __init__(self) -> None:
        super().__init__(timeout_seconds=10.0, max_attempts=3, sleep=lambda s: None)
        self.downloads: list[tuple[str, dict[str, str]]] = []

    @contextmanager
    def stream(self, url: str, **kwargs: Any) -> Iterator[httpx.Response]:
        self.downloads.append((url, dict(kwargs.get("headers") or {})))
        with super().stream(url, **kwargs) as response:
            yield response


@pytest.fixture
def clients(portal) -> Iterator[tuple[CkanClient, RecordingHttp]]:
    http = RecordingHttp()
    try:
        yield CkanClient(http, portal.url), http
    finally:
        portal.clear_faults()
        http.close()


@pytest.fixture(scope="module")
def sql_frames(portal) -> dict[date, FetchedMonth]:
    """The SQL route's result for each month, computed once."""
    with HttpClient(timeout_seconds=10.0, max_attempts=3) as http:
        ckan = CkanClient(http, portal.url)
        return {m: fetch_via_sql(ckan, ckan.epd_resource(m)) for m in (LEGACY, CURRENT)}


def _resource(ckan: CkanClient, month: date) -> EpdResource:
    return ckan.epd_resource(month)


@pytest.mark.parametrize("month", [LEGACY, CURRENT], ids=["legacy", "current"])
def test_bulk_zip_gives_the_same_frame_as_sql(clients, sql_frames, tmp_path: Path, month) -> None:
    ckan, http = clients
    resource = _resource(ckan, month)
    bulk = fetch_via_bulk(ckan, http, resource, work_dir=tmp_path)
    sql = sql_frames[month]
    assert bulk.frame.equals(sql.frame)
    assert bulk.layout.name == sql.layout.name == ("legacy" if month == LEGACY else "current")
    assert bulk.route == "bulk"
    details = bulk.details
    assert details["route"] == "bulk" and details["download_url_kind"] == "zip"
    assert details["hash_checked"] == "sha256"  # the published CSV hash, on the zip member
    assert details["rows_read"] > bulk.frame["source_rows"].sum()
    assert details["download_bytes"] > 0 and not details["resumed"]
    assert "/zip/" in http.downloads[0][0] and "X-Goog-Signature" in http.downloads[0][0]
    assert list(tmp_path.iterdir()) == []  # the download is removed after a good read


def test_interrupted_zip_download_resumes_with_a_range_request(
    clients, sql_frames, tmp_path: Path
) -> None:
    ckan, http = clients
    resource = _resource(ckan, CURRENT)
    zip_url = ckan.resource_show(resource.id)["zip_url"]
    whole = httpx.get(zip_url).content
    # What an interrupted earlier attempt leaves behind: the first part of the file.
    dest = cache_path(tmp_path, resource, "zip")
    keep = len(whole) // 3
    part_path(dest).write_bytes(whole[:keep])
    bulk = fetch_via_bulk(ckan, http, resource, work_dir=tmp_path, keep_download=True)
    assert http.downloads[-1][1]["Range"] == f"bytes={keep}-"
    assert bulk.details["resumed"] is True and bulk.details["download_restarts"] == 0
    assert dest.read_bytes() == whole
    assert bulk.frame.equals(sql_frames[CURRENT].frame)


def test_expired_zip_url_is_refreshed_and_the_download_completes(
    portal, clients, sql_frames, tmp_path: Path
) -> None:
    ckan, http = clients
    resource = _resource(ckan, LEGACY)
    portal.set_fault("status", endpoint="zip", status=403, times=1)
    bulk = fetch_via_bulk(ckan, http, resource, work_dir=tmp_path)
    assert bulk.details["zip_url_refreshes"] == 1
    assert bulk.frame.equals(sql_frames[LEGACY].frame)


def test_missing_zip_url_falls_back_to_the_csv_url(
    portal, clients, sql_frames, tmp_path: Path
) -> None:
    ckan, http = clients
    resource = _resource(ckan, CURRENT)
    portal.set_fault("missing_zip_url", times=1)
    bulk = fetch_via_bulk(ckan, http, resource, work_dir=tmp_path)
    assert bulk.details["download_url_kind"] == "csv"
    assert bulk.details["read_mode"] == "lines-direct"
    assert "/download/" in http.downloads[0][0]
    assert bulk.details["hash_checked"] == "sha256"  # the CSV itself, while it downloaded
    assert bulk.frame.equals(sql_frames[CURRENT].frame)


def test_auto_route_falls_back_to_bulk_when_sql_fails(
    portal, clients, sql_frames, tmp_path: Path
) -> None:
    ckan, http = clients
    resource = _resource(ckan, LEGACY)
    portal.set_fault("inner_failure")  # every SQL query fails inside an HTTP 200
    fetched = fetch_month(ckan, http, resource, "auto", work_dir=tmp_path)
    assert fetched.route == "bulk"
    assert "fallback_reason" in fetched.details
    assert fetched.frame.equals(sql_frames[LEGACY].frame)


def test_connection_reset_before_the_body_is_retried(
    portal, clients, sql_frames, tmp_path: Path
) -> None:
    ckan, http = clients
    resource = _resource(ckan, CURRENT)
    portal.set_fault("reset", endpoint="zip", times=1)
    bulk = fetch_via_bulk(ckan, http, resource, work_dir=tmp_path)
    assert bulk.frame.equals(sql_frames[CURRENT].frame)


def test_duplicated_rows_are_counted_the_same_way_by_both_routes(
    portal, clients, tmp_path: Path
) -> None:
    ckan, http = clients
    portal.set_fault("duplicate_rows", month="2024-10", rows=3)
    resource = _resource(ckan, LEGACY)
    sql = fetch_via_sql(ckan, resource)
    bulk = fetch_via_bulk(ckan, http, resource, work_dir=tmp_path)
    assert int(bulk.frame["duplicate_rows"].sum()) == 3
    assert bulk.frame.equals(sql.frame)
