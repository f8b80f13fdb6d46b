"""The spreadsheet export: an About sheet, the practices, the organisation's own values,
then one sheet per comparator, every number formatted in its comparator's units."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.export.about import (
    COUNTED_NOTE,
    METHOD_NOTES,
    SOURCE_NOTE,
    Formats,
    open_workbook,
    write_about,
)
from pipelines.export.columns import (
    _COUNT_COLUMNS,
    _FRACTION_COLUMNS,
    _RANK_COLUMNS,
    _SHEET_OMITS,
    _VALUE_COLUMNS,
    EXPORT_COLUMNS,
    LEVEL_LABELS,
    ORGANISATION_COLUMNS,
    PRACTICE_COLUMNS,
)
from pipelines.export.organisation import ExportData
from pipelines.export.summary import summary_sheets, write_summary, write_trend

# --------------------------------------------------------------------------------------
# The spreadsheet
# --------------------------------------------------------------------------------------

_INVALID_SHEET_CHARS = set("[]:*?/\\")


def sheet_name(text: str, taken: set[str]) -> str:
    """A worksheet name spreadsheet programs accept: at most 31 characters, none of
    ``[]:*?/\\``, not starting or ending with an apostrophe, not the reserved "History",
    and unique ignoring case (``taken`` holds the lower-cased names already used)."""
    name = "".join("_" if ch in _INVALID_SHEET_CHARS else ch for ch in text).strip().strip("'")
    name = (name or "Sheet")[:31].strip().strip("'") or "Sheet"
    if name.lower() == "history":
        name = "History_"
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        suffix = f" ({n})"
        candidate = name[: 31 - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate


def _decimals_for(values: pl.Series) -> int:
    """1 decimal for typical rates, more when the typical value is small (high-dose items
    are a fraction of one per 1,000 patients, and 0.0 would hide the differences)."""
    finite = values.drop_nulls()
    if finite.is_empty():
        return 1
    typical = float(finite.abs().median() or 0.0)
    if typical >= 10 or typical == 0:
        return 1
    return 2 if typical >= 1 else 3


def _number_format(decimals: int) -> str:
    return "#,##0" if decimals == 0 else "#,##0." + "0" * decimals


@dataclass
class _Column:
    """How one column is written: its header, note, cell format and value transform."""

    name: str
    note: str
    kind: str  # "text", "number", "date", "bool"
    fmt: Any = None
    factor: float = 1.0
    width: float = 10.0


def _value_format(kind: str, decimals: int) -> tuple[str, float]:
    """Cell format and multiplier for a value in a comparator's units: shares (percent
    0-100 in the extract) become fractions shown as percentages, as spreadsheets expect."""
    if kind == "proportion":
        return "0.0%", 0.01
    return _number_format(decimals), 1.0


def _columns_for(
    frame: pl.DataFrame,
    notes: dict[str, str],
    formats: Formats,
    *,
    value_kind: str | None,
    value_units: str | None,
) -> list[_Column]:
    """Decide each column's cell type, number format and width from its name and data."""
    columns: list[_Column] = []
    decimals = _decimals_for(frame.get_column("value")) if "value" in frame.columns else 1
    for name, dtype in frame.schema.items():
        note = notes.get(name, name)
        if name in _VALUE_COLUMNS and value_units:
            note = f"{note} Units: {value_units}."
        if dtype == pl.Date:
            # Months read as months ("Dec 2025"); other dates (opening dates) in full.
            monthly = name == "month" or name.endswith("_month")
            pattern = "mmm yyyy" if monthly else "yyyy-mm-dd"
            col = _Column(name, note, "date", formats.number(pattern), width=11)
        elif dtype == pl.Boolean:
            col = _Column(name, note, "bool", width=max(8, len(name) + 2))
        elif dtype.is_numeric():
            if name in _VALUE_COLUMNS and value_kind is not None:
                pattern, factor = _value_format(value_kind, decimals)
                col = _Column(name, note, "number", formats.number(pattern), factor)
            elif name in _RANK_COLUMNS:
                col = _Column(name, note, "number", formats.number("0.0"))
            elif name in _FRACTION_COLUMNS:
                col = _Column(name, note, "number", formats.number("0.0%"))
            elif name in _COUNT_COLUMNS:
                col = _Column(name, note, "number", formats.number("#,##0"))
            elif name == "numerator":
                values = frame.get_column(name).drop_nulls()
                whole = values.is_empty() or bool((values == values.round(0)).all())
                col = _Column(name, note, "number", formats.number("#,##0" if whole else "#,##0.0"))
            else:
                col = _Column(name, note, "number", formats.number("#,##0.0"))
            col.width = max(11, min(len(name) + 2, 18))
        else:
            longest = frame.get_column(name).cast(pl.String).str.len_chars().max()
            longest_int = int(longest) if isinstance(longest, int | float) else 0
            col = _Column(name, note, "text", width=min(max(longest_int, len(name)) + 2, 50))
        col.width = max(col.width, min(len(name) + 2, 24))
        columns.append(col)
    return columns


