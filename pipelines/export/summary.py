"""The first sheets of the spreadsheet: a printable Summary and the Trend chart.

**Summary**: one row per practice, the latest month, each headline comparator over 12
months (value, percentile rank, national decile, adjusted funnel flag, SPC signal,
change on a year earlier), coloured by decile, set up to print on landscape pages one
page wide with the header rows repeated. **Trend**: the organisation's monthly value of
each headline comparator against the national practice deciles, as native Excel line
charts over the data beside them (so they stay live if someone edits or filters).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from pipelines.export.columns import organisation_title

SUMMARY_FIELDS = (
    ("value", "Value (12 months)"),
    ("percentile_rank", "Percentile rank"),
    ("decile", "National decile"),
    ("od_funnel_flag", "Funnel flag (adjusted)"),
    ("spc_signal", "SPC signal (monthly)"),
    ("change_abs", "Change on a year"),
)
PRACTICE_FIELDS = (
    ("practice_code", "Practice code", 10),
    ("practice_name", "Practice", 34),
    ("pcn_name", "PCN", 26),
    ("latest_patients", "Registered patients", 11),
    ("small_practice", "Small practice (not ranked)", 10),
)
HEADER_ROWS = (4, 5)  # the comparator titles and the column names, repeated on every page
DECILES = [f"p{p}" for p in range(10, 100, 10)]
# Decile colours: blue (low) through white to orange (high), told apart with colour-blindness.
LOW, MID, HIGH = "#9DC3E6", "#FFFFFF", "#F4B183"
EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's 1900 date system


def summary_sheets(code: str) -> list[tuple[str, str]]:
    """The About sheet's lines for the Summary and Trend sheets of ``code``'s workbook."""
    return [
        ("Summary", "One row per practice, latest month, the headline comparators."),
        ("Trend", f"{code}'s monthly values against the national deciles, charted."),
    ]


def _number_format(kind: str, field: str) -> tuple[str, float]:
    if field in ("percentile_rank",):
        return "0", 1.0
    if field == "decile":
        return "0", 1.0
    if kind == "proportion":
        return "0.0%", 0.01
    return "#,##0.0", 1.0


def write_summary(workbook: Any, formats: Any, data: Any) -> None:
    """The Summary sheet (the workbook's first sheet)."""
    frame: pl.DataFrame = data.summary
    sheet = workbook.add_worksheet("Summary")
    org = data.organisation
    comparators = (
        frame.select("comparator_id", "title", "units", "kind", "sort_order")
        .unique("comparator_id")
        .sort("sort_order", "comparator_id")
        .rows(named=True)
    )
    month = frame.get_column("month").max() if frame.height else None
    title = organisation_title(org.level, org.code, org.name)
    sheet.write_string(0, 0, f"Summary: {title}", formats.title)
    notes = [
        (f"Latest month {month:%B %Y}. " if month else "No practice values. ")
        + "Each headline comparator over the 12 months to that month (per 1,000 registered "
        "patients, or percent of long-acting items; high dose at 90 mg OME a day).",
        "Percentile rank and national decile (10 = highest) are among England's eligible "
        "practices; small practices are not ranked. Deciles 9-10 are shaded orange, 1-2 blue.",
        "Funnel flag: against the 99.8% limits adjusted for over-dispersion. SPC: the monthly "
        "series this month. Change: on the 12 months a year earlier (blank until two years).",
    ]
    for i, note in enumerate(notes, start=1):
        sheet.write_string(i, 0, note)
    group = workbook.add_format(
        {
            "bold": True,
            "align": "center_across",
            "valign": "vcenter",
            "text_wrap": True,
            "bg_color": "#DCE6F1",
            "border": 1,
        }
    )
    header = workbook.add_format(
        {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DCE6F1", "bottom": 1}
    )
    top, names = HEADER_ROWS
    first = len(PRACTICE_FIELDS)
    for c, (_, _, width) in enumerate(PRACTICE_FIELDS):
        sheet.set_column(c, c, width)
        sheet.write_blank(top, c, None, header)
    for k, comp in enumerate(comparators):
        start = first + k * len(SUMMARY_FIELDS)
        sheet.write_string(top, start, f"{comp['title']} ({comp['units']})", group)
        for j in range(1, len(SUMMARY_FIELDS)):
            sheet.write_blank(top, start + j, None, group)
        for j in range(len(SUMMARY_FIELDS)):
            sheet.set_column(start + j, start + j, 11 if j < 3 else 13)
    sheet.set_row(top, 45)
    for c, (_, label, _) in enumerate(PRACTICE_FIELDS):
        sheet.write_string(names, c, label, header)
    for k in range(len(comparators)):
        start = first + k * len(SUMMARY_FIELDS)
        for j, (_, label) in enumerate(SUMMARY_FIELDS):
            sheet.write_string(names, start + j, label, header)
    sheet.set_row(names, 30)

    cell_formats: dict[str, Any] = {}

    def fmt(pattern: str) -> Any:
        if pattern not in cell_formats:
            cell_formats[pattern] = workbook.add_format({"num_format": pattern, "border": 0})
        return cell_formats[pattern]

    r = names
    by_practice = frame.partition_by("practice_code", maintain_order=True, as_dict=False)
    for rows in by_practice:
        r += 1
        head = rows.row(0, named=True)
        for c, (field, _, _) in enumerate(PRACTICE_FIELDS):
            value = head[field]
            if value is None:
                continue
            if isinstance(value, bool):
                sheet.write_boolean(r, c, value)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value, fmt("#,##0"))
            else:
                sheet.write_string(r, c, str(value))
        values = {row["comparator_id"]: row for row in rows.iter_rows(named=True)}
        for k, comp in enumerate(comparators):
            row = values.get(comp["comparator_id"])
            if row is None:
                continue
            start = first + k * len(SUMMARY_FIELDS)
            for j, (field, _) in enumerate(SUMMARY_FIELDS):
                value = row[field]
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(r, start + j, value.replace("_", " "))
                else:
                    pattern, factor = _number_format(comp["kind"], field)
                    sheet.write_number(r, start + j, float(value) * factor, fmt(pattern))
    last = max(r, names + 1)
    for k in range(len(comparators)):
        column = first + k * len(SUMMARY_FIELDS) + 2  # the decile
        ref = f"${_col(column)}{names + 2}"
        for test, colour in ((">=9", HIGH), ("<=2", LOW)):
            sheet.conditional_format(
                names + 1,
                column - 2,
                last,
                column - 1,
                {
                    "type": "formula",
                    "criteria": f"=AND(ISNUMBER({ref}),{ref}{test})",
                    "format": workbook.add_format({"bg_color": colour}),
                },
            )
        sheet.conditional_format(
            names + 1,
            column,
            last,
            column,
            {
                "type": "3_color_scale",
                "min_type": "num",
                "min_value": 1,
                "min_color": LOW,
                "mid_type": "num",
                "mid_value": 5.5,
                "mid_color": MID,
                "max_type": "num",
                "max_value": 10,
                "max_color": HIGH,
            },
        )
    sheet.freeze_panes(names + 1, 2)
    sheet.autofilter(names, 0, last, first + len(comparators) * len(SUMMARY_FIELDS) - 1)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)  # one page wide, as many tall as needed
    sheet.repeat_rows(top, names)
    sheet.repeat_columns(0, 1)
    sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    sheet.set_header(f"&L{title}&R&D")
    sheet.set_footer("&LOpioid prescribing comparators&RPage &P of &N")
    sheet.activate()


