"""Reading untrusted bytes within limits: bodies, gzip streams and zip members.

A few megabytes from a source can expand to gigabytes (a gzip or zip bomb), and a server
can send more than it announced. Nothing here reads a whole body or inflates without a
bound: bytes are counted as they stream, inflation asks zlib for at most a chunk at a
time, and crossing a limit raises :class:`LimitExceeded` naming the source and the limit
(and the setting that raises it), before the bytes are held.
"""

from __future__ import annotations

import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipelines.errors import SourceError

CHUNK = 1 << 16
# Below this many inflated bytes the ratio is not judged: tiny files compress wildly.
RATIO_FLOOR_BYTES = 1 << 20


class LimitExceeded(SourceError):
    """An input was larger, more compressed or slower than the configured limits allow."""


@dataclass(frozen=True)
class Limits:
    """Bounds on untrusted input: the settings of the same names (``Settings.limits``)."""

    max_in_memory_bytes: int
    max_download_bytes: int
    max_inflated_bytes: int
    max_compression_ratio: float


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def read_limited(
    chunks: Iterable[bytes],
    limit: int,
    *,
    what: str,
    url: str | None = None,
    deadline: float | None = None,
    setting: str = "OPIOIDS_MAX_IN_MEMORY_BYTES",
) -> bytes:
    """Join ``chunks``, refusing more than ``limit`` bytes or going past ``deadline``
    (a ``time.monotonic()`` value)."""
    parts: list[bytes] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise LimitExceeded(f"{what}: more than {_mb(limit)} (limit {setting})", url=url)
        check_deadline(deadline, what, url)
        parts.append(chunk)
    return b"".join(parts)


def check_deadline(deadline: float | None, what: str, url: str | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise LimitExceeded(
            f"{what}: not finished within the deadline (OPIOIDS_HTTP_DEADLINE)", url=url
        )


def inflate(
    chunks: Iterable[bytes],
    *,
    limit: int,
    max_ratio: float,
    what: str,
    url: str | None = None,
    setting: str = "OPIOIDS_MAX_IN_MEMORY_BYTES",
) -> Iterator[bytes]:
    """Inflate gzip (one or more members) or zlib data as it streams, never producing
    more than ``CHUNK`` bytes per call, nor more than ``limit`` in all, nor more than
    ``max_ratio`` times the compressed bytes (past the first megabyte)."""
    inflater = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header, detected
    taken = given = 0
    open_member = False  # input fed to the current member, its end not yet seen
    for chunk in chunks:
        taken += len(chunk)
        data = chunk
        while True:
            open_member = open_member or bool(data)
            try:
                out = inflater.decompress(data, CHUNK)
            except zlib.error as exc:
                raise SourceError(f"{what}: corrupt gzip ({exc})", url=url) from exc
            if out:
                given += len(out)
                if given > limit:
                    raise LimitExceeded(
                        f"{what}: inflates to more than {_mb(limit)} (limit {setting})", url=url
                    )
                if given > RATIO_FLOOR_BYTES and given > max_ratio * max(taken, 1):
                    raise LimitExceeded(
                        f"{what}: inflates more than {max_ratio:g} times "
                        "(limit OPIOIDS_MAX_COMPRESSION_RATIO)",
                        url=url,
                    )
                yield out
            if inflater.eof:
                open_member = False
                data = inflater.unused_data
                inflater = zlib.decompressobj(wbits=47)
                if not data:
                    break
                continue
            data = inflater.unconsumed_tail
            if not data and len(out) < CHUNK:
                break  # all input taken and no output held back: wait for more input
    if open_member:
        raise SourceError(f"{what}: truncated gzip (the stream ends mid-member)", url=url)


def check_zip_member(
    info: zipfile.ZipInfo,
    *,
    limit: int,
    max_ratio: float,
    what: str,
    url: str | None = None,
    setting: str = "OPIOIDS_MAX_IN_MEMORY_BYTES",
) -> None:
    """Refuse a member whose declared size or ratio is over the limits, before reading it.

    ``zipfile`` never inflates past the declared size (and fails the CRC if the bytes
    differ), so checking the declared size bounds what reading the member can produce.
    """
    if info.file_size > limit:
        raise LimitExceeded(
            f"{what}: {info.filename} declares {_mb(info.file_size)}, more than "
            f"{_mb(limit)} (limit {setting})",
            url=url,
        )
    if info.file_size > RATIO_FLOOR_BYTES and info.file_size > max_ratio * max(
        info.compress_size, 1
    ):
        raise LimitExceeded(
            f"{what}: {info.filename} inflates {info.file_size / max(info.compress_size, 1):,.0f}"
            f" times (limit OPIOIDS_MAX_COMPRESSION_RATIO = {max_ratio:g})",
            url=url,
        )


def read_zip_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    *,
    limit: int,
    max_ratio: float,
    what: str,
    url: str | None = None,
) -> bytes:
    """One member's bytes, within the limits (declared size checked first)."""
    check_zip_member(info, limit=limit, max_ratio=max_ratio, what=what, url=url)
    try:
        with zf.open(info) as member:
            return read_limited(iter(lambda: member.read(CHUNK), b""), limit, what=what, url=url)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise SourceError(f"{what}: corrupt zip member {info.filename} ({exc})", url=url) from exc
