"""Reading one monthly EPD file (CSV, or a zip holding one) into the staged opioid rows.

A month is 7 GB of CSV and 18 million rows, of which about 2.5% are BNF section 0407.
Nothing here holds the file in memory, and the work is arranged around one measured
fact: DuckDB reads a CSV fastest when it does not have to split lines into columns.

1. **Filter lines** (``sql/bulk/filter_lines.sql``): DuckDB reads every line as one text
   value and keeps those containing ``0407``, writing them to a small temporary file
   (about 3% of the CSV). This is faster than DuckDB merely counting the file's rows with
   its columns declared, and it is safe: every line holding a 0407 BNF code contains
   ``0407``; the few other lines that do are dropped by the exact filter next.
2. **Parse and aggregate** (``sql/bulk/aggregate_lines.sql``) the kept lines with the
   real CSV dialect and columns, keep the rows whose BNF code starts with 0407 (the exact
   filter, as the portal query's ``WHERE``) and aggregate them per practice and
   presentation as the portal query does.

How the bytes reach DuckDB depends on the file:

* **A plain CSV** is read by DuckDB directly, in parallel. The files are Latin-1, but
  nearly every line is plain ASCII, which is valid UTF-8, so the scan runs as UTF-8 and
  DuckDB sets aside (``store_rejects``) the rare line with an accented byte instead of
  failing. Those lines are re-read from their byte positions and transcoded. DuckDB's own
  ``encoding='latin-1'`` transcodes every byte, which measured 1.5 to 1.8 times slower.
* **A zip** is inflated by a feeder thread into an OS pipe that DuckDB reads, so on two
  cores decompression and the line filter overlap instead of running one after the
  other. The feeder checks each block with ``bytes.isascii`` (memory speed) and
  transcodes only the rare block holding a Latin-1 byte. (A CSV can be read this way
  too: ``mode="pipe"``, and the fallback when the direct read cannot be made exact.)

If the shortcut cannot account for every row exactly (a quoted field holding a newline
splits a record, set-aside lines cannot be located, too many of them), the file is read
again the plain way: every row parsed into columns by ``scan_rows.sql`` into a temporary
table that ``opioid_rows.sql`` aggregates. That path is slower but makes no assumption,
and it is also where a malformed file gets its error.

Measures are summed as exact decimals and handed on as text, so the result does not
depend on row order or threads, and the value :func:`~pipelines.sources.epd.normalise`
parses is the correctly rounded exact sum, as the portal's typed columns give. Both
fetch routes end in ``normalise``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.http import SourceError
from pipelines.limits import Limits
from pipelines.sources.bulk_rejects import (
    REJECTS_LIMIT,
    Fallback,
    last_reject_scan,
    set_aside,
)
from pipelines.sources.bulk_stream import (
    _Feeder,
    column_spec,
    open_csv_blocks,
    parse_header,
)
from pipelines.sources.epd import (
    OPIOID_SECTION_PREFIX,
    Layout,
    SchemaError,
    detect_layout,
    normalise,
)
from pipelines.warehouse import query_frame, run, run_each, run_template

log = logging.getLogger(__name__)

MEMORY_LIMIT = "1GB"
NO_DELIMITER = "\x01"  # never in an EPD file: each line is one value
# Every line holding a section 0407 BNF code contains these four digits. Other lines that
# happen to (a SNOMED code, a price) are dropped by the exact filter in the second pass;
# one needle costs half of two (``,0407`` and ``,"0407``), as each is a scan of the line.
NEEDLE = OPIOID_SECTION_PREFIX
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
    mode: str  # how it was read: "lines-direct", "lines-pipe", "full-direct", "full-pipe"
    latin1: int  # lines re-read as Latin-1 (direct) or blocks transcoded (pipe)


@dataclass
class _Read:
    rows: int | None
    csv_bytes: int
    latin1: int
    kept: Path | None = None  # the kept lines, aggregated in one pass (else epd_rows)


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
        run(con, "bulk/create_rows")
        yield con
    finally:
        con.close()


def _rows_scanned(con: duckdb.DuckDBPyConnection) -> int | None:
    """Rows the last query's scan read, from the profiler (no second pass needed)."""
    try:
        info = json.loads(con.get_profiling_information())
        value = info.get("query", {}).get("total_rows_scanned")
    except (duckdb.Error, ValueError, AttributeError, TypeError):
        return None
    return int(value) if isinstance(value, int | float) else None


def _filter_lines(
    con: duckdb.DuckDBPyConnection, source: str, out: Path, *, store_rejects: bool
) -> int | None:
    run(
        con,
        "bulk/filter_lines",
        {
            "path": source,
            "out": str(out),
            "no_delimiter": NO_DELIMITER,
            "needle": NEEDLE,
            "store_rejects": store_rejects,
            "rejects_limit": REJECTS_LIMIT if store_rejects else 0,
        },
    )
    return _rows_scanned(con)


SNOMED_CHOICES = ("snomed_code", "NULL")


