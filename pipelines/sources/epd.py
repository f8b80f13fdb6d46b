"""English Prescribing Dataset: header layouts, the opioid query and the internal schema.

The EPD header changed around 2025-03 (and ``BNF_CHEMICAL_SUBSTANCE`` switched from code
to name), and the earlier dataset's files (2014-01 onwards) name the organisation between
region and sub-ICB location by its era: ``AREA_TEAM_*``, then ``STP_*``, then ``ICB_*``;
some of its months leave the chemical substance columns blank (the code is then derived
from the BNF code) and none has ``SNOMED_CODE``. Columns are therefore mapped by *name*,
from the header actually served, to one internal schema; a file that matches neither
layout fails with the missing names listed. docs/eras.md lists the eras.
Both fetch routes (portal SQL and bulk file) end in :func:`normalise`, so everything
downstream is identical whichever route fetched a month.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from pipelines.http import SourceError
from pipelines.warehouse import sql_body

OPIOID_SECTION_PREFIX = "0407"


class SchemaError(SourceError):
    """A source's columns or values do not fit the schema we rely on."""


# Internal name -> the source column that fills it, for each layout. Where older files used
# other names for the same thing (STP, area team), the first name present wins.
_COMMON: dict[str, tuple[str, ...]] = {
    "year_month": ("YEAR_MONTH",),
    "practice_code": ("PRACTICE_CODE",),
    "practice_name": ("PRACTICE_NAME",),
    "sub_icb_code": ("PCO_CODE",),
    "icb_code": ("ICB_CODE", "STP_CODE", "AREA_TEAM_CODE"),
    "region_code": ("REGIONAL_OFFICE_CODE",),
    "items": ("ITEMS",),
    "total_quantity": ("TOTAL_QUANTITY",),
    "quantity": ("QUANTITY",),
    "nic": ("NIC",),
    "actual_cost": ("ACTUAL_COST",),
}
_LAYOUT_SPECIFIC: dict[str, dict[str, tuple[str, ...]]] = {
    "legacy": {
        "chemical_code": ("BNF_CHEMICAL_SUBSTANCE",),
        "bnf_code": ("BNF_CODE",),
        "bnf_name": ("BNF_DESCRIPTION",),
    },
    "current": {
        "chemical_code": ("BNF_CHEMICAL_SUBSTANCE_CODE",),
        "bnf_code": ("BNF_PRESENTATION_CODE",),
        "bnf_name": ("BNF_PRESENTATION_NAME",),
    },
}
# Columns a full EPD file carries that the pipeline does not use but knows about; anything
# else is reported as unknown (accepted, so a new column does not stop a month).
_KNOWN_UNUSED = {
    "REGIONAL_OFFICE_NAME", "ICB_NAME", "STP_NAME", "AREA_TEAM_NAME", "PCO_NAME",
    "ADDRESS_1", "ADDRESS_2", "ADDRESS_3", "ADDRESS_4", "POSTCODE",
    "CHEMICAL_SUBSTANCE_BNF_DESCR", "BNF_CHAPTER_PLUS_CODE", "ADQUSAGE", "ADQ_USAGE",
    "UNIDENTIFIED", "SNOMED_CODE", "BNF_CHEMICAL_SUBSTANCE", "SOURCE_ROWS", "DISTINCT_ROWS",
}  # fmt: skip

_IDENTIFIER = re.compile(r"^[A-Z][A-Z0-9_]*$")
_TABLE = re.compile(r"^EPD(?:_SNOMED)?_\d{6}$")

# The staged Parquet schema: see docs/architecture.md. Order matters (files are compared).
STAGED_SCHEMA: dict[str, pl.DataType] = {
    "month": pl.Date(),
    "practice_code": pl.String(),
    "practice_name": pl.String(),
    "sub_icb_code": pl.String(),
    "icb_code": pl.String(),
    "region_code": pl.String(),
    "chemical_code": pl.String(),
    "bnf_code": pl.String(),
    "bnf_name": pl.String(),
    "items": pl.Int64(),
    "total_quantity": pl.Float64(),
    "max_quantity": pl.Float64(),
    "nic": pl.Float64(),
    "actual_cost": pl.Float64(),
    "source_rows": pl.Int64(),
    "duplicate_rows": pl.Int64(),
}


