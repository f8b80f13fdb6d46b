"""One organisation's practices in one file: ``opioids export``.

Medicines optimisation teams work on an area (an ICB, a sub-ICB location, a PCN) and want
all of it in one go, in the tool they already use. :func:`export_organisation` reads the
published extract (read-only, so it never competes with a publication) and writes every
practice of the organisation, every comparator, variant, denominator and period, for the
last 12 months in the extract, beside the national context of the same month and key
(deciles, national rate, funnel limits and flags, percentile rank, SPC signal) and the
organisation's own value:

* ``csv`` and ``parquet``: one tidy long table, one row per practice x month x
  comparator key, the same columns in both (see :data:`EXPORT_COLUMNS`);
* ``xlsx``: an "About" sheet (what, when, where from, method caveats and every column
  explained), the practices, the organisation's own values, then one sheet per
  comparator. One sheet per comparator rather than one tidy sheet, because each
  comparator has its own units (items per 1,000, mg OME per day per 1,000, percent of
  items): on its own sheet a value column has one number format and one meaning, and
  filtering to one comparator - the first thing everyone does - is already done. The
  tidy table is what the CSV and Parquet files are for.

Every file is written under a temporary name beside the target and renamed over it, so a
reader never sees half a file and a failed export leaves any previous one untouched.

The module also documents the extract (:func:`data_dictionary_markdown` writes
``docs/data-dictionary.md`` from the extract's own ``COMMENT ON`` text, and
:func:`wide_column_comment_texts` the comments the publication puts on the wide tables'
per-comparator columns), so the documentation is generated from the one place it is
written.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.warehouse import query_frame

LEVELS: tuple[str, ...] = ("icb", "sub_icb", "pcn", "practice")
FORMATS: tuple[str, ...] = ("csv", "parquet", "xlsx")
EXPORT_MONTHS = 12

LEVEL_LABELS: dict[str, str] = {
    "icb": "ICB",
    "sub_icb": "sub-ICB location",
    "pcn": "PCN",
    "practice": "GP practice",
}

#: What the export reads; an extract published before these existed cannot be exported.
REQUIRED_RELATIONS: tuple[str, ...] = (
    "comparators",
    "practices",
    "practice_comparators",
    "organisation_comparators",
    "national_deciles_wide",
)

#: The columns of the CSV and Parquet export, in order, with what each means. The same
#: text heads the spreadsheet's columns (as a note) and its About sheet.
EXPORT_COLUMNS: dict[str, str] = {
    "org_level": "Level of the exported organisation: icb, sub_icb, pcn or practice.",
    "org_code": "Code of the exported organisation.",
    "practice_code": "ODS code of the GP practice.",
    "practice_name": "Practice name (ODS).",
    "pcn_code": "Primary Care Network code of the practice.",
    "pcn_name": "Primary Care Network name.",
    "sub_icb_code": "Sub-ICB location code.",
    "sub_icb_name": "Sub-ICB location name.",
    "icb_code": "Integrated Care Board code.",
    "icb_name": "Integrated Care Board name.",
    "month": "Dispensing month; for 3m and 12m rows the last month of the window.",
    "comparator_id": "Comparator identifier (one sheet each in the spreadsheet).",
    "comparator_title": "Comparator name.",
    "variant": "standard, or the high-dose threshold: 90mg (Opioids Aware) or 120mg.",
    "denominator_type": "patients (all ages), adults (18+) or long_acting_items (for shares).",
    "period": "1m, 3m or 12m: months summed in numerator and denominator.",
    "units": "Units of value, the limits, deciles and organisation values.",
    "numerator": "Prescription items, or mg OME per day, summed over the period.",
    "denominator": "Registered people (or items, for shares) summed over the period.",
    "value": "The comparator: scale x numerator / denominator. Blank when the denominator "
    "is missing or zero, or a month of the window is missing.",
    "list_size": "Registered patients (all ages) that month.",
    "small_practice": "TRUE when below the minimum list size (1,000 by default): shown, "
    "but not ranked or flagged.",
    "percentile_rank": "Rank among England's eligible practices, 0 (lowest) to 100, "
    "same month and key. Blank when not ranked.",
    "funnel_flag": "high / low / within against the plain 99.8% funnel limits.",
    "od_funnel_flag": "high / low / within against the 99.8% limits adjusted for "
    "over-dispersion: the flag to act on.",
    "funnel_lower_998": "Plain lower 99.8% funnel limit for this practice's denominator.",
    "funnel_upper_998": "Plain upper 99.8% funnel limit for this practice's denominator.",
    "od_lower_998": "Over-dispersion adjusted lower 99.8% funnel limit.",
    "od_upper_998": "Over-dispersion adjusted upper 99.8% funnel limit.",
    "national_rate": "England over eligible practices: sum of numerators / sum of "
    "denominators (the funnel centre line).",
    "national_p10": "National 10th percentile of practice values, same month and key.",
    "national_p20": "National 20th percentile.",
    "national_p30": "National 30th percentile.",
    "national_p40": "National 40th percentile.",
    "national_p50": "National median.",
    "national_p60": "National 60th percentile.",
    "national_p70": "National 70th percentile.",
    "national_p80": "National 80th percentile.",
    "national_p90": "National 90th percentile.",
    "spc_signal": "SPC (XmR) reading of this month in the practice's monthly series: "
    "improvement, concern, neither or common_cause. 1m rows with 12+ months only.",
    "spc_rules": "Special-cause rules this month is part of (outside_limits, run_of_7, "
    "trend_of_7, two_of_three_near_limit).",
    "value_12m_ago": "The value 12 months earlier (blank when not in the extract).",
    "change_abs": "value - value_12m_ago (percentage points for shares).",
    "change_rel": "Change as a share of value_12m_ago.",
    "org_value": "The exported organisation's own value, same month and key "
    "(sum over its practices).",
    "england_value": "England's value over all practices, same month and key.",
}

#: The columns of the organisation sheet (the organisation's own series).
ORGANISATION_COLUMNS: dict[str, str] = {
    "month": EXPORT_COLUMNS["month"],
    "comparator_id": "Comparator identifier.",
    "comparator_title": EXPORT_COLUMNS["comparator_title"],
    "variant": EXPORT_COLUMNS["variant"],
    "denominator_type": EXPORT_COLUMNS["denominator_type"],
    "period": EXPORT_COLUMNS["period"],
    "units": EXPORT_COLUMNS["units"],
    "numerator": "Sum of the practices' numerators over the period.",
    "denominator": "Sum of the practices' denominators over the period.",
    "value": "The organisation's value: scale x numerator / denominator.",
    "percentile_rank": "Rank among organisations of the same level, 0 (lowest) to 100 "
    "(for a practice: among England's eligible practices).",
    "n_organisations": "How many organisations of the level were ranked.",
    "england_value": EXPORT_COLUMNS["england_value"],
}

PRACTICE_COLUMNS: dict[str, str] = {
    "practice_code": "ODS code of the GP practice.",
    "practice_name": "Practice name (ODS).",
    "postcode": "Practice postcode.",
    "pcn_code": "Primary Care Network code.",
    "pcn_name": "Primary Care Network name.",
    "sub_icb_code": "Sub-ICB location code.",
    "sub_icb_name": "Sub-ICB location name.",
    "icb_code": "Integrated Care Board code.",
    "icb_name": "Integrated Care Board name.",
    "status_code": "ODS status: A active, C closed, D dormant, P proposed.",
    "open_date": "Date the practice opened.",
    "close_date": "Date the practice closed (blank while open).",
    "latest_patients": "Registered patients (all ages), latest month with a list size.",
    "latest_adults": "Registered patients aged 18+, same month.",
    "latest_list_size_month": "The month of the latest list size.",
}

#: Columns left out of the spreadsheet's per-comparator sheets: they repeat the sheet's
#: comparator or the organisation, or are on the Practices sheet (one line per practice
#: rather than once per row keeps a large ICB's workbook small and quick to open).
_SHEET_OMITS: frozenset[str] = frozenset(
    {
        "org_level",
        "org_code",
        "comparator_id",
        "comparator_title",
        "units",
        "pcn_code",
        "sub_icb_name",
        "icb_code",
        "icb_name",
    }
)

# Columns holding a value in the comparator's units (shares become percent cells).
_VALUE_COLUMNS: frozenset[str] = frozenset(
    {
        "value",
        "funnel_lower_998",
        "funnel_upper_998",
        "od_lower_998",
        "od_upper_998",
        "national_rate",
        "value_12m_ago",
        "change_abs",
        "org_value",
        "england_value",
        *(f"national_p{p}" for p in range(10, 100, 10)),
    }
)
_COUNT_COLUMNS: frozenset[str] = frozenset(
    {"denominator", "list_size", "latest_patients", "latest_adults", "n_organisations"}
)
_RANK_COLUMNS: frozenset[str] = frozenset({"percentile_rank"})
_FRACTION_COLUMNS: frozenset[str] = frozenset({"change_rel"})


class ExportError(ValueError):
    """The export cannot be made as asked (unknown organisation, level or format, or no
    usable extract); the message says what to do instead."""


@dataclass(frozen=True)
class Organisation:
    """The organisation being exported, as found in the extract's ``practices`` table."""

    level: str
    code: str
    name: str | None