def _scan(
    con: duckdb.DuckDBPyConnection,
    source: str,
    spec: dict[str, str],
    *,
    header: bool,
    store_rejects: bool,
) -> int | None:
    """Parse a CSV and add its section 0407 rows to ``epd_rows``; return rows scanned."""
    snomed = "snomed_code" if "snomed_code" in spec else "NULL"
    run_template(
        con,
        "bulk/scan_rows",
        {"snomed": snomed},
        {"snomed": SNOMED_CHOICES},
        {
            "path": source,
            "header": header,
            "columns": spec,
            "prefix": OPIOID_SECTION_PREFIX,
            "store_rejects": store_rejects,
            "rejects_limit": REJECTS_LIMIT if store_rejects else 0,
        },
    )
    return _rows_scanned(con)


def _result(
    con: duckdb.DuckDBPyConnection, src: _Source, layout: Layout, month: date, read: _Read
) -> pl.DataFrame:
    try:
        if read.kept is not None:
            snomed = "snomed_code" if "snomed_code" in src.spec else "NULL"
            result = run_template(
                con,
                "bulk/aggregate_lines",
                {"snomed": snomed},
                {"snomed": SNOMED_CHOICES},
                {"path": str(read.kept), "columns": src.spec, "prefix": OPIOID_SECTION_PREFIX},
            )
            # One copy of ~200,000 aggregated rows is nothing next to the scan; DuckDB
            # warns about it on every call, which would only be noise in the logs.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                raw = pl.from_arrow(result.to_arrow_table())
        else:
            raw = query_frame(con, "bulk/opioid_rows")
    except duckdb.Error as exc:  # a malformed kept line, or a measure that is no number
        raise _schema_error(src.where, exc) from exc
    assert isinstance(raw, pl.DataFrame)
    internal = Layout(layout.name, {k: k for k in layout.columns}, layout.unknown)
    return normalise(raw, internal, month, where=src.where)


def _schema_error(where: str, exc: duckdb.Error) -> SchemaError:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    detail = " / ".join(lines[:3]) if lines else type(exc).__name__
    return SchemaError(f"{where}: {detail}")


# -- the ways in -----------------------------------------------------------------------------


@dataclass
class _Source:
    """What every way in needs to know about the file."""

    path: Path
    spec: dict[str, str]
    encoding: str
    where: str
    tmp: Path
    expected_hash: tuple[str, str] | None
    open_blocks: Callable[[], contextlib.AbstractContextManager[Iterator[bytes]]]


def _lines_direct(con: duckdb.DuckDBPyConnection, src: _Source) -> _Read:
    kept = src.tmp / "section.csv"
    after = last_reject_scan(con)
    try:
        rows = _filter_lines(con, str(src.path), kept, store_rejects=True)
    except duckdb.Error as exc:
        raise Fallback(f"line filter: {str(exc).splitlines()[0]}") from exc
    records = set_aside(con, src.path, after, len(src.spec))
    if records:
        with open(kept, "ab") as fh:
            for record in records:
                text = record.decode("latin-1")
                if NEEDLE in text:
                    fh.write(text.encode("utf-8") + b"\n")
    if rows is not None:
        rows += len(records)
    return _Read(rows, src.path.stat().st_size, len(records), kept)


def _full_direct(con: duckdb.DuckDBPyConnection, src: _Source) -> _Read:
    after = last_reject_scan(con)
    try:
        rows = _scan(con, str(src.path), src.spec, header=True, store_rejects=True)
    except duckdb.Error as exc:
        raise _schema_error(src.where, exc) from exc
    records = set_aside(con, src.path, after, len(src.spec))
    if records:
        repair = src.tmp / "latin1-rows.csv"
        with open(repair, "wb") as fh:
            for record in records:
                fh.write(record.decode("latin-1").encode("utf-8") + b"\n")
        try:
            _scan(con, str(repair), src.spec, header=False, store_rejects=False)
        except duckdb.Error as exc:
            raise _schema_error(src.where, exc) from exc
        if rows is not None:
            rows += len(records)
    return _Read(rows, src.path.stat().st_size, len(records))


def _through_pipe(
    con: duckdb.DuckDBPyConnection, src: _Source, read: Callable[[str], int | None]
) -> _Read:
    """Feed the CSV through a pipe to ``read`` (a DuckDB scan of the pipe's path)."""
    hasher = hashlib.new(src.expected_hash[0]) if src.expected_hash else None
    error: duckdb.Error | None = None
    rows = None
    with src.open_blocks() as blocks, _Feeder(blocks, src.encoding, hasher, src.path.name) as feed:
        try:
            rows = read(feed.path)
        except duckdb.Error as exc:
            error = exc
    if feed.error is not None:  # a broken zip explains a parse error, not the reverse
        raise SourceError(
            f"{src.where}: reading {src.path.name} failed: "
            f"{type(feed.error).__name__}: {feed.error}"
        ) from feed.error
    if error is not None:
        raise error
    if src.expected_hash and feed.digest != src.expected_hash[1]:
        raise SourceError(
            f"{src.where}: {src.expected_hash[0]} of the CSV is {feed.digest}, "
            f"but the resource publishes {src.expected_hash[1]}"
        )
    return _Read(rows, feed.bytes, feed.transcoded)


