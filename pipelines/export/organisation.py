"""Reading one organisation's rows from the published extract and writing them out."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.csv_safety import safe_for_spreadsheets
from pipelines.export.columns import (
    EXPORT_MONTHS,
    FORMATS,
    LEVEL_LABELS,
    LEVELS,
    REQUIRED_RELATIONS,
)
from pipelines.files import UnsafeTarget, atomic_write
from pipelines.warehouse import query_frame


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
    summary: pl.DataFrame | None = None  # the Summary sheet's rows (latest month, headline)
    trend: pl.DataFrame | None = None  # the organisation's monthly headline values and deciles


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
    from pipelines.export.xlsx import write_xlsx

    writer: Callable[[ExportData, Path], None] = {
        "csv": _write_csv,
        "parquet": _write_parquet,
        "xlsx": write_xlsx,
    }[fmt]
    try:
        atomic_write(target, lambda tmp: writer(data, tmp))
    except UnsafeTarget as exc:
        raise ExportError(f"--out: {exc}") from None
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
        summary = trend = None
        if {"headline_comparators", "national_deciles_wide"} <= present:
            org_params = {"level": level, "org": organisation.code}
            summary = query_frame(
                con, "export/summary", {"levels": [level], "org": organisation.code}
            )
            summary = finite(summary.drop("org_level", "org_code"))
            trend = finite(query_frame(con, "export/summary_trend", org_params))
    finally:
        con.close()
    return ExportData(
        organisation=organisation,
        months=months,
        rows=finite(rows),
        practices=practices,
        organisation_rows=finite(own),
        comparators=comparators,
        extract=extract,
        summary=summary,
        trend=trend,
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


def finite(frame: pl.DataFrame) -> pl.DataFrame:
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


def _write_csv(data: ExportData, path: Path) -> None:
    safe_for_spreadsheets(data.rows).write_csv(path, null_value="", date_format="%Y-%m-%d")


def _write_parquet(data: ExportData, path: Path) -> None:
    data.rows.write_parquet(path, compression="zstd")