def _col(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def write_trend(workbook: Any, formats: Any, data: Any) -> None:
    """The Trend sheet: per headline comparator a block of monthly data and a line chart
    of the organisation against the national deciles."""
    frame: pl.DataFrame = data.trend
    sheet = workbook.add_worksheet("Trend")
    org = data.organisation
    date_format = workbook.add_format({"num_format": "mmm yyyy"})
    header = workbook.add_format({"bold": True, "bg_color": "#DCE6F1", "bottom": 1})
    sheet.write_string(
        0,
        0,
        f"{org.code}: monthly values against the national practice deciles (10th to 90th "
        "percentile; the median solid). Data beside each chart.",
        formats.title,
    )
    row = 2
    for block in frame.partition_by("comparator_id", maintain_order=True, as_dict=False):
        first = block.row(0, named=True)
        factor = 0.01 if first["kind"] == "proportion" else 1.0
        number = workbook.add_format({"num_format": "0.0%" if factor != 1.0 else "#,##0.00"})
        sheet.write_string(row, 0, f"{first['title']} ({first['units']})", formats.label)
        columns = ["month", "value", *DECILES]
        labels = ["Month", org.code, *[f"{p[1:]}th percentile" for p in DECILES]]
        labels[2 + 4] = "National median"
        for c, label in enumerate(labels):
            sheet.write_string(row + 1, c, label, header)
        for i, values in enumerate(block.select(columns).iter_rows(), start=row + 2):
            # The month as Excel's day number (what write_datetime would store, at a
            # fraction of its cost: a workbook per organisation adds up).
            sheet.write_number(i, 0, (values[0] - EXCEL_EPOCH).days, date_format)
            for c, value in enumerate(values[1:], start=1):
                if value is not None:
                    sheet.write_number(i, c, float(value) * factor, number)
        end = row + 1 + block.height
        chart = workbook.add_chart({"type": "line"})
        for c in range(2, 11):
            median = c == 6
            chart.add_series(
                {
                    "name": ["Trend", row + 1, c],
                    "categories": ["Trend", row + 2, 0, end, 0],
                    "values": ["Trend", row + 2, c, end, c],
                    "line": {
                        "color": "#003087" if median else "#005EB8",
                        "width": 2 if median else 0.75,
                        "dash_type": "solid" if median else "dash",
                    },
                }
            )
        chart.add_series(
            {
                "name": ["Trend", row + 1, 1],
                "categories": ["Trend", row + 2, 0, end, 0],
                "values": ["Trend", row + 2, 1, end, 1],
                "line": {"color": "#DA291C", "width": 2.5},
                "marker": {
                    "type": "circle",
                    "size": 5,
                    "fill": {"color": "#DA291C"},
                    "border": {"color": "#DA291C"},
                },
            }
        )
        chart.set_title({"name": first["title"], "name_font": {"size": 12}})
        chart.set_y_axis({"name": first["units"], "name_font": {"size": 9}})
        chart.set_x_axis({"date_axis": True, "num_format": "mmm yy"})
        chart.set_legend({"position": "bottom", "delete_series": [1, 2, 3, 5, 6, 7, 8]})
        chart.set_size({"width": 620, "height": 300})
        sheet.insert_chart(row, 12, chart)
        row = max(end, row + 15) + 3
    sheet.set_column(0, 0, 11)
    sheet.set_column(1, 10, 10)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