@dataclass(frozen=True)
class ExportData:
    """Everything an export writes, read from the extract in one read-only session."""

    organisation: Organisation
    months: list[date]
    rows: pl.DataFrame
    practices: pl.DataFrame
    organisation_rows: pl.DataFrame
    comparators: pl.DataFrame
    extract: Path


# --------------------------------------------------------------------------------------
# The export
# --------------------------------------------------------------------------------------


def export_organisation(
    extract: Path, *, org: str, level: str = "icb", fmt: str, out: Path
) -> Path:
    """Write every practice of one organisation, every comparator, the last 12 months.

    ``org`` is matched (case-insensitively) against the codes of ``level`` in the
    extract's ``practices`` table. ``out`` is the file to write, or a directory (one that
    exists, or a new path without a file extension) to write a file named after the
    organisation and month into. Returns the path written. Raises :class:`ExportError` for an unknown level, format or organisation (the
    message lists near matches) or an extract that is missing or too old to export.
    """
    level = (level or "icb").strip().lower()
    fmt = (fmt or "").strip().lower().lstrip(".")
    if level not in LEVELS:
        raise ExportError(f"unknown level {level!r}: use one of {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    data = read_export(extract, org=org, level=level)
    target = _target(Path(out), data, fmt)
    writer: Callable[[ExportData, Path], None] = {
        "csv": _write_csv,
        "parquet": _write_parquet,
        "xlsx": _write_xlsx,
    }[fmt]
    _atomic_write(target, lambda tmp: writer(data, tmp))
    return target


def read_export(extract: Path, *, org: str, level: str) -> ExportData:
    """Read an organisation's export from the extract (read-only)."""
    extract = Path(extract)
    if not extract.is_file():
        raise ExportError(
            f"no published extract at {extract}: run `opioids refresh` (or `opioids demo`) "
            "first, or pass the extract's path"
        )
    try:
        con = duckdb.connect(str(extract), read_only=True)
    except duckdb.Error as exc:
        raise ExportError(f"cannot open {extract} as a DuckDB extract: {exc}") from exc
    try:
        present = set(query_frame(con, "export/relations").get_column("name").to_list())
        missing = [name for name in REQUIRED_RELATIONS if name not in present]
        if missing:
            raise ExportError(
                f"{extract} has no {', '.join(missing)}: it was published by an older "
                "version; refresh to publish it again"
            )
        organisation = _find_organisation(con, org, level)
        months = sorted(
            query_frame(con, "export/months", {"months": EXPORT_MONTHS})
            .get_column("month")
            .to_list()
        )
        if not months:
            raise ExportError(f"{extract} holds no practice values")
        window = {
            "level": level,
            "org": organisation.code,
            "first_month": months[0],
            "last_month": months[-1],
        }
        rows = query_frame(con, "export/practice_rows", window)
        own = query_frame(con, "export/organisation_rows", window)
        practices = query_frame(con, "export/practices", {"level": level, "org": organisation.code})
        comparators = query_frame(con, "export/comparators")
    finally:
        con.close()
    return ExportData(
        organisation=organisation,
        months=months,
        rows=_finite(rows),
        practices=practices,
        organisation_rows=_finite(own),
        comparators=comparators,
        extract=extract,
    )


def _find_organisation(con: duckdb.DuckDBPyConnection, org: str, level: str) -> Organisation:
    """The organisation ``org`` of ``level``, or an :class:`ExportError` that helps.

    Codes are compared case-insensitively (ODS codes are upper case). When nothing
    matches, the message offers close codes and organisations whose name contains what was
    typed (people type "Northshire" as often as "QSN"), and the valid codes when there are
    few enough to list.
    """
    known = query_frame(con, "export/organisations", {"level": level})
    codes: list[str] = known.get_column("code").to_list()
    names: list[str | None] = known.get_column("name").to_list()
    wanted = (org or "").strip().upper()
    for code, name in zip(codes, names, strict=True):
        if code.upper() == wanted:
            return Organisation(level, code, name)
    label = LEVEL_LABELS[level]
    suggestions = difflib.get_close_matches(wanted, codes, n=5, cutoff=0.5)
    lowered = (org or "").strip().lower()
    if len(lowered) >= 3:
        suggestions += [
            code
            for code, name in zip(codes, names, strict=True)
            if name and lowered in name.lower() and code not in suggestions
        ][:5]
    message = f"no {label} with code {org!r} in the extract"
    if suggestions:
        by_code = dict(zip(codes, names, strict=True))
        message += "; did you mean " + ", ".join(
            f"{code} ({by_code[code]})" if by_code.get(code) else code for code in suggestions
        )
    if not codes:
        message += f"; the extract has no {label} codes"
    elif len(codes) <= 40:
        message += f". Valid {level} codes: {', '.join(codes)}"
    else:
        message += f". There are {len(codes)} {level} codes: see the practices table"
    if level != "practice":
        message += " (or pick another --level)"
    raise ExportError(message)


def _finite(frame: pl.DataFrame) -> pl.DataFrame:
    """NaN and infinity become null, so every format writes a blank, never an error."""
    floats = [name for name, dtype in frame.schema.items() if dtype in (pl.Float32, pl.Float64)]
    if not floats:
        return frame
    return frame.with_columns(
        [pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in floats]
    )


def default_filename(organisation: Organisation, last_month: date, fmt: str) -> str:
    """``opioid_comparators_icb_QSN_2025-12.xlsx``: what, whose and up to when."""
    safe = "".join(ch if ch.isalnum() else "-" for ch in organisation.code)
    return f"opioid_comparators_{organisation.level}_{safe}_{last_month:%Y-%m}.{fmt}"


def _target(out: Path, data: ExportData, fmt: str) -> Path:
    """The file to write: ``out`` itself, or a default name inside ``out`` when it is a
    directory (an existing one, or a new path with no extension: nobody wants a
    spreadsheet called ``exports``)."""
    if out.is_dir() or (not out.suffix and not out.exists()):
        return out / default_filename(data.organisation, data.months[-1], fmt)
    if not out.name:
        raise ExportError(f"--out {out} is not a file name")
    return out


def _atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the target's directory, then rename over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _write_csv(data: ExportData, path: Path) -> None:
    data.rows.write_csv(path, null_value="", date_format="%Y-%m-%d")


def _write_parquet(data: ExportData, path: Path) -> None:
    data.rows.write_parquet(path, compression="zstd")


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


class _Formats:
    """The workbook's cell formats, created once and shared (xlsxwriter keeps one each)."""

    def __init__(self, workbook: Any) -> None:
        self._workbook = workbook
        self._cache: dict[str, Any] = {}
        self.header = workbook.add_format(
            {"bold": True, "bg_color": "#DCE6F1", "bottom": 1, "text_wrap": True, "valign": "top"}
        )
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.label = workbook.add_format({"bold": True, "valign": "top"})
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})

    def number(self, pattern: str) -> Any:
        if pattern not in self._cache:
            self._cache[pattern] = self._workbook.add_format({"num_format": pattern})
        return self._cache[pattern]