def staged_schema_fingerprint() -> str:
    """Identifies the staged format: a month staged under another format is fetched again
    rather than skipped as unchanged (the portal's publication may not have changed, but
    what we keep of it has)."""
    text = ",".join(f"{name}:{dtype}" for name, dtype in STAGED_SCHEMA.items())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Layout:
    """Which header a source uses, and the source column behind each internal name."""

    name: str
    columns: dict[str, str]
    unknown: tuple[str, ...]
    # The columns that, with practice and presentation, identify one source row: pack size,
    # and the SNOMED code where the dataset has one. Two rows with the same key are
    # duplicates that would double-count.
    row_key: tuple[str, ...] = ()

    def source(self, internal: str) -> str:
        return self.columns[internal]


@dataclass(frozen=True)
class FetchedMonth:
    """One month's staged opioid rows as a route fetched them, with how (for provenance)."""

    frame: pl.DataFrame
    layout: Layout
    route: str
    details: dict[str, Any]


def detect_layout(header: Sequence[str], *, where: str) -> Layout:
    """Map a header to the internal names, or fail listing exactly what is missing."""
    present = {h.strip().upper(): h for h in header}
    if "BNF_PRESENTATION_CODE" in present:
        name = "current"
    elif "BNF_CODE" in present:
        name = "legacy"
    else:
        raise SchemaError(
            f"{where}: header matches neither EPD layout (no BNF_CODE or "
            f"BNF_PRESENTATION_CODE column); columns were: {', '.join(header)}"
        )
    wanted = {**_COMMON, **_LAYOUT_SPECIFIC[name]}
    mapping: dict[str, str] = {}
    missing: list[str] = []
    for internal, candidates in wanted.items():
        hit = next((present[c] for c in candidates if c in present), None)
        if hit is None:
            missing.append(" or ".join(candidates))
        else:
            mapping[internal] = hit
    if missing:
        raise SchemaError(
            f"{where}: {name} EPD layout is missing column(s) {', '.join(missing)}; "
            f"columns were: {', '.join(header)}"
        )
    used = {c.upper() for c in mapping.values()}
    known = used | _KNOWN_UNUSED | {c for cands in wanted.values() for c in cands}
    unknown = tuple(h for h in header if h.strip().upper() not in known)
    row_key = tuple(present[c] for c in ("SNOMED_CODE", "QUANTITY") if c in present)
    return Layout(name=name, columns=mapping, unknown=unknown, row_key=row_key)


def portal_query(layout: Layout, table: str) -> str:
    """The server-side query for one month's opioid rows, from ``sql/portal/``."""
    if not _TABLE.match(table):
        raise ValueError(f"not an EPD resource name: {table!r}")
    for column in (*layout.columns.values(), *layout.row_key):
        if not _IDENTIFIER.match(column):
            raise SchemaError(f"{table}: refusing to query unexpected column name {column!r}")
    # One text key per source row, built from the validated identifiers only.
    parts = [f"CAST({c} AS STRING)" for c in layout.row_key] or ["''"]
    row_key = parts[0] if len(parts) == 1 else "CONCAT(" + ", '|', ".join(parts) + ")"
    return (
        sql_body("portal/epd_opioid_rows")
        .format(table=table, row_key=row_key, **layout.columns)
        .strip()
    )


def parse_year_month(values: pl.Expr) -> pl.Expr:
    """``202401`` (legacy integer, sometimes ``202401.0``) or ``2025-03`` (current text)."""
    text = values.cast(pl.String).str.strip_chars().str.replace(r"\.0+$", "")
    digits = text.str.replace_all("-", "")
    return (digits + "01").str.strptime(pl.Date, "%Y%m%d", strict=False)


