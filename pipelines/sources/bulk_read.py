"""Reading one monthly EPD file (CSV, or a zip holding one) into the staged opioid rows.

A month is 7 GB of CSV and 18 million rows, so nothing here holds the file in memory:
DuckDB's ``read_csv`` streams it, keeps BNF section 0407 and aggregates per practice and
presentation as the portal query does (``sql/bulk/scan_partial.sql``).

Two ways in, chosen by what the file is:

* **A plain CSV** is read by DuckDB directly, in parallel. The files are Latin-1, but
  nearly every row is plain ASCII, which is valid UTF-8, so the scan runs as UTF-8 and
  DuckDB sets aside (``store_rejects``) the rare row with an accented byte instead of
  failing. Those rows are then re-read from their byte positions, transcoded, and
  aggregated into the same partial table. This keeps the scan at full speed: DuckDB's
  own ``encoding='latin-1'`` transcodes every byte and made the read about 1.5 times
  slower when measured. If the set-aside rows cannot be located exactly (or there are
  too many), the file is read again through the pipe below, which is always exact.
* **A zip** is inflated by a feeder thread into an OS pipe that DuckDB reads, so on two
  cores decompression and parsing overlap instead of running one after the other. The
  feeder checks each block with ``bytes.isascii`` (memory speed) and transcodes only the
  rare block holding a Latin-1 byte.

Measures are summed as exact decimals and handed on as text, so the result does not
depend on row order or threads, and the value :func:`~pipelines.sources.epd.normalise`
parses is the correctly rounded exact sum, as the portal's typed columns give. Both
fetch routes end in ``normalise``.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import logging
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import duckdb
import polars as pl

from pipelines.http import SourceError
from pipelines.sources.epd import (
    OPIOID_SECTION_PREFIX,
    Layout,
    SchemaError,
    detect_layout,
    normalise,
)
from pipelines.warehouse import run, run_each, sql

log = logging.getLogger(__name__)

BLOCK_BYTES = 4 << 20  # what the feeder reads (or inflates) at a time
PIPE_BYTES = 1 << 20  # Linux pipe capacity asked for (the default 64 KB costs switches)
_F_SETPIPE_SZ = 1031  # fcntl command on Linux
MEMORY_LIMIT = "1GB"
# Rows with Latin-1 bytes are re-read one by one; beyond this many, re-read the file.
REJECTS_LIMIT = 100_000
_UTF8_BOM = b"\xef\xbb\xbf"
_INVALID_ENCODING = "INVALID ENCODING"
_PIPES = os.name == "posix" and Path("/dev/fd").is_dir()
MODES = ("auto", "direct", "pipe")


@dataclass(frozen=True)
class IngestResult:
    """The staged frame of one file and what reading it took."""

    frame: pl.DataFrame
    layout: Layout
    rows_read: int | None
    csv_bytes: int
    seconds: float
    member: str | None
    hash_checked: str | None
    encoding: str
    mode: str  # "direct" or "pipe"
    latin1_rows: int  # rows re-read as Latin-1 (direct) or blocks transcoded (pipe)


@dataclass
class _FeedStats:
    bytes: int = 0
    newlines: int = 0
    last_byte: bytes = b""
    transcoded_blocks: int = 0
    error: BaseException | None = None
    digest: str | None = None


class _Stopped(Exception):
    """The reader went away (query finished or failed): stop feeding quietly."""


class _NeedsPipe(Exception):
    """The direct read could not account for every row exactly: read through the pipe."""


# -- opening the CSV stream ------------------------------------------------------------------


@contextlib.contextmanager
def open_csv_stream(path: Path) -> Iterator[tuple[IO[bytes], str | None]]:
    """The CSV bytes of ``path`` as a stream: the file itself, or the zip's one CSV member.

    Zip64 is handled by ``zipfile``. Deflate64 (which some Windows tools use for members
    over 2 GB) is not, so such a member is streamed through ``unzip -p`` when available.
    """
    if not zipfile.is_zipfile(path):
        with open(path, "rb", buffering=0) as fh:
            yield fh, None
        return
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{path.name}: not a readable zip ({exc})") from exc
    with archive:
        info = csv_member(archive, path)
        try:
            member = archive.open(info)
        except NotImplementedError as exc:
            unzip = shutil.which("unzip")
            if unzip is None:
                raise SourceError(
                    f"{path.name}: {info.filename} uses a compression method Python cannot "
                    f"read ({info.compress_type}) and no 'unzip' program was found"
                ) from exc
            with subprocess.Popen(  # noqa: S603 - a fixed program; the arguments are paths
                [unzip, "-p", str(path), info.filename], stdout=subprocess.PIPE
            ) as proc:
                assert proc.stdout is not None
                try:
                    yield proc.stdout, info.filename
                finally:
                    proc.stdout.close()
                    proc.kill()
            return
        with member:
            yield member, info.filename


def csv_member(archive: zipfile.ZipFile, path: Path) -> zipfile.ZipInfo:
    """The zip's one CSV (or its one file): anything else is not an EPD month."""
    files = [i for i in archive.infolist() if not i.is_dir()]
    csvs = [i for i in files if i.filename.lower().endswith(".csv")]
    chosen = csvs if csvs else files
    if len(chosen) != 1:
        names = ", ".join(i.filename for i in files) or "nothing"
        raise SourceError(f"{path.name}: expected one CSV in the zip, found {names}")
    return chosen[0]


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    while True:
        block = stream.read(BLOCK_BYTES)
        if not block:
            return
        yield block


