"""The organisation export on a small hand-made extract: fast checks of the parts that do
not need the pipeline (organisation matching, file writing, spreadsheet rules).

The synthetic extract holds exactly the tables and columns the export reads, with awkward
values on purpose: a NaN and an infinite value, a share (percent) comparator, a practice
name that looks like a formula, a practice in another ICB and 14 months, so only the last
12 may be exported.
"""

from __future__ import annotations

import math
import warnings
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines import export
from pipelines.export import (
    EXPORT_COLUMNS,
    ExportError,
    export_organisation,
    sheet_name,
)
from tests.support import write_tables

MONTHS = [date(2024 + (10 + i) // 12, (10 + i) % 12 + 1, 1) for i in range(14)]  # 2024-11..2025-12
PRACTICES = [
    # code, name, pcn, sub-ICB, ICB
    ("A00001", '=HYPERLINK("http://127.0.0.1")', "U00001", "01A", "QAA"),
    ("A00002", "RIVERSIDE SURGERY", "U00001", "01A", "QAA"),
    ("A00003", "HILL VIEW PRACTICE", "U00002", "01B", "QAA"),
    ("B00001", "ELSEWHERE PRACTICE", "U00009", "02A", "QBB"),
]
KEYS = [
    # comparator_id, variant, denominator_type, kind, scale, title, units
    ("opioid_items", "standard", "patients", "rate", 1000.0, "Opioid items", "items per 1,000"),
    ("high_dose_share", "90mg", "long_acting_items", "proportion", 100.0, "Share", "percent"),
]
PERIODS = ("1m", "3m", "12m")


def _value(practice: int, month: int, key: int, period: str) -> float:
    """A deterministic value; one NaN and one infinity among them on purpose."""
    if (practice, month, key, period) == (1, 13, 0, "1m"):
        return math.nan
    if (practice, month, key, period) == (2, 13, 0, "1m"):
        return math.inf
    base = 20.0 + practice * 3 + month * 0.5 if key == 0 else 10.0 + practice + month * 0.25
    return base + {"1m": 0.0, "3m": 0.1, "12m": 0.2}[period]


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synthetic") / "extract.duckdb"
    practices = pl.DataFrame(
        {
            "practice_code": [p[0] for p in PRACTICES],
            "practice_name": [p[1] for p in PRACTICES],
            "postcode": ["ZZ1 1ZZ"] * len(PRACTICES),
            "pcn_code": [p[2] for p in PRACTICES],
            "pcn_name": [f"{p[2]} PCN" for p in PRACTICES],
            "sub_icb_code": [p[3] for p in PRACTICES],
            "sub_icb_name": [f"Sub-ICB {p[3]}" for p in PRACTICES],
            "icb_code": [p[4] for p in PRACTICES],
            "icb_name": [f"NHS {p[4]} Integrated Care Board" for p in PRACTICES],
            "status_code": ["A"] * len(PRACTICES),
            "open_date": [date(2000, 1, 1)] * len(PRACTICES),
            "close_date": [None] * len(PRACTICES),
            "latest_patients": [5000, 800, 12000, 7000],
            "latest_adults": [4000, 600, 9000, 5000],
            "latest_list_size_month": [MONTHS[-1]] * len(PRACTICES),
        },
        schema_overrides={"close_date": pl.Date},
    )
    comparators = pl.DataFrame(
        {
            "comparator_id": [k[0] for k in KEYS],
            "variant": [k[1] for k in KEYS],
            "denominator_type": [k[2] for k in KEYS],
            "title": [k[5] for k in KEYS],
            "units": [k[6] for k in KEYS],
            "direction": ["lower_is_better"] * len(KEYS),
            "kind": [k[3] for k in KEYS],
            "scale": [k[4] for k in KEYS],
            "high_dose_threshold_mg": [None, 90.0],
            "sort_order": [1, 2],
        }
    )
    rows = []
    for p, practice in enumerate(PRACTICES):
        for m, month in enumerate(MONTHS):
            for k, key in enumerate(KEYS):
                for period in PERIODS:
                    value = _value(p, m, k, period)
                    rows.append(
                        {
                            "practice_code": practice[0],
                            "month": month,
                            "comparator_id": key[0],
                            "variant": key[1],
                            "denominator_type": key[2],
                            "period": period,
                            "numerator": float(10 + p + m),
                            "denominator": 1000.0,
                            "value": value,
                            "list_size": 800 if p == 1 else 5000,
                            "small_practice": p == 1,
                            "percentile_rank": None if p == 1 else 50.0,
                            "funnel_flag": None if p == 1 else "within",
                            "od_funnel_flag": None if p == 1 else "within",
                            "funnel_lower_998": 1.0,
                            "funnel_upper_998": 99.0,
                            "od_lower_998": 0.5,
                            "od_upper_998": 99.5,
                            "national_rate": 30.0,
                            "spc_signal": "common_cause" if period == "1m" else None,
                            "spc_rules": "" if period == "1m" else None,
                            "value_12m_ago": None,
                            "change_abs": None,
                            "change_rel": None,
                        }
                    )
    practice_comparators = pl.DataFrame(rows, infer_schema_length=None)
    keys = practice_comparators.select(
        "month", "comparator_id", "variant", "denominator_type", "period"
    ).unique()
    deciles = keys.with_columns(
        [pl.lit(float(p)).alias(f"p{p}") for p in range(10, 100, 10)]
    ).with_columns(pl.lit(4).alias("n_practices"))
    organisations = pl.concat(
        [
            keys.with_columns(
                pl.lit(level).alias("org_level"),
                pl.lit(code).alias("org_code"),
                pl.lit(1.0).alias("numerator"),
                pl.lit(10.0).alias("denominator"),
                pl.lit(value).alias("value"),
                pl.lit(None, dtype=pl.Float64).alias("percentile_rank"),
                pl.lit(None, dtype=pl.Int64).alias("n_organisations"),
            )
            for level, code, value in (("icb", "QAA", 33.0), ("england", "ENG", 31.0))
        ]
    )
    return write_tables(
        path,
        {
            "practices": practices,
            "comparators": comparators,
            "practice_comparators": practice_comparators,
            "national_deciles_wide": deciles,
            "organisation_comparators": organisations,
        },
    )


def test_sheet_names_are_valid_and_unique() -> None:
    taken: set[str] = set()
    names = [
        sheet_name("a/b:c*d?e[f]g\\h", taken),
        sheet_name("x" * 40, taken),
        sheet_name("x" * 40, taken),
        sheet_name("'quoted'", taken),
        sheet_name("History", taken),
        sheet_name("", taken),
    ]
    assert names[0] == "a_b_c_d_e_f_g_h"
    assert all(len(n) <= 31 for n in names)
    assert len({n.lower() for n in names}) == len(names)
    assert not any(set(n) & set("[]:*?/\\") for n in names)
    assert names[3] == "quoted" and names[4] != "History"


def test_level_and_format_are_checked_before_the_extract(tmp_path: Path) -> None:
    missing = tmp_path / "missing.duckdb"
    with pytest.raises(ExportError, match="level"):
        export_organisation(missing, org="QAA", level="region", fmt="csv", out=tmp_path)
    with pytest.raises(ExportError, match="format"):
        export_organisation(missing, org="QAA", level="icb", fmt="json", out=tmp_path)
    with pytest.raises(ExportError, match="no published extract"):
        export_organisation(missing, org="QAA", level="icb", fmt="csv", out=tmp_path)


def test_an_extract_without_the_views_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.duckdb"
    duckdb.connect(str(old)).close()
    with pytest.raises(ExportError, match="older version"):
        export_organisation(old, org="QAA", level="icb", fmt="csv", out=tmp_path)


def test_unknown_codes_suggest_near_matches(extract: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError) as info:
        export_organisation(extract, org="QAB", level="icb", fmt="csv", out=tmp_path)
    assert "QAA" in str(info.value) and "Valid icb codes: QAA, QBB" in str(info.value)
    with pytest.raises(ExportError, match="U00001"):
        export_organisation(extract, org="U0001", level="pcn", fmt="csv", out=tmp_path)
    # A name typed instead of a code is matched on the name.
    with pytest.raises(ExportError, match="QBB"):
        export_organisation(extract, org="NHS QBB", level="icb", fmt="csv", out=tmp_path)
    assert not list(tmp_path.iterdir())


def test_csv_is_one_tidy_table_of_the_last_12_months(extract: Path, tmp_path: Path) -> None:
    written = export_organisation(extract, org="qaa", level="icb", fmt="csv", out=tmp_path)
    assert written.name == "opioid_comparators_icb_QAA_2025-12.csv"
    frame = pl.read_csv(written, try_parse_dates=True, infer_schema_length=None)
    assert frame.columns == list(EXPORT_COLUMNS)
    assert set(frame["practice_code"]) == {"A00001", "A00002", "A00003"}
    assert sorted(frame["month"].unique()) == MONTHS[-12:]
    assert frame.height == 3 * 12 * len(KEYS) * len(PERIODS)
    assert set(frame["org_value"].drop_nulls()) == {33.0}
    assert set(frame["england_value"].drop_nulls()) == {31.0}
    # NaN and infinity were written as blanks; a name that looks like a formula is made
    # inert with a leading apostrophe.
    last = frame.filter(
        (pl.col("month") == MONTHS[-1])
        & (pl.col("comparator_id") == "opioid_items")
        & (pl.col("period") == "1m")
    ).sort("practice_code")
    assert last["value"].to_list()[1:] == [None, None]
    assert last["practice_name"][0] == '\'=HYPERLINK("http://127.0.0.1")'


def test_parquet_matches_csv(extract: Path, tmp_path: Path) -> None:
    csv = export_organisation(extract, org="QAA", level="icb", fmt="csv", out=tmp_path / "a.csv")
    parquet = export_organisation(
        extract, org="QAA", level="icb", fmt="parquet", out=tmp_path / "sub" / "a.parquet"
    )
    left = pl.read_parquet(parquet)
    assert left.schema["month"] == pl.Date
    right = pl.read_csv(csv, try_parse_dates=True, infer_schema_length=None)
    assert left.height == right.height
    assert left["value"].to_list() == pytest.approx(right["value"].to_list(), nan_ok=True)


def test_pcn_and_practice_levels_select_their_practices(extract: Path, tmp_path: Path) -> None:
    pcn = pl.read_csv(
        export_organisation(extract, org="U00001", level="pcn", fmt="csv", out=tmp_path)
    )
    assert set(pcn["practice_code"]) == {"A00001", "A00002"}
    one = pl.read_csv(
        export_organisation(extract, org="A00003", level="practice", fmt="csv", out=tmp_path)
    )
    assert set(one["practice_code"]) == {"A00003"}
    # For a practice, the organisation's own value is the practice's value.
    assert one["org_value"].to_list() == pytest.approx(one["value"].to_list())


def test_a_failed_write_leaves_the_previous_file(
    extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "area.csv"
    target.write_text("previous export\n")

    def broken(data: export.ExportData, path: Path) -> None:
        path.write_text("half a fi")
        raise OSError("disk full")

    monkeypatch.setattr(export.organisation, "_write_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        export_organisation(extract, org="QAA", level="icb", fmt="csv", out=target)
    assert target.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["area.csv"]


def test_xlsx_cells_are_typed_formatted_and_never_errors(extract: Path, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    written = export_organisation(extract, org="QAA", level="icb", fmt="xlsx", out=tmp_path)
    with zipfile.ZipFile(written) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        xml = "".join(book.read(n).decode() for n in sheets)
    assert "<f>" not in xml and 't="e"' not in xml  # no formulas, no error cells
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # anything odd in the file fails the test
        workbook = openpyxl.load_workbook(written)
    assert workbook.sheetnames == [
        "About",
        "Practices",
        "QAA overall",
        "opioid_items",
        "high_dose_share",
    ]
    practices = workbook["Practices"]
    assert practices["B2"].value.startswith("=HYPERLINK") and practices["B2"].data_type == "s"

    rates = workbook["opioid_items"]
    header = [c.value for c in rates[1]]
    assert header[:2] == ["practice_code", "practice_name"]
    assert "comparator_id" not in header and "org_value" in header
    assert rates.freeze_panes == "C2"
    assert rates.auto_filter.ref == f"A1:{rates.cell(1, len(header)).column_letter}{rates.max_row}"
    assert all(cell.comment is not None for cell in rates[1])
    col = {name: i for i, name in enumerate(header)}
    first = [c for c in rates[2]]
    assert first[col["month"]].number_format == "mmm yyyy"
    assert first[col["denominator"]].number_format == "#,##0"
    assert first[col["value"]].number_format == "#,##0.0"
    assert first[col["percentile_rank"]].number_format == "0.0"
    assert rates.max_row == 1 + 3 * 12 * len(PERIODS)

    shares = workbook["high_dose_share"]
    header = [c.value for c in shares[1]]
    col = {name: i for i, name in enumerate(header)}
    cell = shares.cell(2, col["value"] + 1)
    assert cell.number_format == "0.0%"
    # Percent in the extract (13.25) is the fraction 0.1325 shown as 13.3%.
    assert cell.value == pytest.approx(_value(0, 2, 1, "1m") / 100)

    # The NaN and infinite values of the last month are blank cells, not errors.
    header = [c.value for c in rates[1]]
    col = {name: i for i, name in enumerate(header)}
    last_month = {
        row[col["practice_code"]].value: row[col["value"]].value
        for row in rates.iter_rows(min_row=2)
        if row[col["period"]].value == "1m" and row[col["month"]].value.date() == MONTHS[-1]
    }
    assert last_month["A00002"] is None and last_month["A00003"] is None
    assert last_month["A00001"] == pytest.approx(_value(0, 13, 0, "1m"))
    about = [c.value for c in workbook["About"]["A"] if c.value]
    assert {"Organisation", "Months", "Source", "Caveats", "Columns"} <= set(about)


def test_out_without_an_extension_is_a_directory(extract: Path, tmp_path: Path) -> None:
    written = export_organisation(
        extract, org="QAA", level=" ICB ", fmt="PARQUET", out=tmp_path / "exports"
    )
    assert written == tmp_path / "exports" / "opioid_comparators_icb_QAA_2025-12.parquet"
    assert written.is_file()
