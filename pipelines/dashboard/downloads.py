"""The downloads linked from every page: the organisation's practices as CSV.

Each ``LEVEL/CODE.csv`` holds the organisation's practices in the latest month with
every comparator key and the statistics the pages show, so what a user downloads is what
they were looking at. The full history stays in the publication's own files
(``published/files/``) and in ``opioids export``.

DuckDB reads every practice's rows once (``sql/dashboard/download_rows.sql``); each
organisation's file is then its members' slice, written by Polars. DuckDB's own
``COPY ... PARTITION_BY`` wrote the same files from a six-fold join, and with 6,500
practice partitions it spilled its buffers to disk: 50 s at national scale against 18 s
this way (``docs/performance.md``). Text cells that a spreadsheet would run as a formula
are made inert, as in every CSV the project writes (:mod:`pipelines.csv_safety`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl

from pipelines.csv_safety import safe_for_spreadsheets
from pipelines.warehouse import query_frame

# Each level's files and the practice column that says which organisation a row is in
# (England's one file holds every practice).
GROUPS: tuple[tuple[str, str | None], ...] = (
    ("england", None),
    ("region", "region_code"),
    ("icb", "icb_code"),
    ("sub_icb", "sub_icb_code"),
    ("pcn", "pcn_code"),
    ("practice", "practice_code"),
)
ENGLAND = "ENG"
# Read to group the rows, not written: a file's organisation is in its first two columns.
GROUPING_ONLY = ("region_code",)


def download_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every practice's rows in the latest month, as the files list them."""
    return safe_for_spreadsheets(query_frame(con, "dashboard/download_rows"))


def write_downloads(con: duckdb.DuckDBPyConnection, out: Path) -> int:
    """Write ``out/LEVEL/CODE.csv`` for every organisation and practice; returns how many."""
    rows = download_rows(con)
    columns = [name for name in rows.columns if name not in GROUPING_ONLY]
    written = 0
    for level, column in GROUPS:
        folder = out / level
        folder.mkdir(parents=True, exist_ok=True)
        for code, members in _runs(rows, column):
            members.select(
                pl.lit(level).alias("org_level"), pl.lit(code).alias("org_code"), *columns
            ).write_csv(folder / f"{code}.csv")
            written += 1
    return written


def _runs(rows: pl.DataFrame, column: str | None) -> Iterator[tuple[str, pl.DataFrame]]:
    """Each organisation's rows as slices of ``rows`` (no copy): they are in runs, as
    the query orders by the levels in turn; should an organisation's rows not be one run
    (a PCN across two sub-ICB locations) the level is re-sorted first, keeping the order
    within each organisation."""
    if column is None:
        yield ENGLAND, rows
        return
    members = rows.filter(pl.col(column).is_not_null()) if rows[column].has_nulls() else rows
    runs = members.select(pl.col(column).rle()).unnest(column)
    if runs.height != members.get_column(column).n_unique():
        members = members.sort(column, maintain_order=True)
        runs = members.select(pl.col(column).rle()).unnest(column)
    offset = 0
    for length, code in runs.iter_rows():
        yield code, members.slice(offset, length)
        offset += length
