"""``opioids export`` on a real publication: an ICB of the sample in all three formats.

The extract is a 13-month refresh through Dagster against the sample portal (shared with
test_worked_queries.py), so the export's "last 12 months" has to leave the first month
out. Content is checked against the extract itself, and the spreadsheet is read back with
openpyxl: sheets, headers, number formats, frozen header, autofilter and no error cells.
"""

from __future__ import annotations

import os
import re
import warnings
import zipfile
from datetime import date, datetime
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import polars as pl
import pytest

from pipelines.export import EXPORT_COLUMNS, ExportError, export_organisation
from pipelines.partitions import months_between

pytestmark = pytest.mark.integration

LAST = date(2025, 12, 1)  # the outputs_extract fixture publishes 2024-12..2025-12
EXPORT_MONTHS = months_between(date(2025, 1, 1), LAST)
ICB = "QSF"  # the smallest ICB of the sample: the spreadsheet check reads every cell
KEY = ["month", "comparator_id", "variant", "denominator_type", "period"]


@pytest.fixture(scope="module")
def extract(outputs_extract) -> Path:
    return outputs_extract


@pytest.fixture(scope="module")
def exported(extract: Path, tmp_path_factory) -> dict[str, Path]:
    """The ICB exported once in each format."""
    out = tmp_path_factory.mktemp("export")
    return {
        fmt: export_organisation(extract, org=ICB, level="icb", fmt=fmt, out=out)
        for fmt in ("csv", "parquet", "xlsx")
    }


@pytest.fixture(scope="module")
def expected(extract: Path) -> pl.DataFrame:
    """The ICB's practice rows for the last 12 months, straight from the extract."""
    con = duckdb.connect(str(extract), read_only=True)
    try:
        return con.sql(
            "SELECT c.*, p.icb_code FROM practice_comparators AS c "
            "JOIN practices AS p USING (practice_code) "
            "WHERE p.icb_code = $icb AND c.month >= DATE '2025-01-01'",
            params={"icb": ICB},
        ).pl()
    finally:
        con.close()


# Numeric columns that may be blank for the first many thousand rows (so type inference
# over a sample would read them as text); inferring over every row is very slow.
NUMERIC = [
    "numerator",
    "denominator",
    "value",
    "percentile_rank",
    "funnel_lower_998",
    "funnel_upper_998",
    "od_lower_998",
    "od_upper_998",
    "national_rate",
    *(f"national_p{p}" for p in range(10, 100, 10)),
    "value_12m_ago",
    "change_abs",
    "change_rel",
    "org_value",
    "england_value",
]


def _read_csv(path: Path) -> pl.DataFrame:
    overrides = {name: pl.Float64 for name in NUMERIC} | {"spc_rules": pl.String}
    return pl.read_csv(path, try_parse_dates=True, schema_overrides=overrides)


@pytest.fixture(scope="module")
def csv(exported) -> pl.DataFrame:
    return _read_csv(exported["csv"])


def assert_same(left: pl.Series, right: pl.Series, name: str) -> None:
    """Equal nulls and values equal to 1e-9 (relative), compared column-wise in Polars."""
    assert left.len() == right.len(), name
    assert (left.is_null() == right.is_null()).all(), name
    both = pl.DataFrame({"a": left, "b": right}).drop_nulls()
    diff = both.select(
        ((pl.col("a") - pl.col("b")).abs() <= 1e-9 * pl.col("b").abs().clip(1.0, None)).all()
    )
    assert diff.item(), name


def test_files_are_named_after_the_organisation_and_month(exported) -> None:
    assert {p.name for p in exported.values()} == {
        f"opioid_comparators_icb_{ICB}_2025-12.{fmt}" for fmt in ("csv", "parquet", "xlsx")
    }
    # Written atomically: nothing but the three files is left behind.
    assert {p.name for p in next(iter(exported.values())).parent.iterdir()} == {
        p.name for p in exported.values()
    }


