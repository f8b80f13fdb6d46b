"""The dashboard's per-organisation workbooks, on a small hand-made extract.

The extract holds exactly what the workbooks read: practices in two ICBs (two sub-ICB
locations in one), two headline comparators (a rate and a share in percent) over 26
months, values made by a formula so each expected cell is computed here independently,
unranked (small) practices, a month missing from one organisation's series.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from pipelines.dashboard import workbooks
from pipelines.dashboard.render import Renderer
from tests.support import write_tables

MONTHS = [date(2023 + (10 + i) // 12, (10 + i) % 12 + 1, 1) for i in range(26)]  # 2023-11..2025-12
LATEST = MONTHS[-1]
PRACTICES = [
    # code, name, pcn, sub-ICB, ICB, region, patients
    ("A00001", "NORTH SURGERY", "U00001", "01A", "QAA", "Y01", 5000),
    ("A00002", "SMALL SURGERY", "U00001", "01A", "QAA", "Y01", 800),
    ("A00003", "HILL VIEW PRACTICE", "U00002", "01B", "QAA", "Y01", 12000),
    ("B00001", "ELSEWHERE PRACTICE", "U00009", "02A", "QBB", "Y02", 7000),
]
HEADLINE = [
    # comparator_id, variant, denominator_type, title, units, kind, sort_order
    ("opioid_items", "standard", "patients", "Opioid items", "items per 1,000", "rate", 1),
    ("high_dose_share", "90mg", "long_acting_items", "High-dose share", "percent", "proportion", 2),
]
SIGNALS = ("common_cause", "concern", "improvement", None)
MISSING = ("icb", "QAA", MONTHS[-3])  # no organisation value that month


def value(p: int, k: int, period: str) -> float:
    return 10.0 + 7 * p + 3 * k + (0.5 if period == "12m" else 0.0)


def rank(p: int) -> float | None:
    """15, unranked (small), 75, 100 (the top rank: decile 10, not 11)."""
    return None if PRACTICES[p][6] < 1000 else min(15.0 + 30 * p, 100.0)


def org_value(level: str, code: str, k: int, month: date) -> float | None:
    if (level, code, month) == MISSING:
        return None
    return 100.0 + len(code) + k + MONTHS.index(month) / 4


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workbooks") / "extract.duckdb"
    practices = pl.DataFrame(
        {
            "practice_code": [p[0] for p in PRACTICES],
            "practice_name": [p[1] for p in PRACTICES],
            "pcn_code": [p[2] for p in PRACTICES],
            "pcn_name": [f"{p[2]} PCN" for p in PRACTICES],
            "sub_icb_code": [p[3] for p in PRACTICES],
            "icb_code": [p[4] for p in PRACTICES],
            "region_code": [p[5] for p in PRACTICES],
            "latest_patients": [p[6] for p in PRACTICES],
        }
    )
    headline = pl.DataFrame(
        HEADLINE,
        schema=["comparator_id", "variant", "denominator_type", "title", "units", "kind"]
        + ["sort_order"],
        orient="row",
    )
    rows = []
    for p, practice in enumerate(PRACTICES):
        for k, key in enumerate(HEADLINE):
            for period in ("1m", "12m"):
                r = rank(p)
                rows.append(
                    {
                        "practice_code": practice[0],
                        "month": LATEST,
                        "comparator_id": key[0],
                        "variant": key[1],
                        "denominator_type": key[2],
                        "period": period,
                        "value": value(p, k, period),
                        "small_practice": practice[6] < 1000,
                        "percentile_rank": r,
                        "od_funnel_flag": None if r is None else ("high" if p == 2 else "within"),
                        "spc_signal": SIGNALS[(p + k) % 4] if period == "1m" else None,
                        "change_abs": None if p == 3 else -1.5 * (p + 1),
                        "change_rel": None,
                    }
                )
    deciles = pl.DataFrame(
        [
            {
                "month": month,
                "comparator_id": key[0],
                "variant": key[1],
                "denominator_type": key[2],
                "period": "1m",
                **{f"p{p}": p + m / 10 for p in range(10, 100, 10)},
            }
            for m, month in enumerate(MONTHS)
            for key in HEADLINE
        ]
    )
    organisations = [("england", "ENG"), ("region", "Y01"), ("region", "Y02")]
    organisations += [("icb", "QAA"), ("icb", "QBB"), ("sub_icb", "01A"), ("sub_icb", "01B")]
    organisations += [("sub_icb", "02A"), ("pcn", "U00001"), ("pcn", "U00002"), ("pcn", "U00009")]
    own = pl.DataFrame(
        [
            {
                "org_level": level,
                "org_code": code,
                "month": month,
                "comparator_id": key[0],
                "variant": key[1],
                "denominator_type": key[2],
                "period": "1m",
                "value": org_value(level, code, k, month),
            }
            for level, code in organisations
            for month in MONTHS
            for k, key in enumerate(HEADLINE)
            if org_value(level, code, k, month) is not None
        ]
    )
    return write_tables(
        path,
        {
            "practices": practices,
            "headline_comparators": headline,
            "practice_comparators": pl.DataFrame(rows, infer_schema_length=None),
            "national_deciles_wide": deciles,
            "organisation_comparators": own,
        },
    )


@pytest.fixture(scope="module")
def rows(extract: Path) -> workbooks.WorkbookRows:
    con = duckdb.connect(str(extract), read_only=True)
    try:
        return workbooks.read_workbook_rows(con, MONTHS)
    finally:
        con.close()


@pytest.fixture(scope="module")
def written(rows: workbooks.WorkbookRows, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("downloads")
    organisations = [("icb", "QAA", "NHS QAA ICB"), ("sub_icb", "01B", "Sub-ICB 01B")]
    organisations.append(("england", "ENG", "England"))
    report = workbooks.write_workbooks(rows, organisations, out, "2026-01-05T09:00:00+00:00")
    return {"out": out, "report": report}


def test_one_workbook_per_organisation_asked_for(written) -> None:
    out, report = written["out"], written["report"]
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.xlsx"))
    assert files == ["england/ENG.xlsx", "icb/QAA.xlsx", "sub_icb/01B.xlsx"]
    assert report.written == 3
    assert report.bytes == sum(p.stat().st_size for p in out.rglob("*.xlsx"))


def test_a_writer_whose_build_is_gone_stops_at_the_next_workbook(rows, tmp_path) -> None:
    organisations = [("icb", "QAA", "NHS QAA ICB"), ("sub_icb", "01B", "Sub-ICB 01B")]
    looks = iter([False, True])  # the build is there for the first workbook, then gone
    with pytest.raises(workbooks.Abandoned, match="stopped after 1 workbook"):
        workbooks.write_workbooks(
            rows,
            organisations,
            tmp_path,
            "2026-01-05T09:00:00+00:00",
            abandoned=lambda: next(looks),
        )
    assert [p.name for p in tmp_path.rglob("*.xlsx")] == ["QAA.xlsx"]


def test_summary_rows_are_the_extracts_values_for_the_organisation(written) -> None:
    book = openpyxl.load_workbook(written["out"] / "icb" / "QAA.xlsx")
    assert book.sheetnames == ["Summary", "Trend", "About"]
    sheet = book["Summary"]
    assert sheet["A1"].value == "Summary: ICB QAA NHS QAA ICB"
    assert f"Latest month {LATEST:%B %Y}" in sheet["A2"].value
    groups = [c.value for c in sheet[5] if c.value]
    assert groups == ["Opioid items (items per 1,000)", "High-dose share (percent)"]
    data = [[c.value for c in row] for row in sheet.iter_rows(min_row=7)]
    assert [r[0] for r in data] == ["A00001", "A00002", "A00003"]  # not B00001 (QBB)
    for row in data:
        p = next(i for i, practice in enumerate(PRACTICES) if practice[0] == row[0])
        assert row[1:5] == [PRACTICES[p][1], f"{PRACTICES[p][2]} PCN", PRACTICES[p][6]] + [
            PRACTICES[p][6] < 1000
        ]
        for k, key in enumerate(HEADLINE):
            cells = row[5 + 6 * k : 11 + 6 * k]
            factor = 0.01 if key[5] == "proportion" else 1.0
            r = rank(p)
            expected_decile = None if r is None else min(10, int(r // 10) + 1)
            assert cells[0] == pytest.approx(value(p, k, "12m") * factor)
            assert cells[1] == r
            assert cells[2] == expected_decile
            assert cells[3] == (None if r is None else ("high" if p == 2 else "within"))
            signal = SIGNALS[(p + k) % 4]
            assert cells[4] == (None if signal is None else signal.replace("_", " "))
            assert cells[5] == pytest.approx(-1.5 * (p + 1) * factor)


def test_trend_charts_the_organisation_against_the_deciles(written) -> None:
    book = openpyxl.load_workbook(written["out"] / "icb" / "QAA.xlsx")
    sheet = book["Trend"]
    charts = sheet._charts
    assert len(charts) == len(HEADLINE)
    shown = MONTHS[-workbooks.TREND_MONTHS :]
    for k, chart in enumerate(charts):
        series = chart.series
        assert len(series) == 10  # nine deciles and the organisation
        own = series[-1].val.numRef.f.split("!")[1].replace("$", "")
        months = series[-1].cat.numRef.f.split("!")[1].replace("$", "")
        median = series[4].val.numRef.f.split("!")[1].replace("$", "")
        factor = 0.01 if HEADLINE[k][5] == "proportion" else 1.0
        expected = [org_value("icb", "QAA", k, m) for m in shown]
        got = [c[0].value for c in sheet[own]]
        assert [g is None for g in got] == [e is None for e in expected]  # the missing month
        assert [g for g in got if g is not None] == pytest.approx(
            [e * factor for e in expected if e is not None]
        )
        assert [c[0].value.date() for c in sheet[months]] == shown
        assert [c[0].value for c in sheet[median]] == pytest.approx(
            [(50 + MONTHS.index(m) / 10) * factor for m in shown]
        )


def test_about_says_whose_it_is_and_where_the_rest_is(written) -> None:
    book = openpyxl.load_workbook(written["out"] / "sub_icb" / "01B.xlsx", read_only=True)
    about = {r[0]: r[1] for r in book["About"].iter_rows(values_only=True) if r and r[0]}
    assert about["Organisation"] == "01B Sub-ICB 01B"
    assert about["GP practices"] == "1"
    assert f"Trend: {MONTHS[-24]:%B %Y} to {LATEST:%B %Y}" in about["Months"]
    assert "2026-01-05" in about["Published"]
    assert "opioids export" in about["More"]
    summary = [r[0] for r in book["Summary"].iter_rows(min_row=7, values_only=True)]
    assert summary == ["A00003"]


def test_england_lists_every_practice(written) -> None:
    book = openpyxl.load_workbook(written["out"] / "england" / "ENG.xlsx", read_only=True)
    sheet = book["Summary"]
    assert sheet["A1"].value == "Summary: England"
    codes = [r[0] for r in sheet.iter_rows(min_row=7, values_only=True)]
    assert codes == [p[0] for p in PRACTICES]


def test_pages_link_their_own_workbook_or_the_nearest_above(extract: Path, tmp_path) -> None:
    """Practices have no workbook of their own: their PCN's (or, for one with no PCN
    workbook, the nearest organisation above it with one)."""
    con = duckdb.connect(str(extract), read_only=True)
    try:
        site = _site(con)
    finally:
        con.close()
    planned = {("england", "ENG"), ("icb", "QAA"), ("sub_icb", "01A"), ("sub_icb", "01B")}
    planned |= {("pcn", "U00001")}
    renderer = Renderer(site, "2026-01-05T09:00:00+00:00", tmp_path, planned)
    label, href = renderer._workbook("icb", "QAA", "../")
    assert href == "../downloads/icb/QAA.xlsx" and label.endswith("(xlsx)")
    label, href = renderer._workbook("pcn", "U00002", "../")
    assert href == "../downloads/sub_icb/01B.xlsx"  # U00002 has none planned here
    assert label.startswith("Its sub-ICB location's workbook, this Primary Care Network's")
    label, href = renderer._workbook("pcn", "U00001", "../")
    assert href == "../downloads/pcn/U00001.xlsx" and label.startswith(
        "Primary Care Network U00001: workbook"
    )
    label, href = renderer._workbook("practice", "A00002", "../")
    assert href == "../downloads/pcn/U00001.xlsx"
    assert label.startswith("Its Primary Care Network's workbook, this practice included")
    _, href = renderer._workbook("practice", "A00003", "../")  # its PCN U00002 has none
    assert href == "../downloads/sub_icb/01B.xlsx"
    # No workbook planned for QBB's sub-ICB location or ICB: England's, said so.
    _, href = renderer._workbook("practice", "B00001", "../")
    assert href == "../downloads/england/ENG.xlsx"


def _site(con):
    """The site's shared data, with what read_site reads that this extract leaves out."""
    from pipelines.dashboard.data import Organisation, SiteData

    practices = [
        {"practice_code": p[0], "practice_name": p[1], "pcn_code": p[2], "sub_icb_code": p[3]}
        | {"icb_code": p[4], "region_code": p[5], "latest_patients": p[6]}
        for p in PRACTICES
    ]
    orgs = {("england", "ENG"): Organisation("england", "ENG", "England", None, 4)}
    for p in PRACTICES:
        chain = [("region", p[5]), ("icb", p[4]), ("sub_icb", p[3]), ("pcn", p[2])]
        parent = ("england", "ENG")
        for level, code in chain:
            orgs.setdefault((level, code), Organisation(level, code, f"{code} name", parent, 1))
            parent = (level, code)
    return SiteData(MONTHS, [], {}, orgs, practices, {})
