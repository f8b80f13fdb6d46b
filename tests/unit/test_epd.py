"""EPD header layouts, the portal query and normalisation to the staged schema."""

from datetime import date

import polars as pl
import pytest

from pipelines.sources.epd import STAGED_SCHEMA, SchemaError, detect_layout, normalise, portal_query

LEGACY = [
    "YEAR_MONTH", "REGIONAL_OFFICE_NAME", "REGIONAL_OFFICE_CODE", "ICB_NAME", "ICB_CODE",
    "PCO_NAME", "PCO_CODE", "PRACTICE_NAME", "PRACTICE_CODE", "BNF_CHEMICAL_SUBSTANCE",
    "CHEMICAL_SUBSTANCE_BNF_DESCR", "BNF_CODE", "BNF_DESCRIPTION", "BNF_CHAPTER_PLUS_CODE",
    "QUANTITY", "ITEMS", "TOTAL_QUANTITY", "ADQUSAGE", "NIC", "ACTUAL_COST", "UNIDENTIFIED",
    "SNOMED_CODE",
]  # fmt: skip
CURRENT = [
    "YEAR_MONTH", "REGIONAL_OFFICE_NAME", "REGIONAL_OFFICE_CODE", "ICB_NAME", "ICB_CODE",
    "PCO_NAME", "PCO_CODE", "PRACTICE_NAME", "PRACTICE_CODE", "BNF_CHEMICAL_SUBSTANCE_CODE",
    "BNF_CHEMICAL_SUBSTANCE", "BNF_PRESENTATION_CODE", "BNF_PRESENTATION_NAME",
    "BNF_CHAPTER_PLUS_CODE", "QUANTITY", "ITEMS", "TOTAL_QUANTITY", "ADQ_USAGE", "NIC",
    "ACTUAL_COST", "UNIDENTIFIED", "SNOMED_CODE",
]  # fmt: skip


def test_layouts_map_the_same_meaning_from_different_names():
    legacy = detect_layout(LEGACY, where="t")
    current = detect_layout(CURRENT, where="t")
    assert legacy.name == "legacy" and current.name == "current"
    # The same column name means different things in the two layouts.
    assert legacy.source("chemical_code") == "BNF_CHEMICAL_SUBSTANCE"
    assert current.source("chemical_code") == "BNF_CHEMICAL_SUBSTANCE_CODE"
    assert legacy.source("bnf_code") == "BNF_CODE"
    assert current.source("bnf_name") == "BNF_PRESENTATION_NAME"
    assert legacy.unknown == () and current.unknown == ()


def test_older_icb_names_are_accepted():
    header = [("STP_CODE" if c == "ICB_CODE" else c) for c in LEGACY if c != "ICB_NAME"]
    assert detect_layout(header, where="t").source("icb_code") == "STP_CODE"


def test_missing_column_is_named():
    header = [c for c in CURRENT if c != "ITEMS"]
    with pytest.raises(SchemaError, match=r"current EPD layout is missing column\(s\) ITEMS"):
        detect_layout(header, where="EPD_SNOMED_202503")


def test_renamed_key_column_fails_with_the_header_listed():
    header = [("BNF_PRESENTATION_CD" if c == "BNF_PRESENTATION_CODE" else c) for c in CURRENT]
    with pytest.raises(SchemaError, match="neither EPD layout"):
        detect_layout(header, where="t")


def test_unknown_extra_column_is_reported_not_fatal():
    layout = detect_layout([*LEGACY, "NEW_FLAG"], where="t")
    assert layout.unknown == ("NEW_FLAG",)


def test_portal_query_uses_layout_names_and_validates_the_table():
    q = portal_query(detect_layout(CURRENT, where="t"), "EPD_SNOMED_202503")
    assert "FROM `EPD_SNOMED_202503`" in q
    assert "WHERE BNF_PRESENTATION_CODE LIKE '0407%'" in q
    assert "SUM(TOTAL_QUANTITY) AS TOTAL_QUANTITY" in q
    with pytest.raises(ValueError):
        portal_query(detect_layout(CURRENT, where="t"), "EPD_SNOMED_202503`; DROP")