def parse_header(first_block: bytes, *, where: str) -> tuple[list[str], str]:
    """Column names from the first line, and the encoding the file is read in.

    A UTF-8 byte-order mark means the publisher wrote UTF-8: honour it rather than
    transcoding UTF-8 as if it were Latin-1. Otherwise the portal's files are Latin-1.
    """
    end = first_block.find(b"\n")
    if end < 0:
        raise SchemaError(f"{where}: no header line in the first {len(first_block):,} bytes")
    line = first_block[:end].rstrip(b"\r")
    encoding = "latin-1"
    if line.startswith(_UTF8_BOM):
        line, encoding = line[len(_UTF8_BOM) :], "utf-8"
    header = next(csv.reader([line.decode(encoding)]))
    return [h.strip() for h in header], encoding


def column_spec(header: list[str], layout: Layout, *, where: str) -> dict[str, str]:
    """``read_csv`` columns: the used ones under internal names, the rest numbered.

    All are read as text: parsing numbers for 18 million rows to keep 2.5% of them is
    wasted work, so measures are converted only after the section filter, in the query.
    """
    by_source = {source: internal for internal, source in layout.columns.items()}
    seen: set[str] = set()
    spec: dict[str, str] = {}
    for i, name in enumerate(header):
        internal = by_source.get(name)
        if internal is not None and internal in seen:
            raise SchemaError(f"{where}: column {name} appears more than once in the header")
        if internal is not None:
            seen.add(internal)
        spec[internal or f"unused_{i:03d}"] = "VARCHAR"
    return spec


# -- the feeder ------------------------------------------------------------------------------


def _open_pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    if hasattr(os, "set_blocking"):
        with contextlib.suppress(OSError, ImportError):
            import fcntl

            fcntl.fcntl(write_fd, _F_SETPIPE_SZ, PIPE_BYTES)
        os.set_blocking(write_fd, False)
    return read_fd, write_fd


def _write_all(fd: int, data: bytes, stop: threading.Event) -> None:
    view = memoryview(data)
    while view:
        if stop.is_set():
            raise _Stopped
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 0.2)
            continue
        except BrokenPipeError as exc:
            raise _Stopped from exc
        view = view[written:]


def _feed(
    blocks: Iterator[bytes],
    write_fd: int,
    stop: threading.Event,
    stats: _FeedStats,
    encoding: str,
    hasher: Any,
) -> None:
    """Copy blocks into the pipe, counting lines and transcoding Latin-1 where needed."""
    try:
        for block in blocks:
            stats.bytes += len(block)
            stats.newlines += block.count(b"\n")
            stats.last_byte = block[-1:]
            if hasher is not None:
                hasher.update(block)  # the published bytes, before any transcoding
            if encoding == "latin-1" and not block.isascii():
                block = block.decode("latin-1").encode("utf-8")
                stats.transcoded_blocks += 1
            _write_all(write_fd, block, stop)
        if hasher is not None:
            stats.digest = hasher.hexdigest()
    except _Stopped:
        pass
    except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
        stats.error = exc
    finally:
        os.close(write_fd)


# -- DuckDB ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _connection(threads: int | None) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(
        config={
            "threads": threads or os.cpu_count() or 1,
            "memory_limit": MEMORY_LIMIT,
            "preserve_insertion_order": False,
        }
    )
    try:
        run_each(con, "bulk/session")
        run(con, "bulk/create_partial")
        yield con
    finally:
        con.close()


def _scan(
    con: duckdb.DuckDBPyConnection, path: str, spec: dict[str, str], *, store_rejects: bool
) -> int | None:
    """Aggregate one CSV into ``epd_partial``; return the rows the scan read (profiler)."""
    run(
        con,
        "bulk/scan_partial",
        {
            "path": path,
            "columns": spec,
            "prefix": OPIOID_SECTION_PREFIX,
            "store_rejects": store_rejects,
            "rejects_limit": REJECTS_LIMIT if store_rejects else 0,
        },
    )
    return _rows_scanned(con)


