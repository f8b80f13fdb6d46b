"""List sizes, the practice map and ODS epraccur, from hand-made files in the real layouts."""

import io
from datetime import date

import polars as pl
import pytest

from pipelines.sources.epd import SchemaError
from pipelines.sources.list_sizes import page_links, parse_list_sizes
from pipelines.sources.ods import parse_epraccur


def _csv(text: str) -> pl.DataFrame:
    return pl.read_csv(io.StringIO(text), infer_schema=False)


def test_adults_are_ages_18_and_over_from_single_age_files():
    all_ages = _csv(
        "PUBLICATION,EXTRACT_DATE,TYPE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS\n"
        "GP_PRAC_PAT_LIST,01JAN2024,GP,A81001,TS18 1HU,ALL,ALL,100\n"
        "GP_PRAC_PAT_LIST,01JAN2024,GP,A81002,TS18 1HU,ALL,ALL,50\n"
    )
    header = "PUBLICATION,EXTRACT_DATE,ORG_TYPE,ORG_CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS\n"
    male = _csv(
        header
        + "P,01JAN2024,GP,A81001,X,MALE,17,10\n"
        + "P,01JAN2024,GP,A81001,X,MALE,18,7\n"
        + "P,01JAN2024,GP,A81001,X,MALE,95+,3\n"
        + "P,01JAN2024,GP,A81001,X,MALE,ALL,20\n"
        + "P,01JAN2024,GP,A81002,X,MALE,40,5\n"
    )
    female = _csv(
        header + "P,01JAN2024,GP,A81001,X,FEMALE,94,11\nP,01JAN2024,GP,A81001,X,FEMALE,2,4\n"
    )
    out = parse_list_sizes(all_ages, male, female, date(2024, 1, 1))
    rows = {r["practice_code"]: r for r in out.iter_rows(named=True)}
    # 18 (7) + 95+ (3) + 94 (11); ages 17 and 2 and the ALL row are excluded.
    assert rows["A81001"]["adults"] == 21
    assert rows["A81001"]["patients"] == 100
    assert rows["A81002"]["adults"] == 5
    assert rows["A81002"]["month"] == date(2024, 1, 1)


def test_missing_list_size_column_is_named():
    bad = _csv("CODE,SEX,AGE\nA81001,ALL,ALL\n")
    with pytest.raises(SchemaError, match="NUMBER_OF_PATIENTS"):
        parse_list_sizes(bad, bad, bad, date(2024, 1, 1))


def test_links_are_resolved_against_the_page():
    html = '<p><a href="/x/y.csv">a</a> <a href="https://e.org/z.zip">b</a></p>'
    assert page_links(html, "http://127.0.0.1:9/page/") == [
        "http://127.0.0.1:9/x/y.csv",
        "https://e.org/z.zip",
    ]


def _epraccur_row(code, setting, close="", status="A"):
    cols = [""] * 27
    cols[0], cols[1], cols[9], cols[10], cols[11], cols[12] = (
        code,
        f"NAME {code}",
        "TS1 1AA",
        "19740401",
        close,
        status,
    )
    cols[14], cols[25] = "15N", str(setting)
    return ",".join(cols)


def test_epraccur_names_columns_and_drops_welsh_and_998_codes():
    data = "\n".join(
        [
            _epraccur_row("A81001", 4),
            _epraccur_row("Y02045", 2),
            _epraccur_row("A81099", 4, close="20250331", status="C"),
            _epraccur_row("W91016", 4),
            _epraccur_row("A81998", 4),
        ]
    ).encode()
    out = parse_epraccur(data)
    assert out.get_column("practice_code").to_list() == ["A81001", "A81099", "Y02045"]
    closed = out.filter(pl.col("practice_code") == "A81099").row(0, named=True)
    assert closed["close_date"] == date(2025, 3, 31)
    assert closed["prescribing_setting"] == 4
    assert closed["commissioner_code"] == "15N"


def test_epraccur_with_wrong_width_fails():
    with pytest.raises(SchemaError, match="expected 27 columns"):
        parse_epraccur(b"A81001,NAME,x\n")


def _practice_map(*rows: tuple[str, str]) -> pl.DataFrame:
    from pipelines.sources.list_sizes import PRACTICE_MAP_COLUMNS

    return pl.DataFrame(
        [
            {
                c: (code if c == "PRACTICE_CODE" else pcn if c == "PCN_CODE" else c)
                for c in PRACTICE_MAP_COLUMNS
            }
            for code, pcn in rows
        ]
    )


def test_duplicate_practices_reach_the_critical_uniqueness_check():
    """Repeated identical lines collapse; conflicting ones are not silently resolved."""
    from assets.ingest import build_organisations
    from pipelines.sources.list_sizes import parse_practice_map
    from pipelines.validation import failures, load_suite, validate

    epraccur = parse_epraccur(
        "\n".join(
            [_epraccur_row("A81001", 4), _epraccur_row("A81001", 4), _epraccur_row("A81002", 4)]
        ).encode()
    )
    assert epraccur["practice_code"].to_list() == ["A81001", "A81002"]  # identical lines

    conflicting = parse_practice_map(
        _practice_map(("A81001", "U1"), ("A81001", "U2"), ("A81002", "U1"), ("A81002", "U1"))
    )
    assert conflicting["practice_code"].to_list() == ["A81001", "A81001", "A81002"]
    organisations = build_organisations(epraccur, conflicting, latest_map="2025-01")
    outcomes = validate(organisations, load_suite("practice_organisations"))
    assert "unique_practice_codes" in {o.check for o in failures(outcomes)}

    twice = parse_epraccur(
        "\n".join([_epraccur_row("A81001", 4), _epraccur_row("A81001", 2)]).encode()
    )
    assert twice["practice_code"].to_list() == ["A81001", "A81001"]
