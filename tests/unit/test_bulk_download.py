"""Downloads: progress reports, resume with Range, restarts, expired links, verification.

The server is an in-process ``httpx.MockTransport`` so each behaviour (a body cut off
mid-way, a server that ignores Range, a presigned link that expires) can be staged
exactly and the requests inspected.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipelines.http import HttpClient, SourceError
from pipelines.sources.bulk_download import (
    DownloadError,
    DownloadProgress,
    download_file,
    parse_hash,
    part_path,
)

BODY = bytes(range(256)) * 4096  # 1 MiB
ETAG = '"v1"'


class _CutOff(httpx.SyncByteStream):
    """A body that stops with a network error after ``limit`` bytes."""

    def __init__(self, data: bytes, limit: int) -> None:
        self.data, self.limit = data, limit

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: self.limit]
        raise httpx.ReadError("connection reset by peer")


class Server:
    """A file server with switchable behaviour; records every request it saw."""

    def __init__(self, body: bytes = BODY) -> None:
        self.body = body
        self.requests: list[httpx.Request] = []
        self.cut_after: list[int] = []  # bodies to cut off, one per request, in order
        self.ignore_range = False
        self.forbid: set[str] = set()  # paths answered with 403
        self.etag = ETAG

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path in self.forbid:
            return httpx.Response(403, text="<Error><Code>ExpiredToken</Code></Error>")
        start = 0
        status = 200
        headers = {"ETag": self.etag, "Accept-Ranges": "bytes"}
        wanted = request.headers.get("Range")
        if (
            wanted
            and not self.ignore_range
            and request.headers.get("If-Range") in (None, self.etag)
        ):
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            if start >= len(self.body):
                return httpx.Response(416, headers={"Content-Range": f"bytes */{len(self.body)}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(self.body) - 1}/{len(self.body)}"
        data = self.body[start:]
        headers["Content-Length"] = str(len(data))
        if self.cut_after:
            return httpx.Response(
                status, headers=headers, stream=_CutOff(data, self.cut_after.pop(0))
            )
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(data))


def client(server: Server) -> HttpClient:
    return HttpClient(
        max_attempts=2, sleep=lambda s: None, transport=httpx.MockTransport(server.handler)
    )


def fetch(server: Server, dest: Path, **kwargs: object):
    options: dict[str, object] = {"label": "EPD_TEST zip", "sleep": lambda s: None}
    options.update(kwargs)
    return download_file(client(server), "https://portal.test/file.zip", dest, **options)  # type: ignore[arg-type]


def test_plain_download_is_whole_and_atomic(tmp_path: Path) -> None:
    server = Server()
    dest = tmp_path / "f.zip"
    result = fetch(server, dest)
    assert dest.read_bytes() == BODY
    assert not part_path(dest).exists()
    assert result.bytes == len(BODY) and not result.resumed and not result.cached
    assert json.loads(dest.with_name("f.zip.json").read_text())["bytes"] == len(BODY)


def test_completed_download_is_reused_without_a_request(tmp_path: Path) -> None:
    server = Server()
    dest = tmp_path / "f.zip"
    fetch(server, dest)
    again = fetch(server, dest)
    assert again.cached and len(server.requests) == 1


def test_a_hand_made_partial_file_is_resumed_with_a_range_request(tmp_path: Path) -> None:
    server = Server()
    dest = tmp_path / "f.zip"
    part_path(dest).write_bytes(BODY[:300_000])
    result = fetch(server, dest)
    assert server.requests[0].headers["Range"] == "bytes=300000-"
    assert dest.read_bytes() == BODY
    assert result.resumed and result.restarts == 0


def test_a_body_cut_off_mid_way_resumes_where_it_stopped(tmp_path: Path) -> None:
    server = Server()
    server.cut_after = [400_000, 100_000]  # two interruptions, then the rest
    dest = tmp_path / "f.zip"
    delays: list[float] = []
    result = fetch(server, dest, sleep=delays.append)
    assert dest.read_bytes() == BODY
    ranges = [r.headers.get("Range") for r in server.requests]
    assert ranges == [None, "bytes=400000-", "bytes=500000-"]
    # The resumed requests carry the first response's validator.
    assert [r.headers.get("If-Range") for r in server.requests[1:]] == [ETAG, ETAG]
    assert result.resumed and delays == [1.0, 2.0]


def test_a_server_that_ignores_range_restarts_cleanly(tmp_path: Path) -> None:
    server = Server()
    server.ignore_range = True
    dest = tmp_path / "f.zip"
    part_path(dest).write_bytes(b"stale bytes that must not survive")
    result = fetch(server, dest)
    assert dest.read_bytes() == BODY
    assert result.restarts == 1


def test_a_changed_object_is_sent_whole_and_restarted(tmp_path: Path) -> None:
    server = Server()
    dest = tmp_path / "f.zip"
    server.cut_after = [200_000]
    with pytest.raises(SourceError, match="interrupted"):
        fetch(server, dest, max_resumes=0)
    assert part_path(dest).stat().st_size == 200_000
    # Re-published meanwhile: the If-Range validator no longer matches, so the server
    # sends the whole new file (200) and the kept bytes must not be spliced onto it.
    server.body, server.etag = BODY[::-1], '"v2"'
    result = fetch(server, dest)
    assert server.requests[-1].headers["If-Range"] == ETAG
    assert dest.read_bytes() == BODY[::-1]
    assert result.restarts == 1


def test_an_expired_link_is_refreshed_and_the_download_resumed(tmp_path: Path) -> None:
    server = Server()
    server.cut_after = [250_000]
    dest = tmp_path / "f.zip"
    fresh_links: list[str] = []

    def refresh() -> str:
        fresh_links.append("https://portal.test/fresh.zip")
        return fresh_links[-1]

    original = server.handler

    def expire_after_first(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/file.zip" and len(server.requests) >= 1:
            server.requests.append(request)
            return httpx.Response(403, text="ExpiredToken")
        return original(request)

    server.handler = expire_after_first  # type: ignore[method-assign]
    result = fetch(server, dest, refresh_url=refresh)
    assert dest.read_bytes() == BODY
    assert result.url_refreshes == 1 and fresh_links
    assert server.requests[-1].url.path == "/fresh.zip"
    assert server.requests[-1].headers["Range"] == "bytes=250000-"


def test_a_403_without_a_fresh_link_fails(tmp_path: Path) -> None:
    server = Server()
    server.forbid = {"/file.zip"}
    with pytest.raises(SourceError, match="403"):
        fetch(server, tmp_path / "f.zip")


def test_a_complete_part_file_is_renamed_without_downloading_again(tmp_path: Path) -> None:
    server = Server()
    dest = tmp_path / "f.zip"
    part_path(dest).write_bytes(BODY)  # every byte arrived, but the rename did not happen
    result = fetch(server, dest)
    assert server.requests[0].headers["Range"] == f"bytes={len(BODY)}-"  # answered 416
    assert dest.read_bytes() == BODY and result.restarts == 1


def test_size_is_checked_against_the_published_size(tmp_path: Path) -> None:
    server = Server()
    dest = tmp_path / "f.csv"
    with pytest.raises(DownloadError, match="resource says"):
        fetch(server, dest, expected_size=len(BODY) + 1)
    assert not dest.exists()


def test_hash_is_checked_including_resumed_bytes(tmp_path: Path) -> None:
    server = Server()
    dest = tmp_path / "f.csv"
    part_path(dest).write_bytes(BODY[:123_456])
    digest = hashlib.sha256(BODY).hexdigest()
    result = fetch(server, dest, expected_hash=digest, expected_size=len(BODY))
    assert result.hash_checked == "sha256"

    bad = tmp_path / "g.csv"
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch(server, bad, expected_hash="0" * 64)
    assert not bad.exists() and not part_path(bad).exists()


def test_progress_reaches_the_callback_and_the_log(tmp_path: Path, caplog, monkeypatch) -> None:
    from pipelines.sources import bulk_download

    monkeypatch.setattr(bulk_download, "CALLBACK_EVERY_SECONDS", 0.0)
    monkeypatch.setattr(bulk_download, "CHUNK_BYTES", 64 * 1024)
    seen: list[DownloadProgress] = []
    server = Server()
    with caplog.at_level(logging.INFO, logger="pipelines.sources.bulk_download"):
        fetch(server, tmp_path / "f.zip", progress=seen.append)
    assert seen[-1].done == seen[-1].total == len(BODY)
    assert all(b.done >= a.done for a, b in zip(seen, seen[1:], strict=False))
    assert len(seen) >= 2
    final = [r.getMessage() for r in caplog.records if "100.0%" in r.getMessage()]
    assert final and "MB/s" in final[-1] and "EPD_TEST zip" in final[-1]


def test_progress_text_has_percent_rate_and_eta() -> None:
    p = DownloadProgress("EPD_SNOMED_202401 zip", 250_000_000, 500_000_000, 10.0, 200_000_000)
    text = p.describe()
    assert "50.0% of 500.0 MB" in text
    assert "20.0 MB/s" in text
    assert "ETA 12s" in text
    assert DownloadProgress("x", 5, None, 1.0, 5).describe() == "x: 0.0 MB, 0.0 MB/s"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ab" * 32, ("sha256", "ab" * 32)),
        ("MD5:" + "0f" * 16, ("md5", "0f" * 16)),
        ("", None),
        ("not-a-hash", None),
        ("12345", None),
    ],
)
def test_parse_hash(value: str, expected: tuple[str, str] | None) -> None:
    assert parse_hash(value) == expected
