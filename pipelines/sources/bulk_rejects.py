"""Rows DuckDB set aside while reading an EPD file directly (lines with Latin-1 bytes):
found again in the file by their byte positions, so each is read once more as Latin-1 and
no row is lost. When they cannot be accounted for exactly, :class:`Fallback` tells the
reader to try its next way in (pipelines/sources/bulk_read.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from pipelines.warehouse import run

# Lines with Latin-1 bytes are re-read one by one; beyond this many, read another way.
REJECTS_LIMIT = 100_000
_INVALID_ENCODING = "INVALID ENCODING"


class Fallback(Exception):
    """This way of reading cannot account for every row exactly: try the next one."""


def last_reject_scan(con: duckdb.DuckDBPyConnection) -> int:
    try:
        return int(run(con, "bulk/reject_last_scan").fetchone()[0])  # type: ignore[index]
    except duckdb.CatalogException:
        return 0  # no scan has stored rejects on this connection yet


def set_aside(con: duckdb.DuckDBPyConnection, path: Path, after: int, columns: int) -> list[bytes]:
    """The raw lines the last scan set aside for invalid UTF-8, re-read from the file."""
    rejected = run(con, "bulk/rejected_rows", {"after": after}).fetchall()
    if not rejected:
        return []
    entries = sum(r[4] for r in rejected)
    if entries >= REJECTS_LIMIT:
        raise Fallback(f"{entries:,} lines with non-UTF-8 bytes")
    other = [r for r in rejected if r[2] != _INVALID_ENCODING]
    if other:
        _, line, types, message, _ = other[0]
        raise Fallback(f"line {line}: {types}: {message}")
    return _records_at(path, [r[0] for r in rejected], columns)


def _records_at(path: Path, positions: list[int], columns: int) -> list[bytes]:
    """The raw CSV records DuckDB set aside, found from its (approximate) byte positions.

    DuckDB reports a position at or just after the line's first byte, so the line starts
    after the last newline at or before it. Each line found must be a whole CSV record
    of the right width that is not valid UTF-8 (else DuckDB would not have set it aside),
    and no two positions may land on one line; anything else means the lines cannot be
    accounted for exactly and the caller reads the file another way. Set-aside lines
    cluster (one practice's rows), so the file is read in blocks shared between them.
    """
    records: list[bytes] = []
    starts: set[int] = set()
    block_start, block = -1, b""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        for position in sorted(positions):
            if not (block_start + 4096 <= position < block_start + len(block) - 65536):
                block_start = max(0, position - 4096)
                fh.seek(block_start)
                block = fh.read(1 << 20)
            offset = position - block_start
            start = block.rfind(b"\n", 0, offset + 1) + 1
            end = block.find(b"\n", start)
            if end < 0 and block_start + len(block) >= size:
                end = len(block)  # the last line, without a final newline
            if end < 0 or (start == 0 and block_start > 0):
                raise Fallback(f"cannot find the line at byte {position}")
            record = block[start:end].rstrip(b"\r")
            if _is_utf8(record) or record.count(b'"') % 2:
                raise Fallback(f"the line at byte {position} is not the one set aside")
            if len(next(csv.reader([record.decode("latin-1")]))) != columns:
                raise Fallback(f"the line at byte {position} is not a whole record")
            if block_start + start in starts:
                raise Fallback("two set-aside lines resolve to the same line")
            starts.add(block_start + start)
            records.append(record)
    return records


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