def test_csv_holds_every_practice_comparator_and_month_of_the_icb(csv, expected) -> None:
    assert csv.columns == list(EXPORT_COLUMNS)
    assert set(csv["practice_code"]) == set(expected["practice_code"])
    assert (csv["icb_code"] == ICB).all() and (csv["org_code"] == ICB).all()
    assert sorted(csv["month"].unique()) == EXPORT_MONTHS
    assert csv.height == expected.height
    assert csv.select(["practice_code", *KEY]).n_unique() == csv.height
    assert set(csv["comparator_id"]) == set(expected["comparator_id"])


def test_values_and_statistics_match_the_extract(csv, expected, extract) -> None:
    joined = csv.join(expected, on=["practice_code", *KEY], suffix="_extract")
    assert joined.height == csv.height
    for column in ("value", "numerator", "denominator", "percentile_rank", "od_upper_998"):
        assert_same(joined[column], joined[f"{column}_extract"], column)
    for column in ("funnel_flag", "od_funnel_flag", "spc_signal"):
        assert joined[column].to_list() == joined[f"{column}_extract"].to_list(), column
    con = duckdb.connect(str(extract), read_only=True)
    try:
        deciles = con.sql(
            "SELECT month, comparator_id, variant, denominator_type, period, value AS p50 "
            "FROM national_deciles WHERE percentile = 50"
        ).pl()
        own = con.sql(
            "SELECT month, comparator_id, variant, denominator_type, period, value AS icb "
            "FROM organisation_comparators WHERE org_level = 'icb' AND org_code = $icb",
            params={"icb": ICB},
        ).pl()
    finally:
        con.close()
    context = csv.join(deciles, on=KEY, how="left").join(own, on=KEY, how="left")
    assert_same(context["national_p50"], context["p50"], "national_p50")
    assert_same(context["org_value"], context["icb"], "org_value")
    assert (
        context.filter(pl.col("period") == "12m")["org_value"].null_count()
        < context.filter(pl.col("period") == "12m").height
    ), "12-month values exist for the last months"


def test_parquet_is_the_same_table(exported, csv) -> None:
    parquet = pl.read_parquet(exported["parquet"])
    assert parquet.columns == csv.columns and parquet.height == csv.height
    assert parquet.schema["month"] == pl.Date and parquet.schema["value"] == pl.Float64
    assert_same(parquet["value"], csv["value"], "value")
    assert parquet["practice_code"].equals(csv["practice_code"])


def test_xlsx_has_no_formulas_or_error_cells(exported) -> None:
    with zipfile.ZipFile(exported["xlsx"]) as book:
        assert book.testzip() is None
        for name in book.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = book.read(name).decode()
                assert "<f>" not in xml and 't="e"' not in xml, name
                assert not re.search(r"<v>(nan|inf|-inf)</v>", xml, re.I), name


def test_xlsx_sheets_headers_and_formats(exported, expected) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        book = openpyxl.load_workbook(exported["xlsx"], read_only=True)
    comparators = list(dict.fromkeys(expected.sort("comparator_id")["comparator_id"]))
    assert book.sheetnames[:5] == ["Summary", "Trend", "About", "Practices", f"{ICB} overall"]
    assert sorted(book.sheetnames[5:]) == sorted(comparators)
    for name in book.sheetnames:
        assert len(name) <= 31 and not set(name) & set("[]:*?/\\")

    about = [row[0] for row in book["About"].iter_rows(values_only=True) if row[0]]
    assert {"Organisation", "Months", "Source", "Caveats", "Columns"} <= set(about)
    months_text = dict((r[0], r[1]) for r in book["About"].iter_rows(values_only=True) if r[0])[
        "Months"
    ]
    assert months_text.startswith("January 2025 to December 2025")

    practices = list(book["Practices"].iter_rows(values_only=True))
    assert {r[0] for r in practices[1:]} == set(expected["practice_code"])

    for sheet in comparators:
        subset = expected.filter(pl.col("comparator_id") == sheet)
        header = [c.value for c in next(book[sheet].iter_rows(max_row=1))]
        assert header[:2] == ["practice_code", "practice_name"] and "value" in header
        assert header[-2:] == ["org_value", "england_value"]
        assert book[sheet].max_row == 1 + subset.height, sheet
        if sheet in ("opioid_ome_daily", "high_dose_share"):  # every cell of one of each kind
            _check_sheet_cells(book[sheet], header, subset)
    book.close()