def normalise(raw: pl.DataFrame, layout: Layout, month: date, *, where: str) -> pl.DataFrame:
    """Rename, type-check and aggregate raw EPD rows into the staged schema.

    Input may be raw file rows (several per practice and presentation) or the portal's
    pre-aggregated rows; aggregating again is harmless and makes both routes identical.
    Values that cannot be typed fail here, naming the column, a few offending values and
    where they came from. Rules about typed values (items at least 1, quantities not
    negative, the right month) are the epd_opioid_rows expectation suite's, so they show
    as asset checks.
    """
    if raw.height == 0:
        raise SchemaError(f"{where}: no opioid rows at all for {month:%Y-%m} (empty month)")
    cols = layout.columns
    if "SOURCE_ROWS" in raw.columns:  # pre-aggregated by the portal query (or the bulk SQL)
        counts = [
            pl.col("SOURCE_ROWS").cast(pl.String).alias("source_rows"),
            pl.col("DISTINCT_ROWS").cast(pl.String).alias("distinct_rows")
            if "DISTINCT_ROWS" in raw.columns
            else pl.col("SOURCE_ROWS").cast(pl.String).alias("distinct_rows"),
        ]
    else:  # raw file rows: one each; a repeated row key within a presentation is a duplicate
        key = [
            pl.col(cols["practice_code"]),
            pl.col(cols["bnf_code"]),
            *map(pl.col, layout.row_key),
        ]
        first = pl.int_range(pl.len()).over(key) == 0
        counts = [
            pl.lit("1").alias("source_rows"),
            pl.when(first).then(pl.lit("1")).otherwise(pl.lit("0")).alias("distinct_rows"),
        ]
    text = raw.select(
        [pl.col(cols[k]).cast(pl.String).str.strip_chars().alias(k) for k in cols] + counts
    )
    typed = text.with_columns(
        parse_year_month(pl.col("year_month")).alias("month"),
        chemical_code_or_derived(),
        *[
            _numeric(k).alias(k)
            for k in (
                "items",
                "total_quantity",
                "quantity",
                "nic",
                "actual_cost",
                "source_rows",
                "distinct_rows",
            )  # fmt: skip
        ],
    )
    _reject_unparsed(text, typed, layout, where)
    fractional = typed.filter(pl.col("items") != pl.col("items").round())
    if fractional.height:
        sample = fractional.select("practice_code", "bnf_code", "items").head(3).rows()
        raise SchemaError(
            f"{where}: {fractional.height} row(s) with ITEMS not a whole number, e.g. {sample}"
        )
    staged = (
        typed.filter(pl.col("bnf_code").str.starts_with(OPIOID_SECTION_PREFIX))
        .group_by("month", "practice_code", "bnf_code")
        .agg(
            pl.col("practice_name").max(),
            pl.col("sub_icb_code").max(),
            pl.col("icb_code").max(),
            pl.col("region_code").max(),
            pl.col("chemical_code").max(),
            pl.col("bnf_name").max(),
            pl.col("items").sum(),
            pl.col("total_quantity").sum(),
            pl.col("quantity").max().alias("max_quantity"),
            pl.col("nic").sum(),
            pl.col("actual_cost").sum(),
            pl.col("source_rows").sum(),
            (pl.col("source_rows") - pl.col("distinct_rows")).sum().alias("duplicate_rows"),
        )
    )
    return staged.select([pl.col(c).cast(t) for c, t in STAGED_SCHEMA.items()]).sort(
        "practice_code", "bnf_code"
    )


def chemical_code_or_derived() -> pl.Expr:
    """The 9-character chemical code; where the file leaves it blank (as some months of the
    earlier dataset do), the first nine characters of the BNF code, which are the same."""
    given = pl.col("chemical_code")
    return (
        pl.when(given.is_null() | (given == ""))
        .then(pl.col("bnf_code").str.slice(0, 9))
        .otherwise(given)
        .alias("chemical_code")
    )


def _numeric(column: str) -> pl.Expr:
    return pl.col(column).str.replace_all(",", "").cast(pl.Float64, strict=False)


def _reject_unparsed(text: pl.DataFrame, typed: pl.DataFrame, layout: Layout, where: str) -> None:
    """A value that was present but did not parse is an error, never a silent null."""
    measures = (
        "items", "total_quantity", "quantity", "nic", "actual_cost", "source_rows", "distinct_rows",
    )  # fmt: skip
    checks = {"year_month": "month", **{c: c for c in measures}}
    for raw_col, typed_col in checks.items():
        source = layout.columns.get(raw_col, raw_col.upper())
        present = text.get_column(raw_col).is_not_null() & (text.get_column(raw_col) != "")
        unparsed = present & typed.get_column(typed_col).is_null()
        if unparsed.any():
            examples = text.filter(unparsed).get_column(raw_col).unique().head(5).to_list()
            raise SchemaError(
                f"{where}: {int(unparsed.sum())} row(s) with a non-numeric {source} value, "
                f"e.g. {examples}"
            )
        if raw_col in ("items", "total_quantity") and (~present).any():
            raise SchemaError(f"{where}: {int((~present).sum())} row(s) with {source} missing")