def _rows_scanned(con: duckdb.DuckDBPyConnection) -> int | None:
    try:
        info = json.loads(con.get_profiling_information())
        value = info.get("query", {}).get("total_rows_scanned")
    except (duckdb.Error, ValueError, AttributeError, TypeError):
        return None
    return int(value) if isinstance(value, int | float) else None


def _result(
    con: duckdb.DuckDBPyConnection, layout: Layout, month: date, where: str
) -> pl.DataFrame:
    # con.sql (not execute) hands the rows to Arrow without an extra copy.
    raw = pl.from_arrow(con.sql(sql("bulk/opioid_rows")).to_arrow_table())
    assert isinstance(raw, pl.DataFrame)
    internal = Layout(layout.name, {k: k for k in layout.columns}, layout.unknown)
    return normalise(raw, internal, month, where=where)


def _schema_error(where: str, exc: duckdb.Error) -> SchemaError:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    detail = " / ".join(lines[:3]) if lines else type(exc).__name__
    return SchemaError(f"{where}: {detail}")


# -- the two ways in -------------------------------------------------------------------------


@dataclass
class _Read:
    rows: int | None
    csv_bytes: int
    latin1: int
    digest: str | None = None
    member: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _read_direct(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    first_line: bytes,
    spec: dict[str, str],
    where: str,
    work_dir: Path,
) -> _Read:
    """DuckDB reads the file itself (in parallel); Latin-1 rows are re-read afterwards."""
    try:
        rows = _scan(con, str(path), spec, store_rejects=True)
    except duckdb.Error as exc:
        raise _schema_error(where, exc) from exc
    rejected = con.execute(sql("bulk/rejected_rows")).fetchall()
    if not rejected:
        return _Read(rows, path.stat().st_size, 0)
    entries = sum(r[4] for r in rejected)
    if entries >= REJECTS_LIMIT:
        raise _NeedsPipe(f"{entries:,} rows with non-UTF-8 bytes")
    for _, line, types, message, _ in rejected:
        if types != _INVALID_ENCODING:
            raise SchemaError(f"{where}: line {line}: {types}: {message}")
    records = _rejected_records(path, [r[0] for r in rejected], len(spec))
    # The set-aside rows, transcoded to UTF-8, go through the very same scan.
    with tempfile.NamedTemporaryFile(
        "wb", suffix=".csv", dir=work_dir, prefix=".latin1-rows-", delete=False
    ) as tmp:
        tmp.write(first_line.decode("latin-1").encode("utf-8") + b"\n")
        for record in records:
            tmp.write(record.decode("latin-1").encode("utf-8") + b"\n")
    try:
        _scan(con, tmp.name, spec, store_rejects=False)
    except duckdb.Error as exc:
        raise _schema_error(where, exc) from exc
    finally:
        os.unlink(tmp.name)
    if rows is not None:
        rows += len(records)
    return _Read(rows, path.stat().st_size, len(records))