def _value_format(kind: str, decimals: int) -> tuple[str, float]:
    """Cell format and multiplier for a value in a comparator's units: shares (percent
    0-100 in the extract) become fractions shown as percentages, as spreadsheets expect."""
    if kind == "proportion":
        return "0.0%", 0.01
    return _number_format(decimals), 1.0


def _columns_for(
    frame: pl.DataFrame,
    notes: dict[str, str],
    formats: _Formats,
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
    formats: _Formats,
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
        (
            "Source",
            "NHSBSA English Prescribing Dataset (BNF section 4.7, by GP practice and month), "
            "NHS England 'Patients Registered at a GP Practice' (list sizes), NHS ODS "
            "(practices and their PCN, sub-ICB location, ICB and region). Open data under "
            "the Open Government Licence.",
        ),
        (
            "What is counted",
            "Opioid analgesics in scope, mostly those taken by mouth or through the skin "
            "(injections, buccal, sublingual, nasal and rectal products - mostly palliative "
            "- are left out except in all_routes_ome_daily). Strength is weighed as oral "
            "morphine equivalent (OME). Each comparator's sheet holds every variant (90mg, "
            "120mg high-dose thresholds), denominator (all registered patients, adults 18+) "
            "and period (1m = the month, 3m and 12m = rolling windows ending that month).",
        ),
        (
            "How values are made",
            "value = scale x numerator / denominator (per 1,000 people, or percent of "
            "items). 3- and 12-month values and organisation values are sums of numerators "
            "over sums of denominators, never averages of monthly rates; they are blank "
            "when any month of the window is missing.",
        ),
        (
            "National context",
            "Deciles, percentile ranks, the national rate and funnel limits are across "
            "England's eligible practices in the same month, comparator, variant, "
            "denominator and period. Practices under the minimum list size (1,000 by "
            "default) keep their values but are not ranked or flagged (small_practice). "
            "Funnel flags use 99.8% limits; prefer od_funnel_flag, which allows for "
            "practices differing more than chance explains. SPC (NHS Making Data Count XmR "
            "rules) reads each practice's monthly series against its own history; it needs "
            "at least 12 monthly values.",
        ),
        (
            "Caveats",
            "Items are not patients, and open data has no diagnoses or durations: "
            "'long-term' is approximated by regular long-acting products, 'non-cancer' by "
            "route. High dose is the likely daily dose of a regular long-acting product at "
            "its usual frequency. These comparators point to where to look; they are not for "
            "decisions about individual patients. A blank cell means not available, never "
            "zero.",
        ),
        (
            "Number formats",
            "Rates are shown to 1 decimal place (more when they are small), counts as "
            "whole numbers. Shares (high_dose_share) are stored as fractions and shown as "
            "percentages: 23.5% is the cell value 0.235, and 0.0% differences are "
            "percentage points. change_rel is a fraction shown as a percentage.",
        ),
    ]