def _raw(layout_header, rows):
    return pl.DataFrame(
        [dict(zip(layout_header, r, strict=True)) for r in rows],
        schema={c: pl.String for c in layout_header},
    )


def _legacy_row(
    practice, code, qty, items, month="202401", name="Zomorph 30mg modified-release capsules"
):
    values = {c: "x" for c in LEGACY}
    values.update(
        YEAR_MONTH=month, PRACTICE_CODE=practice, PRACTICE_NAME="P " + practice, PCO_CODE="15N",
        ICB_CODE="QWE", REGIONAL_OFFICE_CODE="Y56", BNF_CHEMICAL_SUBSTANCE=code[:9], BNF_CODE=code,
        BNF_DESCRIPTION=name, QUANTITY=str(qty), ITEMS=str(items), TOTAL_QUANTITY=str(qty * items),
        NIC="1.5", ACTUAL_COST="1.25",
    )  # fmt: skip
    return [values[c] for c in LEGACY]


def test_normalise_sums_snomed_and_pack_size_rows():
    raw = _raw(
        LEGACY,
        [
            _legacy_row("A81001", "0407020Q0BCAAAB", 60, 2),  # two SNOMED / pack rows...
            _legacy_row("A81001", "0407020Q0BCAAAB", 56, 1),  # ...of one presentation
            _legacy_row("A81001", "0407010H0AAAMAM", 100, 3, name="Paracetamol 500mg tablets"),
            _legacy_row("A81002", "0205051R0AAAAAA", 28, 5, name="Ramipril"),  # not 0407: dropped
        ],
    )
    out = normalise(raw, detect_layout(LEGACY, where="t"), date(2024, 1, 1), where="t")
    assert out.schema == pl.Schema(STAGED_SCHEMA)
    assert out.height == 2
    zomorph = out.filter(pl.col("bnf_code") == "0407020Q0BCAAAB").row(0, named=True)
    assert zomorph["items"] == 3
    assert zomorph["total_quantity"] == 60 * 2 + 56 * 1
    assert zomorph["max_quantity"] == 60
    assert zomorph["source_rows"] == 2
    assert zomorph["nic"] == pytest.approx(3.0)
    assert zomorph["month"] == date(2024, 1, 1)
    assert zomorph["chemical_code"] == "0407020Q0"


def test_normalise_reads_current_year_month_text():
    values = {c: "x" for c in CURRENT}
    values.update(
        YEAR_MONTH="2025-03", PRACTICE_CODE="A81001", PCO_CODE="15N", ICB_CODE="QWE",
        REGIONAL_OFFICE_CODE="Y56", BNF_CHEMICAL_SUBSTANCE_CODE="0407020A0",
        BNF_PRESENTATION_CODE="0407020A0AAAAAA", BNF_PRESENTATION_NAME="Fentanyl 25micrograms/hour transdermal patches",
        QUANTITY="5", ITEMS="2", TOTAL_QUANTITY="10", NIC="3", ACTUAL_COST="2.5",
    )  # fmt: skip
    raw = _raw(CURRENT, [[values[c] for c in CURRENT]])
    out = normalise(raw, detect_layout(CURRENT, where="t"), date(2025, 3, 1), where="t")
    assert out.row(0, named=True)["month"] == date(2025, 3, 1)
    assert out.row(0, named=True)["total_quantity"] == 10


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.__setitem__(LEGACY.index("QUANTITY"), "ten"), "non-numeric QUANTITY"),
        (lambda r: r.__setitem__(LEGACY.index("ITEMS"), "1.5"), "ITEMS not a whole number"),
        (lambda r: r.__setitem__(LEGACY.index("YEAR_MONTH"), "2024-1x"), "non-numeric YEAR_MONTH"),
    ],
)
def test_bad_values_fail_naming_the_problem(mutate, message):
    row = _legacy_row("A81001", "0407020Q0BCAAAB", 60, 2)
    mutate(row)
    with pytest.raises(SchemaError, match=message):
        normalise(
            _raw(LEGACY, [row]),
            detect_layout(LEGACY, where="t"),
            date(2024, 1, 1),
            where="EPD_SNOMED_202401",
        )


