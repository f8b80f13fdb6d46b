"""Outputs that cannot be turned against their readers: CSV cells that would run as
formulas are neutralised (exports and published CSVs alike), and ``--out`` never replaces
a pipe, a device or a link."""

from __future__ import annotations

import csv
import os
import types
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.csv_safety import neutralise, safe_for_spreadsheets
from pipelines.export.organisation import _write_csv
from pipelines.files import UnsafeTarget, atomic_write_text
from pipelines.publish import _export_csv
from pipelines.warehouse import run

HOSTILE = [
    '=HYPERLINK("https://example.invalid","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]
HARMLESS = ["THE SURGERY", "A=B", "", None, "O'BRIEN PRACTICE"]


def test_neutralise_prefixes_formula_starts_only():
    assert [neutralise(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    assert [neutralise(v) for v in HARMLESS] == HARMLESS


def test_polars_and_duckdb_agree_on_every_case(tmp_path: Path):
    values = HOSTILE + HARMLESS
    frame = pl.DataFrame({"name": values, "items": list(range(len(values)))})
    assert safe_for_spreadsheets(frame)["name"].to_list() == [neutralise(v) for v in values]
    assert safe_for_spreadsheets(frame)["items"].to_list() == frame["items"].to_list()

    con = duckdb.connect()
    con.execute("CREATE TABLE practices AS SELECT * FROM frame")
    run(con, "publish/csv_safe_macro")
    path = tmp_path / "practices.csv"
    _export_csv(con, "practices", path)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    written = [row["name"] for row in rows]
    expected = [neutralise(v) or "" for v in values]
    assert written == expected
    assert [row["items"] for row in rows] == [str(i) for i in range(len(values))]


def test_the_organisation_export_csv_holds_no_live_formula(tmp_path: Path):
    rows = pl.DataFrame({"practice_name": HOSTILE, "rate": [1.5] * len(HOSTILE)})
    path = tmp_path / "export.csv"
    _write_csv(types.SimpleNamespace(rows=rows), path)  # type: ignore[arg-type]
    with open(path, newline="") as fh:
        cells = [row["practice_name"] for row in csv.DictReader(fh)]
    assert all(cell.startswith("'") for cell in cells)
    assert [cell[1:] for cell in cells] == HOSTILE


def test_a_named_pipe_is_not_replaced(tmp_path: Path):
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    with pytest.raises(UnsafeTarget, match="named pipe"):
        atomic_write_text(fifo, "x")
    assert fifo.is_fifo()


def test_a_symbolic_link_is_neither_replaced_nor_written_through(tmp_path: Path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    with pytest.raises(UnsafeTarget, match="symbolic link"):
        atomic_write_text(link, "x")
    assert link.is_symlink() and victim.read_text() == "precious"


def test_a_device_is_not_replaced():
    with pytest.raises(UnsafeTarget, match="device"):
        atomic_write_text(Path("/dev/null"), "x")


def test_a_regular_file_is_replaced(tmp_path: Path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
