"""Documentation generated from the extract itself.

:func:`data_dictionary_markdown` writes ``docs/data-dictionary.md`` from the extract's own
``COMMENT ON`` text, and :func:`wide_column_comment_texts` gives the comments the
publication puts on the wide tables' per-comparator columns, so the documentation comes
from the one place it is written.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.warehouse import query_frame

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
England, and the products behind them. It is written in DuckDB's v1.0.0 storage format,
so any DuckDB from 1.0 on opens it; open it read-only with the command line installed in
the project environment:

```sh
.venv/bin/duckdb -readonly data/published/opioid_comparators.duckdb
```

This page is generated from the comments stored in the extract itself (`COMMENT ON`, see
`sql/publish/comments.sql`), so `duckdb_columns()` (column comments), `duckdb_tables()` and
`duckdb_views()` (table and view comments) and BI tools show the same text; `DESCRIBE`
shows names and types only. Regenerate it after changing a comment:

```sh
.venv/bin/opioids data-dictionary > docs/data-dictionary.md
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
- **CSV files** (`published/files/csv/` and `opioids export --format csv`): a text cell a
  spreadsheet would run as a formula (one starting `=`, `+`, `-`, `@`, a tab or a carriage
  return, as a practice or PCN name might) is written with a leading apostrophe (`'=...`),
  which spreadsheets show as text. Numbers and dates are unchanged. The extract, the Parquet
  files and the xlsx export hold the text exactly as published (the xlsx stores strings,
  never formulas); strip one leading `'` from such a cell to get the original.
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