def _lines_pipe(con: duckdb.DuckDBPyConnection, src: _Source) -> _Read:
    kept = src.tmp / "section.csv"
    try:
        read = _through_pipe(
            con, src, lambda path: _filter_lines(con, path, kept, store_rejects=False)
        )
    except duckdb.Error as exc:
        raise Fallback(f"line filter: {str(exc).splitlines()[0]}") from exc
    read.kept = kept
    return read


def _full_pipe(con: duckdb.DuckDBPyConnection, src: _Source) -> _Read:
    try:
        return _through_pipe(
            con, src, lambda path: _scan(con, path, src.spec, header=True, store_rejects=False)
        )
    except duckdb.Error as exc:
        raise _schema_error(src.where, exc) from exc


_WAYS: dict[str, Callable[[duckdb.DuckDBPyConnection, _Source], _Read]] = {
    "lines-direct": _lines_direct,
    "lines-pipe": _lines_pipe,
    "full-direct": _full_direct,
    "full-pipe": _full_pipe,
}


def _ways(is_zip: bool, encoding: str, mode: str, hashed: bool) -> list[str]:
    """The ways to try, best first; each later one assumes less about the file."""
    if is_zip:
        if mode == "direct":
            raise ValueError("a zip cannot be read directly; use mode='auto' or 'pipe'")
        return ["lines-pipe", "full-pipe"]
    if mode == "pipe" or hashed or encoding != "latin-1":
        return ["lines-pipe", "full-pipe"]
    if mode == "direct":
        return ["lines-direct", "full-direct"]
    return ["lines-direct", "full-direct", "full-pipe"]


# -- entry point -----------------------------------------------------------------------------


def read_epd_file(
    path: Path,
    month: date,
    *,
    where: str,
    expected_hash: tuple[str, str] | None = None,
    threads: int | None = None,
    mode: str = "auto",
    tmp_dir: Path | None = None,
    limits: Limits | None = None,
) -> IngestResult:
    """Staged opioid rows of ``path`` (CSV or zip), identical to the SQL route's for the month.

    ``mode``: ``auto`` reads a CSV directly and a zip through the pipe; ``pipe`` and
    ``direct`` force one (benchmarks and tests). ``expected_hash`` (algorithm, hex) is
    checked against the CSV bytes as they stream through the pipe (for a zip, the
    member's bytes, which is what a published CSV hash describes). The kept lines (about
    2.5% of the CSV) are written under ``tmp_dir`` (default: beside ``path``).
    ``limits`` bound what a zip may inflate to (see :func:`open_csv_blocks`).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    started = time.monotonic()
    path = Path(path)
    is_zip = zipfile.is_zipfile(path)
    with open_csv_blocks(path, limits) as (blocks, member):
        first = next(blocks, b"")
    header, encoding = parse_header(first, where=where)
    layout = detect_layout(header, where=where)
    spec = column_spec(header, layout, where=where)
    ways = _ways(is_zip, encoding, mode, expected_hash is not None)
    if not _PIPES:
        ways = [w for w in ways if w.endswith("direct")]
        if not ways:
            raise SourceError(f"{where}: reading a zip needs a POSIX system (an OS pipe)")

    @contextlib.contextmanager
    def open_blocks() -> Iterator[Iterator[bytes]]:
        with open_csv_blocks(path, limits) as (stream_blocks, _):
            yield stream_blocks

    parent = Path(tmp_dir) if tmp_dir is not None else path.parent
    with (
        tempfile.TemporaryDirectory(prefix=".epd-read-", dir=parent) as tmp,
        _connection(threads) as con,
    ):
        src = _Source(path, spec, encoding, where, Path(tmp), expected_hash, open_blocks)
        frame: pl.DataFrame | None = None
        read = _Read(None, 0, 0)
        used = ways[0]
        for i, used in enumerate(ways):
            try:
                read = _WAYS[used](con, src)
                frame = _result(con, src, layout, month, read)
                break
            except (Fallback, SchemaError) as reason:
                # A kept line that does not parse may be half of a record split by a
                # quoted newline: only a way that parses every row can tell.
                if isinstance(reason, SchemaError) and read.kept is None:
                    raise
                if i == len(ways) - 1:
                    raise SchemaError(f"{where}: {reason}") from reason
                log.info("%s: %s; reading it %s instead", where, reason, ways[i + 1])
                run(con, "bulk/reset_rows")
                read = _Read(None, 0, 0)
        assert frame is not None
    if read.latin1:
        log.info(
            "%s: %d %s held Latin-1 bytes",
            where,
            read.latin1,
            "lines" if used.endswith("direct") else "blocks",
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
        latin1=read.latin1,
    )
