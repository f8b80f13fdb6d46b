"""The bulk route: download a month's file from the portal and read it locally.

The portal's SQL service has a 60 s timeout, a 32,000-row inline cap and occasional 500s;
the monthly files are the fallback and the full-fidelity source. This module ties the
two halves together:

1. ``resource_show`` is asked for a fresh ``zip_url`` just before downloading, because
   the presigned link expires about an hour after it is issued; when the resource has
   none, the plain CSV ``url`` is used (14 times the bytes, same content).
2. :mod:`~pipelines.sources.bulk_download` streams it to ``<work_dir>/<resource name>-
   <version>.<zip|csv>`` with progress, resume and verification. The file name carries a
   digest of the resource's version key (name, publication time, size), so a re-published
   month is downloaded afresh and never spliced onto an older ``.part``.
3. :mod:`~pipelines.sources.bulk_read` reads it without loading it into memory and
   returns the same staged frame the SQL route produces.

After a successful read the download is deleted unless ``keep_download`` is set: a month
is 0.5 GB zipped or 7 GB as CSV, and the staged Parquet is what later stages use. A failed
read keeps the file (and an interrupted download keeps its ``.part``), so the next attempt
starts from the bytes already on disk. Older versions of the same resource in the work
directory are removed when a new version is fetched.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.http import HttpClient, SourceError
from pipelines.sources.bulk_download import (
    DownloadProgress,
    DownloadResult,
    ProgressCallback,
    UrlExpired,
    done_meta_path,
    download_file,
    parse_hash,
    part_meta_path,
    part_path,
)
from pipelines.sources.bulk_read import IngestResult, read_epd_file
from pipelines.sources.ckan import CkanClient, EpdResource
from pipelines.sources.epd import FetchedMonth, SchemaError

__all__ = [
    "DownloadProgress",
    "DownloadResult",
    "IngestResult",
    "cache_path",
    "fetch_via_bulk",
    "read_epd_file",
]

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def cache_path(work_dir: Path, resource: EpdResource, kind: str) -> Path:
    """Where one publication of a month is downloaded: name plus a digest of its version."""
    version = hashlib.sha256(resource.version_key.encode()).hexdigest()[:12]
    name = _SAFE_NAME.sub("_", resource.name)
    return work_dir / f"{name}-{version}.{kind}"


def _remove_other_versions(work_dir: Path, resource: EpdResource, keep: set[Path]) -> None:
    """Earlier publications of this month are stale: free their space."""
    name = _SAFE_NAME.sub("_", resource.name)
    for old in work_dir.glob(f"{name}-*"):
        if old.is_file() and not any(old.name.startswith(k.name) for k in keep):
            log.info("removing a download of an earlier publication: %s", old.name)
            old.unlink(missing_ok=True)


def _remove_stale_reads(work_dir: Path, older_than_seconds: float = 6 * 3600) -> None:
    """Temporary directories of reads that were killed (a clean exit removes its own)."""
    now = time.time()
    for stale in work_dir.glob(".epd-read-*"):
        with contextlib.suppress(OSError):
            if stale.is_dir() and now - stale.stat().st_mtime > older_than_seconds:
                shutil.rmtree(stale, ignore_errors=True)


def _remove_download(dest: Path) -> None:
    """A download and every record of it (completed and partial)."""
    for path in (dest, done_meta_path(dest), part_path(dest), part_meta_path(dest)):
        path.unlink(missing_ok=True)


def fetch_via_bulk(
    ckan: CkanClient,
    http: HttpClient,
    resource: EpdResource,
    *,
    work_dir: Path,
    progress: ProgressCallback | None = None,
    keep_download: bool = False,
    read_threads: int | None = None,
    sleep: Callable[[float], None] | None = None,
) -> FetchedMonth:
    """One month's staged opioid rows from the monthly file (zip, else CSV).

    ``progress`` receives :class:`DownloadProgress` reports (the log gets them anyway);
    ``sleep`` is for tests of the back-off between resumed attempts.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    info = ckan.resource_show(resource.id)
    zip_url = _text(info.get("zip_url"))
    csv_url = _text(info.get("url")) or resource.url
    published_hash = _text(info.get("sha256")) or _text(info.get("hash")) or resource.hash
    csv_size = _int(info.get("size"))
    if csv_size is None:
        csv_size = resource.size
    if not zip_url and not csv_url:
        raise SourceError(f"{resource.name}: resource_show gives neither zip_url nor url")

    extra: dict[str, Any] = {}
    kind = "zip" if zip_url else "csv"
    if not zip_url:
        log.warning("%s: resource_show gives no zip_url; downloading the CSV", resource.name)
    dest = cache_path(work_dir, resource, kind)
    _remove_other_versions(work_dir, resource, {dest})
    _remove_stale_reads(work_dir)

    def refresh() -> str | None:
        """A fresh presigned link for the zip (the old one expired mid-download)."""
        return _text(ckan.resource_show(resource.id).get("zip_url"))

    options: dict[str, Any] = {
        "progress": progress,
        "max_bytes": http.limits.max_download_bytes,
        "deadline_seconds": http.download_deadline_seconds,
    }
    if sleep is not None:
        options["sleep"] = sleep
    try:
        if kind == "zip":
            assert zip_url is not None
            download = download_file(
                http, zip_url, dest, label=f"{resource.name} zip", refresh_url=refresh, **options
            )
        else:
            assert csv_url is not None
            download = _download_csv(
                http, csv_url, dest, resource, csv_size, published_hash, options
            )
    except UrlExpired as exc:
        if not csv_url:
            raise
        log.warning("%s: %s; downloading the CSV instead", resource.name, exc)
        extra["zip_fallback_reason"] = str(exc)
        _remove_download(dest)
        kind = "csv"
        dest = cache_path(work_dir, resource, kind)
        download = _download_csv(http, csv_url, dest, resource, csv_size, published_hash, options)

    # A published hash describes the CSV: check it on the zip's member as it is read
    # (the CSV download already checked it, and the size, while streaming).
    member_hash = parse_hash(published_hash) if kind == "zip" else None
    where = f"{resource.name} ({kind} download)"
    try:
        ingest = read_epd_file(
            download.path,
            resource.month,
            where=where,
            expected_hash=member_hash,
            threads=read_threads,
            limits=http.limits,
        )
    except SchemaError:
        raise  # the file is whole; what it holds is wrong, and a new download would agree
    except SourceError as exc:
        # The file fails its integrity check (unreadable zip, CRC, size, hash, limits):
        # keeping it would make every later refresh fail the same way without asking
        # the portal again. Delete it with its records, so the next one downloads afresh.
        _remove_download(download.path)
        raise SourceError(
            f"{exc} (the download was deleted; the next refresh fetches it again)"
        ) from exc
    if kind == "zip" and csv_size is not None and ingest.csv_bytes != csv_size:
        # Not fatal: the zip was checked against its own Content-Length and the zip's
        # CRC-32, and the published size may describe a differently packaged CSV.
        log.warning(
            "%s: the zip holds %s bytes of CSV; the resource says %s",
            where,
            f"{ingest.csv_bytes:,}",
            f"{csv_size:,}",
        )
    if not keep_download:
        _remove_download(download.path)
    details = {
        "route": "bulk",
        "download_url_kind": kind,
        "download_bytes": download.bytes,
        "download_seconds": round(download.seconds, 3),
        "download_cached": download.cached,
        "resumed": download.resumed,
        "download_restarts": download.restarts,
        "zip_url_refreshes": download.url_refreshes,
        "hash_checked": download.hash_checked or ingest.hash_checked,
        "rows_read": ingest.rows_read,
        "csv_bytes": ingest.csv_bytes,
        "read_seconds": round(ingest.seconds, 3),
        "read_mode": ingest.mode,
        "zip_member": ingest.member,
        "download_kept": str(download.path) if keep_download else None,
        **extra,
    }
    log.info(
        "%s: %s rows read from the %s (%s opioid rows staged) in %.1fs",
        resource.name,
        f"{ingest.rows_read:,}" if ingest.rows_read is not None else "?",
        kind,
        f"{ingest.frame.height:,}",
        ingest.seconds,
    )
    return FetchedMonth(frame=ingest.frame, layout=ingest.layout, route="bulk", details=details)


def _download_csv(
    http: HttpClient,
    url: str,
    dest: Path,
    resource: EpdResource,
    size: int | None,
    published_hash: str | None,
    options: dict[str, Any],
) -> DownloadResult:
    return download_file(
        http,
        url,
        dest,
        label=f"{resource.name} csv",
        expected_size=size,
        expected_hash=published_hash,
        **options,
    )


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