def _write_table(
    workbook: Any,
    formats: Formats,
    name: str,
    frame: pl.DataFrame,
    columns: list[_Column],
    *,
    freeze_columns: int = 0,
    formats_by_row: Callable[[dict[str, Any]], dict[str, tuple[Any, float]]] | None = None,
) -> None:
    """One sheet: a header row with notes, typed cells (blanks for nulls), frozen header,
    autofilter and column widths. Nothing is a formula, so nothing can show an error."""
    sheet = workbook.add_worksheet(name)
    for c, col in enumerate(columns):
        sheet.set_column(c, c, col.width)
        sheet.write_string(0, c, col.name, formats.header)
        sheet.write_comment(0, c, col.note, {"x_scale": 2.2, "y_scale": 1.4})
    sheet.set_row(0, 30)
    sheet.freeze_panes(1, freeze_columns)
    sheet.autofilter(0, 0, max(frame.height, 1), max(len(columns) - 1, 0))
    for r, row in enumerate(frame.iter_rows(named=True), start=1):
        overrides = formats_by_row(row) if formats_by_row else {}
        for c, col in enumerate(columns):
            value = row[col.name]
            if value is None or value == "":
                continue  # a blank cell, never an empty string or a zero
            if col.kind == "text":
                sheet.write_string(r, c, str(value))
            elif col.kind == "date":
                sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), col.fmt)
            elif col.kind == "bool":
                sheet.write_boolean(r, c, bool(value))
            else:
                fmt, factor = overrides.get(col.name, (col.fmt, col.factor))
                number = float(value) * factor
                if math.isfinite(number):
                    sheet.write_number(r, c, number, fmt)


def _about_rows(data: ExportData, created: datetime) -> list[tuple[str, str]]:
    org = data.organisation
    first, last = data.months[0], data.months[-1]
    return [
        ("Organisation", f"{org.code} {org.name or ''}".strip()),
        ("Level", f"{LEVEL_LABELS[org.level]} ({org.level})"),
        ("GP practices", f"{data.practices.height}"),
        ("Months", f"{first:%B %Y} to {last:%B %Y} ({len(data.months)} months)"),
        ("Created", f"{created:%d %B %Y %H:%M} UTC from {data.extract.name}"),
        ("Source", SOURCE_NOTE),
        (
            "What is counted",
            COUNTED_NOTE + " Each comparator's sheet holds every variant (90mg, "
            "120mg high-dose thresholds), denominator (all registered patients, adults 18+) "
            "and period (1m = the month, 3m and 12m = rolling windows ending that month).",
        ),
        *METHOD_NOTES,
        (
            "Number formats",
            "Rates are shown to 1 decimal place (more when they are small), counts as "
            "whole numbers. Shares (high_dose_share) are stored as fractions and shown as "
            "percentages: 23.5% is the cell value 0.235, and 0.0% differences are "
            "percentage points. change_rel is a fraction shown as a percentage.",
        ),
    ]


def _about_columns() -> list[tuple[str, str]]:
    """Every column of the comparator sheets, then the organisation sheet's own."""
    columns = [(name, note) for name, note in EXPORT_COLUMNS.items() if name not in _SHEET_OMITS]
    return [*columns, ("n_organisations", ORGANISATION_COLUMNS["n_organisations"])]


def write_xlsx(data: ExportData, path: Path) -> None:
    org = data.organisation
    workbook = open_workbook(
        path,
        org,
        "Per GP practice opioid prescribing comparators with national context",
    )
    try:
        formats = Formats(workbook)
        comparators = data.comparators.unique("comparator_id", keep="first", maintain_order=True)
        taken = {"about", "summary", "trend"}
        names = {
            "practices": sheet_name("Practices", taken),
            "organisation": sheet_name(f"{org.code} overall", taken),
        }
        comparator_sheets = [
            (row, sheet_name(row["comparator_id"], taken))
            for row in comparators.iter_rows(named=True)
        ]
        listing = [
            (names["practices"], f"The {data.practices.height} GP practices of {org.code}."),
            (
                names["organisation"],
                f"{org.code}'s own values (sum over its practices) beside England's.",
            ),
            *[(sheet, f"{row['title']}: {row['units']}.") for row, sheet in comparator_sheets],
        ]
        if data.summary is not None and data.trend is not None:
            listing[:0] = summary_sheets(org.code)
            write_summary(workbook, formats, data)
            write_trend(workbook, formats, data)
        write_about(
            workbook,
            formats,
            org,
            _about_rows(data, datetime.now(UTC)),
            listing,
            _about_columns(),
        )

        practice_columns = _columns_for(
            data.practices, PRACTICE_COLUMNS, formats, value_kind=None, value_units=None
        )
        _write_table(
            workbook,
            formats,
            names["practices"],
            data.practices,
            practice_columns,
            freeze_columns=2,
        )

        kinds = {row["comparator_id"]: row["kind"] for row in comparators.iter_rows(named=True)}
        own = data.organisation_rows
        own_columns = _columns_for(
            own, ORGANISATION_COLUMNS, formats, value_kind=None, value_units=None
        )
        decimals = {
            cid: _decimals_for(own.filter(pl.col("comparator_id") == cid).get_column("value"))
            for cid in kinds
        }

        def own_formats(row: dict[str, Any]) -> dict[str, tuple[Any, float]]:
            pattern, factor = _value_format(
                kinds.get(row["comparator_id"], "rate"), decimals.get(row["comparator_id"], 1)
            )
            cell = (formats.number(pattern), factor)
            numerator = row.get("numerator")
            whole = numerator is None or float(numerator).is_integer()
            counted = (formats.number("#,##0" if whole else "#,##0.0"), 1.0)
            return {"value": cell, "england_value": cell, "numerator": counted}

        _write_table(
            workbook,
            formats,
            names["organisation"],
            own,
            own_columns,
            freeze_columns=0,
            formats_by_row=own_formats,
        )

        for row, sheet in comparator_sheets:
            subset = data.rows.filter(pl.col("comparator_id") == row["comparator_id"])
            subset = subset.select([c for c in subset.columns if c not in _SHEET_OMITS])
            columns = _columns_for(
                subset,
                EXPORT_COLUMNS,
                formats,
                value_kind=row["kind"],
                value_units=row["units"],
            )
            _write_table(workbook, formats, sheet, subset, columns, freeze_columns=2)
    finally:
        workbook.close()