def _write_about(
    workbook: Any, formats: _Formats, data: ExportData, sheets: list[tuple[str, str]]
) -> None:
    sheet = workbook.add_worksheet("About")
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, 1, 110)
    org = data.organisation
    sheet.write_string(
        0,
        0,
        f"Opioid prescribing comparators: {LEVEL_LABELS[org.level]} {org.code}"
        + (f" ({org.name})" if org.name else ""),
        formats.title,
    )
    r = 2
    for label, text in _about_rows(data, datetime.now(UTC)):
        sheet.write_string(r, 0, label, formats.label)
        sheet.write_string(r, 1, text, formats.wrap)
        r += 1
    r += 1
    sheet.write_string(r, 0, "Sheets", formats.title)
    r += 1
    for name, description in sheets:
        sheet.write_string(r, 0, name, formats.label)
        sheet.write_string(r, 1, description, formats.wrap)
        r += 1
    r += 1
    sheet.write_string(r, 0, "Columns", formats.title)
    r += 1
    sheet.write_string(r, 0, "column", formats.header)
    sheet.write_string(r, 1, "meaning", formats.header)
    r += 1
    for name, note in EXPORT_COLUMNS.items():
        if name in _SHEET_OMITS:
            continue
        sheet.write_string(r, 0, name, formats.label)
        sheet.write_string(r, 1, note, formats.wrap)
        r += 1
    for name in ("n_organisations",):
        sheet.write_string(r, 0, name, formats.label)
        sheet.write_string(r, 1, ORGANISATION_COLUMNS[name], formats.wrap)
        r += 1


