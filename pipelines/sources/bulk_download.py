"""Downloading a monthly EPD file: streamed to disk, resumable, verified, atomic.

A month is about 0.5 GB zipped (7 GB as CSV) from a presigned link that expires about an
hour after it was issued. A download that dies at 80% should not start again from zero,
and a link that expires mid-way should not lose the bytes already on disk, so:

* bytes go to ``<file>.part``; a later attempt (this run or the next) asks for the rest
  with ``Range: bytes=<size of .part>-`` and appends. ``If-Range`` carries the first
  response's validator, so if the object changed meanwhile the server sends it whole
  (200) and the ``.part`` is restarted rather than spliced with different bytes. A server
  that ignores ``Range`` (200 instead of 206) also restarts cleanly;
* a 403 on a presigned link calls ``refresh_url`` for a fresh link and resumes;
* the size is checked against ``Content-Length``/``Content-Range`` and, when the caller
  knows it, the published size; a hash, when given, is computed while the bytes stream
  (and over the kept ``.part`` on resume) and checked before the file is used;
* only a complete, verified file is renamed into place, so a file at the final path is
  always whole.

Progress (percent, MB/s, ETA) goes to this module's logger, which Dagster captures, and
to an optional callback for the command line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from pipelines.files import atomic_write_text
from pipelines.http import HttpClient, SourceError
from pipelines.limits import check_deadline

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
DEFAULT_MAX_RESUMES = 8
DEFAULT_MAX_URL_REFRESHES = 3
LOG_EVERY_SECONDS = 10.0
CALLBACK_EVERY_SECONDS = 0.5
# Errors while the body streams: the connection is gone but the bytes written are good.
_BODY_ERRORS = (httpx.TransportError,)
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_HASH_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


class DownloadError(SourceError):
    """A download failed in a way retrying will not fix (size or hash mismatch, ...)."""


class UrlExpired(SourceError):
    """A presigned link was refused (403) and no fresh one could be had."""


@dataclass(frozen=True)
class DownloadProgress:
    """One progress report; ``total`` is None when the server did not say."""

    label: str
    done: int  # bytes of the file on disk, including any resumed from an earlier attempt
    total: int | None
    seconds: float
    transferred: int  # bytes received by this call, for the rate

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None

    @property
    def bytes_per_second(self) -> float:
        return self.transferred / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        rate = self.bytes_per_second
        if not self.total or rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / rate)

    def describe(self) -> str:
        rate = f"{self.bytes_per_second / 1e6:.1f} MB/s"
        if self.total:
            eta = self.eta_seconds
            eta_text = f", ETA {_duration(eta)}" if eta is not None else ""
            return (
                f"{self.label}: {100 * self.done / self.total:.1f}% of "
                f"{self.total / 1e6:,.1f} MB, {rate}{eta_text}"
            )
        return f"{self.label}: {self.done / 1e6:,.1f} MB, {rate}"


ProgressCallback = Callable[[DownloadProgress], None]


@dataclass(frozen=True)
class DownloadResult:
    """What was fetched and how, for provenance."""

    path: Path
    bytes: int
    seconds: float
    resumed: bool
    cached: bool
    restarts: int
    url_refreshes: int
    hash_checked: str | None


class _Reporter:
    """Throttles progress: the log every ``LOG_EVERY_SECONDS``, the callback more often."""

    def __init__(self, label: str, callback: ProgressCallback | None) -> None:
        self.label = label
        self.callback = callback
        self.started = time.monotonic()
        self._last_log = self.started
        self._last_callback = 0.0
        self.transferred = 0

    def report(self, done: int, total: int | None, *, final: bool = False) -> None:
        now = time.monotonic()
        progress = DownloadProgress(self.label, done, total, now - self.started, self.transferred)
        if final or now - self._last_log >= LOG_EVERY_SECONDS:
            log.info("downloading %s", progress.describe())
            self._last_log = now
        if self.callback is not None and (
            final or now - self._last_callback >= CALLBACK_EVERY_SECONDS
        ):
            self.callback(progress)
            self._last_callback = now


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def parse_hash(value: str | None) -> tuple[str, str] | None:
    """``(algorithm, hex digest)`` from a resource's hash field, or None if unusable.

    CKAN leaves the format open: plain hex (the algorithm follows from the length) or
    ``algorithm:hex``.
    """
    if not value or not isinstance(value, str):
        return None
    text = value.strip().lower()
    algorithm = None
    if ":" in text:
        algorithm, _, text = text.partition(":")
    if not re.fullmatch(r"[0-9a-f]+", text):
        return None
    algorithm = algorithm or _HASH_LENGTHS.get(len(text))
    if algorithm not in hashlib.algorithms_available:
        return None
    return algorithm, text


def _hasher(expected: tuple[str, str] | None) -> Any:
    return hashlib.new(expected[0]) if expected else None


def _hash_file(path: Path, hasher: Any) -> None:
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK_BYTES * 8), b""):
            hasher.update(block)


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_meta(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True))


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def part_meta_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part.json")


def done_meta_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".json")


def download_file(
    http: HttpClient,
    url: str,
    dest: Path,
    *,
    label: str,
    expected_size: int | None = None,
    expected_hash: str | None = None,
    refresh_url: Callable[[], str | None] | None = None,
    progress: ProgressCallback | None = None,
    max_resumes: int = DEFAULT_MAX_RESUMES,
    max_url_refreshes: int = DEFAULT_MAX_URL_REFRESHES,
    sleep: Callable[[float], None] = time.sleep,
    max_bytes: int | None = None,
    deadline_seconds: float | None = None,
) -> DownloadResult:
    """Fetch ``url`` to ``dest`` (resuming a ``dest.part`` left by an earlier attempt).

    A complete ``dest`` recorded by an earlier call (``dest.json``) is reused without a
    request: the caller keys ``dest`` by the publication it holds. ``expected_size`` and
    ``expected_hash`` describe the bytes of *this* URL (the published CSV size and hash
    do not describe the zip). ``max_bytes`` bounds the file (announced or received) and
    ``deadline_seconds`` the whole download, resumes included.
    """
    started = time.monotonic()
    deadline = None if deadline_seconds is None else started + deadline_seconds
    dest.parent.mkdir(parents=True, exist_ok=True)
    part, part_meta, done_meta = part_path(dest), part_meta_path(dest), done_meta_path(dest)
    wanted_hash = parse_hash(expected_hash)
    if expected_hash and wanted_hash is None:
        log.warning("%s: cannot check hash %r (unknown format); size only", label, expected_hash)

    recorded = _read_meta(done_meta)
    if dest.exists() and recorded.get("bytes") == dest.stat().st_size:
        log.info("%s: using the completed download %s", label, dest)
        return DownloadResult(
            dest, dest.stat().st_size, 0.0, False, True, 0, 0, recorded.get("hash_checked")
        )

    reporter = _Reporter(label, progress)
    meta = _read_meta(part_meta) if part.exists() else {}
    if meta and meta.get("label") != label:
        part.unlink(missing_ok=True)  # left by a download of something else: start again
        meta = {}
    # A .part without a record is still ours (``dest`` names the publication), but there
    # is no validator to send with the range request.
    resumed = part.exists() and part.stat().st_size > 0
    restarts = refreshes = failures = 0
    hasher = None
    hashed_upto = -1  # bytes of .part already fed to ``hasher``

    while True:
        offset = part.stat().st_size if part.exists() else 0
        if offset and meta.get("total") == offset:
            break  # an earlier attempt got every byte but stopped before the rename
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            validator = meta.get("etag") or meta.get("last_modified")
            if validator:
                headers["If-Range"] = validator
        try:
            with http.stream(url, headers=headers, what=f"download {label}") as response:
                offset, total = _start_position(response, offset, label, part)
                if offset == 0:
                    restarts += int(headers.get("Range") is not None)
                    meta = {
                        "label": label,
                        "etag": _strong_etag(response.headers.get("ETag")),
                        "last_modified": response.headers.get("Last-Modified"),
                        "total": total,
                    }
                    _write_meta(part_meta, meta)
                    hasher, hashed_upto = None, -1
                else:
                    if total is not None and meta.get("total") not in (None, total):
                        raise DownloadError(
                            f"{label}: the file changed size while resuming "
                            f"({meta.get('total')} -> {total} bytes)",
                            url=url,
                        )
                    resumed = True
                    if not meta:
                        meta = {"label": label, "total": total}
                        _write_meta(part_meta, meta)
                if total is not None and max_bytes is not None and total > max_bytes:
                    raise DownloadError(
                        f"{label}: server offers {total:,} bytes, more than the limit of "
                        f"{max_bytes:,} (OPIOIDS_MAX_DOWNLOAD_BYTES)",
                        url=url,
                    )
                if total is not None and expected_size is not None and total != expected_size:
                    raise DownloadError(
                        f"{label}: server offers {total:,} bytes but the resource says "
                        f"{expected_size:,}",
                        url=url,
                    )
                if wanted_hash and hashed_upto != offset:
                    hasher = _hasher(wanted_hash)
                    if offset:
                        _hash_file(part, hasher)
                    hashed_upto = offset
                done = offset
                with open(part, "ab" if offset else "wb") as fh:
                    # No chunk size: httpx would buffer up to it, and lose those bytes on a reset.
                    for chunk in response.iter_raw():
                        if max_bytes is not None and done + len(chunk) > max_bytes:
                            part.unlink(missing_ok=True)
                            raise DownloadError(
                                f"{label}: more than {max_bytes:,} bytes "
                                "(limit OPIOIDS_MAX_DOWNLOAD_BYTES)",
                                url=url,
                            )
                        check_deadline(deadline, f"download {label}", url)
                        fh.write(chunk)
                        if hasher is not None:
                            hasher.update(chunk)
                        done += len(chunk)
                        hashed_upto = done
                        reporter.transferred += len(chunk)
                        reporter.report(done, total)
                if total is not None and done != total:
                    raise httpx.RemoteProtocolError(f"body ended at {done} of {total} bytes")
                if total is None:
                    meta["total"] = done
                    _write_meta(part_meta, meta)
            break
        except _BODY_ERRORS as exc:
            failures += 1
            if failures > max_resumes:
                raise SourceError(
                    f"{label}: download interrupted {failures} times; last: "
                    f"{type(exc).__name__}: {exc}",
                    url=url,
                ) from exc
            have = part.stat().st_size if part.exists() else 0
            delay = min(30.0, 2.0 ** (failures - 1))
            log.warning(
                "%s: interrupted at %s bytes (%s: %s); resuming in %.0fs",
                label,
                f"{have:,}",
                type(exc).__name__,
                exc,
                delay,
            )
            sleep(delay)
        except DownloadError:
            raise
        except SourceError as exc:
            status = exc.status
            if status == 403 and refresh_url is not None and refreshes < max_url_refreshes:
                fresh = refresh_url()
                if not fresh:
                    raise UrlExpired(
                        f"{label}: link refused (403) and no fresh link", url=url
                    ) from exc
                refreshes += 1
                log.info("%s: link refused (403, expired?); resuming with a fresh one", label)
                url = fresh
                continue
            if status == 416 and offset:
                log.warning("%s: server cannot resume at %s; starting again", label, offset)
                part.unlink(missing_ok=True)
                restarts += 1
                continue
            raise

    size = part.stat().st_size
    if expected_size is not None and size != expected_size:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{label}: got {size:,} bytes, expected {expected_size:,}", url=url)
    hash_checked = None
    if wanted_hash:
        if hasher is None or hashed_upto != size:
            hasher = _hasher(wanted_hash)
            _hash_file(part, hasher)
        digest = hasher.hexdigest()
        if digest != wanted_hash[1]:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{label}: {wanted_hash[0]} mismatch: got {digest}, published {wanted_hash[1]}",
                url=url,
            )
        hash_checked = wanted_hash[0]
    os.replace(part, dest)
    seconds = time.monotonic() - started
    _write_meta(
        done_meta,
        {"bytes": size, "hash_checked": hash_checked, "label": label, "seconds": seconds},
    )
    part_meta.unlink(missing_ok=True)
    reporter.report(size, size, final=True)
    return DownloadResult(dest, size, seconds, resumed, False, restarts, refreshes, hash_checked)


def _start_position(
    response: httpx.Response, offset: int, label: str, part: Path
) -> tuple[int, int | None]:
    """Where this response's body starts in the file, and the file's total size."""
    length = response.headers.get("Content-Length")
    body = int(length) if length and length.isdigit() else None
    if response.status_code == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if not match:
            raise DownloadError(f"{label}: 206 without a usable Content-Range")
        start = int(match.group(1))
        total = None if match.group(3) == "*" else int(match.group(3))
        if start != offset:
            raise DownloadError(f"{label}: asked for bytes from {offset}, got from {start}")
        return offset, total
    if offset:
        log.warning(
            "%s: server ignored the range request (HTTP %s); restarting from zero",
            label,
            response.status_code,
        )
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    return 0, body


def _strong_etag(etag: str | None) -> str | None:
    """If-Range needs a strong validator; a weak ETag (``W/...``) cannot be used."""
    if not etag or etag.startswith("W/"):
        return None
    return etag