def _check_sheet_cells(sheet, header: list[str], subset: pl.DataFrame) -> None:
    """Every row of a comparator sheet against the extract: values (shares as fractions),
    blanks where the extract has nulls, and the number format of each kind of column."""
    col = {name: i for i, name in enumerate(header)}
    share = subset["kind"][0] == "proportion"
    lookup = {
        (r["practice_code"], r["month"], r["variant"], r["denominator_type"], r["period"]): r
        for r in subset.iter_rows(named=True)
    }
    count = 0
    for cells in sheet.iter_rows(min_row=2):
        count += 1
        month = cells[col["month"]].value
        assert isinstance(month, datetime) and cells[col["month"]].number_format == "mmm yyyy"
        source = lookup[
            (
                cells[col["practice_code"]].value,
                month.date(),
                cells[col["variant"]].value,
                cells[col["denominator_type"]].value,
                cells[col["period"]].value,
            )
        ]
        value = cells[col["value"]]
        if source["value"] is None:
            assert value.value is None
        elif share:
            assert value.number_format == "0.0%"
            assert value.value == pytest.approx(source["value"] / 100)
        else:
            assert re.fullmatch(r"#,##0\.0{1,3}", value.number_format)
            assert value.value == pytest.approx(source["value"])
        if source["denominator"] is not None:
            assert cells[col["denominator"]].number_format == "#,##0"
        if source["percentile_rank"] is not None:
            assert cells[col["percentile_rank"]].number_format == "0.0"
            assert cells[col["percentile_rank"]].value == pytest.approx(source["percentile_rank"])
        if source["change_rel"] is not None:
            assert cells[col["change_rel"]].number_format == "0.0%"
    assert count == subset.height


def test_xlsx_layout_of_a_practice_export(extract, tmp_path) -> None:
    """Frozen header, autofilter, notes on headers and widths (a small export, read in
    full mode, which is where openpyxl exposes the sheet view)."""
    openpyxl = pytest.importorskip("openpyxl")
    path = export_organisation(extract, org="B81208", level="practice", fmt="xlsx", out=tmp_path)
    book = openpyxl.load_workbook(path)
    for name in book.sheetnames[3:]:  # after Summary, Trend and About
        sheet = book[name]
        header = [c.value for c in sheet[1]]
        last = sheet.cell(1, len(header)).column_letter
        assert sheet.freeze_panes in ("A2", "C2"), name
        assert sheet.auto_filter.ref == f"A1:{last}{max(sheet.max_row, 2)}", name
        assert all(c.comment is not None and c.comment.text for c in sheet[1]), name
        assert all(sheet.column_dimensions[c.column_letter].width >= 8 for c in sheet[1])
    assert book["opioid_items"].freeze_panes == "C2"


def test_other_levels_select_their_practices(extract, tmp_path) -> None:
    con = duckdb.connect(str(extract), read_only=True)
    try:
        pcn = con.execute(
            "SELECT pcn_code, count(*) FROM practices WHERE sub_icb_code = '97E' "
            "GROUP BY ALL ORDER BY 1 LIMIT 1"
        ).fetchall()[0][0]
        members = {
            level: {
                r[0]
                for r in con.execute(
                    f"SELECT practice_code FROM practices WHERE {column} = ?", [code]
                ).fetchall()
            }
            for level, column, code in (
                ("sub_icb", "sub_icb_code", "97E"),
                ("pcn", "pcn_code", pcn),
            )
        }
    finally:
        con.close()
    for level, code in (("sub_icb", "97e"), ("pcn", pcn)):
        path = export_organisation(extract, org=code, level=level, fmt="csv", out=tmp_path)
        assert set(_read_csv(path)["practice_code"]) == members[level]