def _write_xlsx(data: ExportData, path: Path) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        {
            # Stream rows to disk: a large ICB is a few hundred thousand rows.
            "constant_memory": True,
            # Names and codes are text, never formulas, links or numbers.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    try:
        org = data.organisation
        workbook.set_properties(
            {
                "title": f"Opioid prescribing comparators: {org.level} {org.code}",
                "subject": "Per GP practice opioid prescribing comparators with national context",
                "comments": "Open data: NHSBSA English Prescribing Dataset, NHS England, ODS",
            }
        )
        formats = _Formats(workbook)
        comparators = data.comparators.unique("comparator_id", keep="first", maintain_order=True)
        taken = {"about"}
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
        _write_about(workbook, formats, data, listing)

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
            return {"value": cell, "england_value": cell}

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


# --------------------------------------------------------------------------------------
# Documentation of the extract
# --------------------------------------------------------------------------------------

#: Order of the data dictionary's sections: the tables people query most first.
DICTIONARY_ORDER: tuple[str, ...] = (
    "practice_comparators",
    "organisation_comparators",
    "national_deciles",
    "organisation_deciles",
    "funnel_curves",
    "comparators",
    "practices",
    "presentation_breakdown",
    "opioid_presentations",
    "unresolved_presentations",
    "latest_practice_comparators",
    "latest_practice_wide",
    "latest_organisation_wide",
    "headline_comparators",
    "national_deciles_wide",
    "practice_vs_national_deciles",
    "documents",
)

_DICTIONARY_INTRO = """\
# Data dictionary: the published extract

`published/opioid_comparators.duckdb` (and the Parquet and CSV copies of its tables beside
it) holds monthly opioid prescribing comparators for every GP practice in England, with
their statistics, the same comparators for PCNs, sub-ICB locations, ICBs, regions and
England, and the products behind them. Open it read-only:

```sh
duckdb -readonly data/published/opioid_comparators.duckdb
```

This page is generated from the comments stored in the extract itself (`COMMENT ON`, see
`sql/publish/comments.sql`), so `DESCRIBE`, `duckdb_columns()` and BI tools show the same
text. Regenerate it after changing a comment:

```sh
.venv/bin/python -m pipelines.export dictionary data/published/opioid_comparators.duckdb \\
  > docs/data-dictionary.md
```

## Conventions

- **A row** of the comparator tables is one organisation (or practice), one month and one
  *comparator key*: `comparator_id`, `variant` (`standard`, or the high-dose threshold
  `90mg` / `120mg`), `denominator_type` (`patients`, `adults` or `long_acting_items`) and
  `period` (`1m`, `3m`, `12m`).
- **Months** are the first day of the dispensing month. For `3m` and `12m` rows the month is
  the last month of the window.
- **Units**: `value` is `scale x numerator / denominator` - per 1,000 registered people for
  rates (`kind = 'rate'`, `scale = 1000`), percent of items for shares
  (`kind = 'proportion'`, `scale = 100`); each comparator's units are in `comparators.units`.
  Rolling and organisation values are sums of numerators over sums of denominators, never
  averages of rates.
- **Eligible practices** have a value and a list size at or above the minimum (1,000 by
  default). Only they are ranked, put in the deciles and used for the national rate and the
  funnel limits; smaller practices keep their values and are flagged `small_practice`.
- **Nulls** mean "not available", never zero: a value is null when its denominator is zero
  or missing or its window incomplete; statistics are null where they are not defined (not
  eligible, too few months for SPC, no value a year earlier). No column holds NaN or
  infinity.
- The `latest_*_wide` relations are tables built with `PIVOT` from the data (DuckDB cannot
  keep a data-driven `PIVOT` in a view); the extract never changes once published, so they
  always agree with the long tables. Their per-comparator columns follow the headline
  variant and denominator in `headline_comparators`.
"""


def data_dictionary_markdown(con: duckdb.DuckDBPyConnection) -> str:
    """The data dictionary (``docs/data-dictionary.md``) from the extract's comments.

    One section per table and view: its comment says what a row is; one table row per
    column with its type and comment (units and how nulls arise). A missing comment is
    shown as such rather than skipped, so a gap is visible in review.
    """
    relations = query_frame(con, "export/dictionary_relations")
    columns = query_frame(con, "export/dictionary_columns")
    order = {name: i for i, name in enumerate(DICTIONARY_ORDER)}
    listed = sorted(
        relations.iter_rows(named=True),
        key=lambda r: (order.get(r["name"], len(order)), r["name"]),
    )
    lines = [_DICTIONARY_INTRO, "## Contents", ""]
    for rel in listed:
        lines.append(f"- [`{rel['name']}`](#{rel['name']}) ({rel['type']})")
    for rel in listed:
        lines += ["", f"## {rel['name']}", "", f"*{rel['type'].capitalize()}.* "]
        lines[-1] += _markdown_text(rel["comment"]) or "**No comment.**"
        lines += ["", "| column | type | meaning |", "|---|---|---|"]
        for col in columns.filter(pl.col("name") == rel["name"]).iter_rows(named=True):
            meaning = _markdown_text(col["comment"]) or "**No comment.**"
            lines.append(f"| `{col['column_name']}` | {col['data_type']} | {meaning} |")
    return "\n".join(lines) + "\n"


def _markdown_text(text: str | None) -> str:
    """A comment made safe for a markdown table cell."""
    if not text:
        return ""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


#: (column suffix, what it holds, when it is null, whether it is in the comparator's units)
_PRACTICE_WIDE_MEASURES: tuple[tuple[str, str, str, bool], ...] = (
    ("1m", "value for the latest month", "null when the denominator is missing or 0", True),
    (
        "12m",
        "value over the 12 months to the latest month (sum over sum)",
        "null when a month is missing",
        True,
    ),
    (
        "rank_12m",
        "percentile rank (0-100) of the 12-month value among eligible practices",
        "null for small practices and when the 12-month value is null",
        False,
    ),
    (
        "flag_12m",
        "funnel flag of the 12-month value against the over-dispersion adjusted 99.8% "
        "limits (high, low or within)",
        "null when not eligible",
        False,
    ),
    (
        "spc",
        "SPC signal of the latest month in the monthly series (improvement, concern, "
        "neither, common_cause)",
        "null with fewer than 12 monthly values",
        False,
    ),
)
_ORGANISATION_WIDE_MEASURES: tuple[tuple[str, str, str, bool], ...] = (
    ("1m", "value for the latest month", "", True),
    (
        "12m",
        "value over the 12 months to the latest month (sum over sum)",
        "null when a month is missing",
        True,
    ),
    (
        "rank_12m",
        "percentile rank (0-100) of the 12-month value among organisations of the same level",
        "null for regions and England",
        False,
    ),
)
_DENOMINATOR_TEXT: dict[str, str] = {
    "patients": "all registered patients",
    "adults": "registered adults (18+)",
    "long_acting_items": "of regular long-acting items",
}


def wide_column_comment_texts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(table, column, comment) for the wide tables' per-comparator columns.

    Those columns come from a PIVOT over the comparators in the data, so their names are
    only known once the extract exists: the publication comments them from this list, so
    adding a comparator file needs no SQL edit.
    """
    out: list[tuple[str, str, str]] = []
    headline = query_frame(con, "export/headline_comparators")
    for table, measures in (
        ("latest_practice_wide", _PRACTICE_WIDE_MEASURES),
        ("latest_organisation_wide", _ORGANISATION_WIDE_MEASURES),
    ):
        for row in headline.iter_rows(named=True):
            denominator = _DENOMINATOR_TEXT.get(row["denominator_type"], row["denominator_type"])
            variant = "" if row["variant"] == "standard" else f", {row['variant']} threshold"
            what = f"{row['title']} - {denominator}{variant}"
            for suffix, text, nulls, in_units in measures:
                units = f", in {row['units']}" if in_units else ""
                when_null = f"; {nulls}" if nulls else ""
                column = f"{row['comparator_id']}_{suffix}"
                out.append((table, column, f"{what}: {text}{units}{when_null}."))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipelines.export dictionary EXTRACT``: print the data dictionary
    generated from a published extract's comments (docs/data-dictionary.md)."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.export")
    parser.add_argument("what", choices=("dictionary",))
    parser.add_argument("extract", type=Path)
    args = parser.parse_args(argv)
    con = duckdb.connect(str(args.extract), read_only=True)
    try:
        sys.stdout.write(data_dictionary_markdown(con))
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
