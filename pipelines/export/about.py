"""What every workbook shares: its cell formats and its About sheet.

The About sheet says what the workbook holds, for whom and when, where the numbers come
from and how to read them. ``opioids export`` and the dashboard's per-organisation
workbooks write it with the same code; each passes its own first rows (organisation,
months, when made) and list of sheets, and the method notes below are common to both.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pipelines.export.columns import organisation_title

SOURCE_NOTE = (
    "NHSBSA English Prescribing Dataset (BNF section 4.7, by GP practice and month), "
    "NHS England 'Patients Registered at a GP Practice' (list sizes), NHS ODS "
    "(practices and their PCN, sub-ICB location, ICB and region). Open data under "
    "the Open Government Licence."
)
COUNTED_NOTE = (
    "Opioid analgesics in scope, mostly those taken by mouth or through the skin "
    "(injections, buccal, sublingual, nasal and rectal products - mostly palliative "
    "- are left out except in all_routes_ome_daily). Strength is weighed as oral "
    "morphine equivalent (OME)."
)
METHOD_NOTES: tuple[tuple[str, str], ...] = (
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
)

ABOUT_CHARS_PER_LINE = 120  # what column B (width 110) holds in Calibri 11
LINE_HEIGHT = 15.0


class Formats:
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


def open_workbook(path: Path, org: Any, subject: str) -> Any:
    """An xlsxwriter workbook at ``path`` for ``org`` (level, code). Its rows go to disk as
    they are written (xlsxwriter's constant-memory mode), so a large ICB's sheets stay
    out of memory, and its charts carry no cached copy of their cells: spreadsheets draw
    them from the cells on opening (checked in LibreOffice 7.4), and a workbook is quicker
    to write (a PCN's 43 ms against 60 ms in memory, ``docs/performance.md``). Names and
    codes are always text, never formulas, links or numbers."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    workbook.set_properties(
        {
            "title": f"Opioid prescribing comparators: {org.level} {org.code}",
            "subject": subject,
            "comments": "Open data: NHSBSA English Prescribing Dataset, NHS England, ODS",
        }
    )
    return workbook


def write_about(
    workbook: Any,
    formats: Formats,
    organisation: Any,
    rows: list[tuple[str, str]],
    sheets: list[tuple[str, str]],
    columns: Sequence[tuple[str, str]] = (),
) -> None:
    """The About sheet: a heading naming ``organisation`` (level, code, name), then
    ``rows`` (label, text), the workbook's ``sheets`` and, when given, its ``columns``."""
    sheet = workbook.add_worksheet("About")
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, 1, 110)
    org = organisation
    heading = organisation_title(org.level, org.code, org.name, bracketed=True)
    sheet.write_string(0, 0, f"Opioid prescribing comparators: {heading}", formats.title)
    r = _write_pairs(sheet, formats, 2, rows)
    sheet.write_string(r + 1, 0, "Sheets", formats.title)
    r = _write_pairs(sheet, formats, r + 2, sheets)
    if not columns:
        return
    sheet.write_string(r + 1, 0, "Columns", formats.title)
    sheet.write_string(r + 2, 0, "column", formats.header)
    sheet.write_string(r + 2, 1, "meaning", formats.header)
    _write_pairs(sheet, formats, r + 3, columns)


def _write_pairs(sheet: Any, formats: Formats, row: int, pairs: Iterable[tuple[str, str]]) -> int:
    """``pairs`` as label and wrapped text, one row each from ``row``; the next free row."""
    for label, text in pairs:
        sheet.write_string(row, 0, label, formats.label)
        sheet.write_string(row, 1, text, formats.wrap)
        _fit_height(sheet, row, text)
        row += 1
    return row


def _fit_height(sheet: Any, row: int, text: str) -> None:
    """An explicit height for a wrapped row: Excel grows rows to fit wrapped text when it
    opens a file, LibreOffice does not, and shows one line of each paragraph."""
    lines = max(1, math.ceil(len(text) / ABOUT_CHARS_PER_LINE))
    if lines > 1:
        sheet.set_row(row, LINE_HEIGHT * lines + 2)