def test_unknown_organisation_is_an_error_with_suggestions(extract, tmp_path) -> None:
    with pytest.raises(ExportError) as info:
        export_organisation(extract, org="QSX", level="icb", fmt="xlsx", out=tmp_path)
    message = str(info.value)
    assert "QSX" in message and "QSF, QSN, QSW" in message
    with pytest.raises(ExportError, match="QSN"):
        export_organisation(extract, org="Northshire", level="icb", fmt="csv", out=tmp_path)
    with pytest.raises(ExportError, match="97A"):
        export_organisation(extract, org="97", level="sub_icb", fmt="csv", out=tmp_path)
    assert not list(tmp_path.iterdir())


def test_cli_export_command(extract, tmp_path, capsys) -> None:
    """``opioids export`` writes the file, or reports the error in one line."""
    from pipelines.cli import main

    out = tmp_path / "area.csv"
    args = ["export", "--extract", str(extract), "--level", "icb", "--format", "csv"]
    assert main([*args, "--org", "QSW", "--out", str(out)]) == 0
    assert out.is_file() and f"Wrote {out}" in capsys.readouterr().out
    assert main([*args, "--org", "NOPE", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no ICB with code 'NOPE'" in err and "Traceback" not in err


def test_cli_export_refuses_a_fifo_as_out(extract, tmp_path, capsys) -> None:
    """A named pipe (or a link to one's own stdout) is not replaced by a regular file."""
    from pipelines.cli import main

    fifo = tmp_path / "area.csv"
    os.mkfifo(fifo)
    args = ["export", "--extract", str(extract), "--level", "icb", "--format", "csv"]
    assert main([*args, "--org", "QSW", "--out", str(fifo)]) == 2
    err = capsys.readouterr().err
    assert "named pipe" in err and "Traceback" not in err
    assert fifo.is_fifo()


# --------------------------------------------------------------------------------------
# The Summary and Trend sheets
# --------------------------------------------------------------------------------------


FRONT_SHEETS = ("Summary", "Trend", "About", f"{ICB} overall")
EMPTY_SHEET = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<sheetData/></worksheet>"
)


@pytest.fixture(scope="module")
def summary_book(exported, tmp_path_factory):
    """The workbook in openpyxl's full mode (styles, charts, print setup), with the
    comparator sheets emptied in a copy first: full mode reads every cell of every sheet
    (about 20 s of CPU here), and those sheets are read in test_xlsx_sheets_headers_and_formats.
    """
    import openpyxl

    front = _front_sheets_only(exported["xlsx"], tmp_path_factory.mktemp("summary") / "front.xlsx")
    return openpyxl.load_workbook(front)


def _front_sheets_only(source: Path, copy: Path) -> Path:
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    with zipfile.ZipFile(source) as book:
        sheets = ElementTree.fromstring(book.read("xl/workbook.xml")).iter(f"{main}sheet")
        ids = {s.get(f"{rel}id"): s.get("name") for s in sheets}
        rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        parts = {
            "xl/" + r.get("Target").lstrip("/").removeprefix("xl/"): ids[r.get("Id")]
            for r in rels
            if r.get("Id") in ids
        }
        emptied = {part for part, name in parts.items() if name not in FRONT_SHEETS}
        assert set(parts.values()) >= set(FRONT_SHEETS) and emptied
        with zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as out:
            for item in book.infolist():
                data = EMPTY_SHEET.encode() if item.filename in emptied else book.read(item)
                out.writestr(item, data)
    return copy


def test_summary_has_one_row_per_practice_with_the_headline_comparators(
    summary_book, extract
) -> None:
    sheet = summary_book["Summary"]
    assert summary_book.sheetnames[0] == "Summary" and summary_book.active.title == "Summary"
    con = duckdb.connect(str(extract), read_only=True)
    try:
        headline = con.sql(
            "SELECT comparator_id, title, kind FROM headline_comparators ORDER BY sort_order"
        ).fetchall()
        rows = con.sql(
            "SELECT c.practice_code, c.comparator_id, c.value, c.percentile_rank, "
            "c.od_funnel_flag, c.change_abs FROM practice_comparators AS c "
            "JOIN headline_comparators AS h USING (comparator_id, variant, denominator_type) "
            "JOIN practices AS p USING (practice_code) WHERE p.icb_code = $icb "
            "AND c.month = $last AND c.period = '12m'",
            params={"icb": ICB, "last": LAST},
        ).fetchall()
    finally:
        con.close()
    groups = [c.value for c in sheet[5] if c.value]
    assert len(groups) == len(headline)
    for group, (_, title, _) in zip(groups, headline, strict=True):
        assert group.startswith(f"{title} (")
    header = [c.value for c in sheet[6]]
    assert header[:5] == [
        "Practice code",
        "Practice",
        "PCN",
        "Registered patients",
        "Small practice (not ranked)",
    ]
    data = [[c.value for c in r] for r in sheet.iter_rows(min_row=7)]
    expected = {(r[0], r[1]): r for r in rows}
    assert sorted(r[0] for r in data) == sorted({r[0] for r in rows})
    for row in data:
        for k, (comparator, _, kind) in enumerate(headline):
            value, rank, decile, flag, _spc, change = row[5 + 6 * k : 11 + 6 * k]
            source = expected[(row[0], comparator)]
            factor = 0.01 if kind == "proportion" else 1
            assert value == pytest.approx(source[2] * factor if source[2] is not None else None)
            if source[3] is None:
                assert rank is None and decile is None
            else:
                assert rank == pytest.approx(source[3])
                assert decile == min(10, int(source[3] // 10) + 1)
            assert flag == source[4]
            assert change == (None if source[5] is None else pytest.approx(source[5] * factor))
        assert isinstance(row[4], bool)  # booleans are TRUE/FALSE cells, never text or 0/1
        assert isinstance(row[3], int)
        assert sheet.cell(7, 4).number_format == "#,##0"  # whole numbers without .0


def test_summary_is_coloured_by_decile_and_set_up_to_print(summary_book) -> None:
    sheet = summary_book["Summary"]
    rules = [
        (str(rng.sqref), rule.type) for rng in sheet.conditional_formatting for rule in rng.rules
    ]
    assert sum(1 for _, kind in rules if kind == "colorScale") == 8
    assert sum(1 for _, kind in rules if kind == "expression") == 16
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToWidth in (1, None) and sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == "$5:$6"
    assert sheet.freeze_panes == "C7"


def test_trend_sheet_has_native_charts_of_the_area_against_deciles(summary_book, extract) -> None:
    sheet = summary_book["Trend"]
    charts = sheet._charts
    assert len(charts) == 8
    series = charts[0].series
    assert len(series) == 10  # nine deciles and the organisation
    con = duckdb.connect(str(extract), read_only=True)
    try:
        values = [
            r[0]
            for r in con.sql(
                "SELECT value FROM organisation_comparators WHERE org_level = 'icb' "
                "AND org_code = $icb AND comparator_id = 'opioid_items' AND variant = 'standard' "
                "AND denominator_type = 'patients' AND period = '1m' ORDER BY month",
                params={"icb": ICB},
            ).fetchall()
        ]
    finally:
        con.close()
    ref = series[-1].val.numRef.f  # the organisation's series, e.g. 'Trend'!$B$5:$B$17
    cells = sheet[ref.split("!")[1].replace("$", "")]
    assert [c[0].value for c in cells] == pytest.approx(values)


def test_about_rows_are_tall_enough_for_their_wrapped_text(summary_book) -> None:
    about = summary_book["About"]
    for row in about.iter_rows(min_row=3):
        label, text = row[0].value, row[1].value
        if isinstance(text, str) and len(text) > 130:
            height = about.row_dimensions[row[0].row].height
            assert height and height >= 15 * (len(text) // 120), label


def test_whole_numerators_have_no_decimal_places(summary_book) -> None:
    sheet = summary_book[f"{ICB} overall"]
    header = [c.value for c in sheet[1]]
    col = header.index("numerator")
    for row in sheet.iter_rows(min_row=2, max_row=200):
        cell = row[col]
        if isinstance(cell.value, int | float) and float(cell.value).is_integer():
            assert cell.number_format == "#,##0", cell.coordinate
