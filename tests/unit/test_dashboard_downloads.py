"""The dashboard's CSV downloads, on a small hand-made extract.

Three practices in two PCNs of one sub-ICB location and ICB, a fourth in another region
with no PCN, and a fifth in the first PCN from a second sub-ICB location; two comparators (one with two variants); an older month that must not
appear. Every expected file and cell is worked out here from the rows put in.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.dashboard.downloads import write_downloads
from tests.support import write_tables

LATEST, EARLIER = date(2025, 12, 1), date(2025, 11, 1)
PRACTICES = [
    # code, name, pcn, sub-ICB, ICB, region
    ("A00001", "NORTH SURGERY", "U00001", "01A", "QAA", "Y01"),
    ("A00002", '=HYPERLINK("x")', "U00001", "01A", "QAA", "Y01"),
    ("A00003", "HILL VIEW", "U00002", "01A", "QAA", "Y01"),
    ("B00001", "ELSEWHERE", None, "02A", "QBB", "Y02"),
    # In U00001 too, but another sub-ICB location: U00001's rows are not one run.
    ("A00004", "ACROSS THE LINE", "U00001", "01B", "QAA", "Y01"),
]
KEYS = [
    # comparator_id, variant, denominator_type, title, units, sort_order
    ("opioid_items", "standard", "patients", "Opioid items", "items per 1,000", 1),
    ("high_dose_items", "90mg", "patients", "High-dose items", "items per 1,000", 2),
    ("high_dose_items", "120mg", "patients", "High-dose items", "items per 1,000", 2),
]
PERIODS = ("1m", "12m")


def value(p: int, k: int, period: str, month: date) -> float:
    return 1.25 + 10 * p + k + (0.5 if period == "12m" else 0) + (100 if month != LATEST else 0)


def rank(p: int, k: int) -> float | None:
    return None if p == 3 else 5.0 + 30 * p + k  # B00001 unranked


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("downloads")
    practices = pl.DataFrame(
        [
            {
                "practice_code": p[0],
                "practice_name": p[1],
                "pcn_code": p[2],
                "pcn_name": p[2] and f"{p[2]} PCN",
                "sub_icb_code": p[3],
                "icb_code": p[4],
                "region_code": p[5],
            }
            for p in PRACTICES
        ]
    )
    comparators = pl.DataFrame(
        KEYS,
        schema=["comparator_id", "variant", "denominator_type", "title", "units", "sort_order"],
        orient="row",
    )
    rows = [
        {
            "practice_code": practice[0],
            "month": month,
            "comparator_id": key[0],
            "variant": key[1],
            "denominator_type": key[2],
            "period": period,
            "numerator": 3.0 + p,
            "denominator": 1000.0,
            "value": value(p, k, period, month),
            "list_size": 1000 + p,
            "small_practice": p == 3,
            "eligible": p != 3,
            "percentile_rank": rank(p, k),
            "national_rate": 7.5,
            "funnel_flag": None,
            "od_funnel_flag": "within",
            "funnel_upper_998": 9.0,
            "od_upper_998": 11.0,
            "spc_signal": "concern" if period == "1m" and p == 0 else "common_cause",
            "spc_rules": "shift" if period == "1m" and p == 0 else "",
            "value_12m_ago": None,
            "change_abs": -0.5 * p,
            "change_rel": None,
        }
        for month in (EARLIER, LATEST)
        for p, practice in enumerate(PRACTICES)
        for k, key in enumerate(KEYS)
        for period in PERIODS
    ]
    extract = write_tables(
        root / "extract.duckdb",
        {
            "practices": practices,
            "comparators": comparators,
            "practice_comparators": pl.DataFrame(rows, infer_schema_length=None),
        },
    )
    con = duckdb.connect(str(extract), read_only=True)
    try:
        written = write_downloads(con, root / "site" / "downloads")
    finally:
        con.close()
    assert written == 1 + 2 + 2 + 3 + 2 + 5  # England, regions, ICBs, sub-ICBs, PCNs, practices
    return root / "site" / "downloads"


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_one_file_per_organisation_and_practice(downloads: Path) -> None:
    found = sorted(str(p.relative_to(downloads)) for p in downloads.rglob("*.csv"))
    assert found == sorted(
        ["england/ENG.csv", "region/Y01.csv", "region/Y02.csv", "icb/QAA.csv", "icb/QBB.csv"]
        + ["sub_icb/01A.csv", "sub_icb/01B.csv", "sub_icb/02A.csv"]
        + ["pcn/U00001.csv", "pcn/U00002.csv"]
        + [f"practice/{p[0]}.csv" for p in PRACTICES]
    )


@pytest.mark.parametrize(
    ("level", "code", "members"),
    [
        ("england", "ENG", [0, 1, 2, 4, 3]),  # by region, ICB, sub-ICB location, PCN
        ("region", "Y02", [3]),
        ("sub_icb", "01A", [0, 1, 2]),
        ("pcn", "U00001", [0, 1, 4]),
        ("practice", "A00003", [2]),
    ],
)
def test_a_file_holds_its_members_latest_month_practice_by_practice(
    downloads: Path, level: str, code: str, members: list[int]
) -> None:
    rows = read(downloads / level / f"{code}.csv")
    expected = [  # practice by practice, each with its keys in the pages' order
        (PRACTICES[p][0], key[0], key[1], period, value(p, k, period, LATEST))
        for p in members
        for k, key in sorted(enumerate(KEYS), key=lambda kk: (kk[1][5], kk[1][0], kk[1][1]))
        for period in PERIODS
    ]
    got = [
        (r["practice_code"], r["comparator_id"], r["variant"], r["period"], float(r["value"]))
        for r in rows
    ]
    assert got == expected
    assert {(r["org_level"], r["org_code"], r["month"]) for r in rows} == {
        (level, code, "2025-12-01")
    }


def test_cells_carry_the_statistics_the_pages_show(downloads: Path) -> None:
    by_key = {
        (r["comparator_id"], r["variant"], r["period"]): r
        for r in read(downloads / "practice" / "A00001.csv")
    }
    row = by_key[("high_dose_items", "120mg", "12m")]
    assert float(row["percentile_rank"]) == rank(0, 2) == 7.0
    assert row["national_decile"] == "1"  # rank 7 is in the first tenth
    assert row["comparator_title"] == "High-dose items"
    # The SPC signal is the monthly series', shown on every period's row.
    assert (row["spc_signal_monthly"], row["spc_rules_monthly"]) == ("concern", "shift")
    assert float(by_key[("opioid_items", "standard", "1m")]["value"]) == 1.25
    unranked = read(downloads / "practice" / "B00001.csv")[0]
    assert unranked["percentile_rank"] == "" and unranked["national_decile"] == ""
    assert unranked["pcn_code"] == "" and unranked["small_practice"] == "true"


def test_a_name_a_spreadsheet_would_run_is_written_as_text(downloads: Path) -> None:
    names = {r["practice_name"] for r in read(downloads / "pcn" / "U00001.csv")}
    assert names == {"NORTH SURGERY", '\'=HYPERLINK("x")', "ACROSS THE LINE"}