def test_empty_month_is_an_error():
    with pytest.raises(SchemaError, match="empty month"):
        normalise(_raw(LEGACY, []), detect_layout(LEGACY, where="t"), date(2024, 1, 1), where="t")


def test_repeated_source_rows_are_counted_as_duplicates():
    layout = detect_layout(LEGACY, where="t")
    a = _legacy_row("A81001", "0407020Q0BCAAAB", 60, 2)
    b = _legacy_row("A81001", "0407020Q0BCAAAB", 60, 2)  # same SNOMED code and pack size
    c = _legacy_row("A81001", "0407020Q0BCAAAB", 60, 1)
    c[LEGACY.index("SNOMED_CODE")] = "y"  # another SNOMED code: a legitimate second row
    out = normalise(_raw(LEGACY, [a, b, c]), layout, date(2024, 1, 1), where="t")
    row = out.row(0, named=True)
    assert (row["source_rows"], row["duplicate_rows"], row["items"]) == (3, 1, 5)
    clean = normalise(_raw(LEGACY, [a, c]), layout, date(2024, 1, 1), where="t")
    assert clean.row(0, named=True)["duplicate_rows"] == 0


# -- the earlier dataset's header eras (2014-01 onwards) ------------------------------------

EARLIER = [c for c in LEGACY if c != "SNOMED_CODE"]  # that dataset never has SNOMED_CODE


def _era(header, org):
    """The earlier dataset's header with the ICB columns named as in ``org``'s era."""
    return [c.replace("ICB_", f"{org}_") for c in header]


@pytest.mark.parametrize(("org", "source"), [("AREA_TEAM", "AREA_TEAM_CODE"), ("STP", "STP_CODE")])
def test_earlier_dataset_organisation_eras_map_by_name(org, source):
    layout = detect_layout(_era(EARLIER, org), where="EPD_201401")
    assert layout.name == "legacy" and layout.unknown == ()
    assert layout.source("icb_code") == source
    assert layout.row_key == ("QUANTITY",)  # no SNOMED code: pack size alone keys a row


def test_blank_chemical_substance_is_derived_from_the_bnf_code():
    header = _era(EARLIER, "STP")
    rows = []
    for code, chem in (("0407020Q0BBAAAB", ""), ("0407010F0AAAHAH", "0407010F0")):
        values = dict(zip(LEGACY, _legacy_row("A81001", code, 56, 1, month="201709"), strict=True))
        values["STP_CODE"], values["STP_NAME"] = values.pop("ICB_CODE"), values.pop("ICB_NAME")
        values["BNF_CHEMICAL_SUBSTANCE"] = chem
        values["CHEMICAL_SUBSTANCE_BNF_DESCR"] = ""
        rows.append([values[c] for c in header])
    raw = _raw(header, rows)
    raw = raw.with_columns(pl.col("YEAR_MONTH").cast(pl.Int64))  # an integer in this dataset
    layout = detect_layout(header, where="t")
    out = normalise(raw, layout, date(2017, 9, 1), where="t")
    assert dict(out.select("bnf_code", "chemical_code").iter_rows()) == {
        "0407010F0AAAHAH": "0407010F0",
        "0407020Q0BBAAAB": "0407020Q0",
    }
    assert out.get_column("month").unique().to_list() == [date(2017, 9, 1)]
    assert out.get_column("icb_code").unique().to_list() == ["QWE"]
