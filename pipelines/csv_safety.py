"""Text a spreadsheet would run as a formula, made inert in every CSV the project writes.

A cell beginning ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheets skip before looking) is read as a formula when a CSV is opened in a
spreadsheet. Practice and PCN names come from public files anyone can get a name into, so
text cells starting so are written with a leading apostrophe, which spreadsheets show as
text and do not display. Only text columns change: numbers and dates are written as they
are. The published CSVs do the same in DuckDB (``sql/publish/csv_safe_macro.sql``); the
xlsx needs nothing, as it stores strings as strings, never formulas.
"""

from __future__ import annotations

import polars as pl

# Kept in step with sql/publish/csv_safe_macro.sql (tests check both on the same cases).
FORMULA_START = r"^[=+\-@\t\r]"
PREFIX = "'"


def neutralise(value: str | None) -> str | None:
    """One cell, as the CSV writers write it."""
    if value and value[0] in "=+-@\t\r":
        return PREFIX + value
    return value


def safe_for_spreadsheets(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text cell that would start a formula prefixed."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_START))
        .then(pl.lit(PREFIX) + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    )