def _rejected_records(path: Path, positions: list[int], columns: int) -> list[bytes]:
    """The raw rows DuckDB set aside, found from its (approximate) byte positions.

    DuckDB reports a position at or just after the row's first byte, so the row starts
    after the last newline at or before it. Each row found must be a whole CSV record of
    the right width that is not valid UTF-8 (else DuckDB would not have set it aside),
    and no two positions may land on one row; anything else means the rows cannot be
    accounted for exactly, and the caller reads the file through the pipe instead.
    """
    starts: list[int] = []
    records: list[bytes] = []
    with open(path, "rb") as fh:
        for position in positions:
            window_start = max(0, position - (1 << 16))
            fh.seek(window_start)
            wanted = (1 << 17) + 1
            window = fh.read(wanted)
            offset = position - window_start
            start = window.rfind(b"\n", 0, offset + 1) + 1
            end = window.find(b"\n", start)
            if end < 0 and len(window) < wanted:  # the last row, without a final newline
                end = len(window)
            if end < 0 or (start == 0 and window_start > 0):
                raise _NeedsPipe(f"cannot find the row at byte {position}")
            record = window[start:end].rstrip(b"\r")
            if record.count(b'"') % 2 or _is_utf8(record):
                raise _NeedsPipe(f"the row at byte {position} is not the one set aside")
            if len(next(csv.reader([record.decode("latin-1")]))) != columns:
                raise _NeedsPipe(f"the row at byte {position} is not a whole record")
            starts.append(window_start + start)
            records.append(record)
    if len(set(starts)) != len(starts):
        raise _NeedsPipe("two set-aside rows resolve to the same line")
    return records


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_pipe(
    con: duckdb.DuckDBPyConnection,
    stream: IO[bytes],
    first: bytes,
    rest: Iterator[bytes],
    spec: dict[str, str],
    encoding: str,
    where: str,
    expected_hash: tuple[str, str] | None,
    name: str,
) -> _Read:
    """A feeder thread writes the CSV into a pipe (transcoding Latin-1 blocks); DuckDB reads it."""
    stats = _FeedStats()
    hasher = hashlib.new(expected_hash[0]) if expected_hash else None
    read_fd, write_fd = _open_pipe()
    stop = threading.Event()
    feeder = threading.Thread(
        target=_feed,
        args=(_chain(first, rest), write_fd, stop, stats, encoding, hasher),
        name=f"feed {name}",
        daemon=True,
    )
    feeder.start()
    query_error: duckdb.Error | None = None
    rows = None
    try:
        rows = _scan(con, f"/dev/fd/{read_fd}", spec, store_rejects=False)
    except duckdb.Error as exc:
        query_error = exc
    finally:
        stop.set()
        os.close(read_fd)
        feeder.join()
    if stats.error is not None:  # a broken zip explains a parse error, not the reverse
        raise SourceError(
            f"{where}: reading {name} failed: {type(stats.error).__name__}: {stats.error}"
        ) from stats.error
    if query_error is not None:
        raise _schema_error(where, query_error) from query_error
    if expected_hash and stats.digest != expected_hash[1]:
        raise SourceError(
            f"{where}: {expected_hash[0]} of {name} is {stats.digest}, "
            f"but the resource publishes {expected_hash[1]}"
        )
    if rows is None:
        rows = stats.newlines - 1 + (1 if stats.last_byte not in (b"\n", b"") else 0)
    return _Read(rows, stats.bytes, stats.transcoded_blocks, digest=stats.digest)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


# -- entry point -----------------------------------------------------------------------------


def read_epd_file(
    path: Path,
    month: date,
    *,
    where: str,
    expected_hash: tuple[str, str] | None = None,
    threads: int | None = None,
    mode: str = "auto",
) -> IngestResult:
    """Staged opioid rows of ``path`` (CSV or zip), identical to the SQL route's for the month.

    ``mode``: ``auto`` reads a CSV directly and a zip through the pipe; ``pipe`` forces
    the pipe for a CSV too (benchmarks, and the fallback). ``expected_hash`` (algorithm,
    hex) is checked against the CSV bytes as they stream through the pipe (for a zip, the
    member's bytes, which is what a published CSV hash describes); a direct read does not
    hash, because the download already did.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    started = time.monotonic()
    path = Path(path)
    is_zip = zipfile.is_zipfile(path)
    direct = not is_zip and mode != "pipe" and expected_hash is None
    if is_zip and mode == "direct":
        raise ValueError("a zip cannot be read directly; use mode='auto' or 'pipe'")
    if not _PIPES and not direct:
        raise SourceError(f"{where}: reading through a pipe needs a POSIX system")
    with open_csv_stream(path) as (stream, member):
        blocks = _blocks(stream)
        first = next(blocks, b"")
        header, encoding = parse_header(first, where=where)
        layout = detect_layout(header, where=where)
        spec = column_spec(header, layout, where=where)
        with _connection(threads) as con:
            used = "direct"
            read: _Read | None = None
            if direct and encoding == "latin-1":
                header_line = first[: first.find(b"\n")].rstrip(b"\r")
                try:
                    read = _read_direct(con, path, header_line, spec, where, path.parent)
                except _NeedsPipe as reason:
                    log.info("%s: reading through the pipe instead (%s)", where, reason)
                    run(con, "bulk/reset_partial")
            if read is None:
                used = "pipe"
                if direct:  # the stream was opened for the direct read; start it again
                    stream.seek(0)
                    blocks = _blocks(stream)
                    first = next(blocks, b"")
                read = _read_pipe(
                    con, stream, first, blocks, spec, encoding, where, expected_hash,
                    member or path.name,
                )  # fmt: skip
            frame = _result(con, layout, month, where)
    if read.latin1:
        log.info(
            "%s: %d %s held Latin-1 bytes",
            where,
            read.latin1,
            "rows" if used == "direct" else "blocks",
        )
    return IngestResult(
        frame=frame,
        layout=layout,
        rows_read=read.rows,
        csv_bytes=read.csv_bytes,
        seconds=time.monotonic() - started,
        member=member,
        hash_checked=expected_hash[0] if expected_hash else None,
        encoding=encoding,
        mode=used,
        latin1_rows=read.latin1,
    )
