"""Every comparator for a handful of practices, against values worked out by hand.

The inputs are staged files written here (the shapes the ingest assets produce); the
pipeline's own load and comparator steps run on them in a real DuckDB file; the expected
numbers below are computed from the product facts in the comments, not by running SQL.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from assets.comparators import load_definitions, load_month
from assets.reference import resolve_month
from pipelines.config import Settings
from pipelines.resources import build_resources
from pipelines.sources.epd import STAGED_SCHEMA
from pipelines.sources.list_sizes import LIST_SIZE_SCHEMA
from pipelines.staging import write_parquet
from pipelines.warehouse import connect, run, transaction

MONTH = date(2025, 3, 1)  # 31 days
DAYS = 31

# (practice, code, name, items, total_quantity, max_quantity)
ROWS = [
    # A: 1,000 patients, 800 adults.
    # Zomorph 30 mg MR twice daily: 240 caps x 30 mg x 1 = 7,200 mg OME; daily 60 mg.
    ("A00001", "0407020Q0BDAAAB", "Zomorph 30mg modified-release capsules", 4, 240, 60),
    # Fentanyl 50 mcg/h: 3.6 mg per 72-hour patch x 100 = 360 mg OME per patch; 20 patches
    # = 7,200 mg; daily 50 x 24 / 1000 x 100 = 120 mg: high dose at 90 and at 120.
    ("A00001", "0407020A0AAAEAE", "Fentanyl 50micrograms/hour transdermal patches", 2, 20, 10),
    # Co-codamol 30/500: codeine 30 mg x 0.1 = 3 mg OME per tablet; 1,000 tablets = 3,000.
    ("A00001", "0407010F0AAAHAH", "Co-codamol 30mg/500mg tablets", 10, 1000, 100),
    # Morphine injection 10 mg/1 ml x 2 = 20 mg OME per ampoule; 10 = 200 mg. Not oral or
    # transdermal: counts only in all_routes_ome_daily.
    (
        "A00001",
        "0407020Q0AAAXAX",
        "Morphine sulfate 10mg/1ml solution for injection ampoules",
        1,
        10,
        10,
    ),
    # Paracetamol is in 4.7 but not an opioid: counts nowhere.
    ("A00001", "0407010H0AAAMAM", "Paracetamol 500mg tablets", 5, 500, 100),
    # B: 2,000 patients, 1,500 adults. Oxycodone 40 mg MR: 168 x 40 x 1.5 = 10,080 mg OME;
    # daily 40 x 2 x 1.5 = 120 mg: high dose at both thresholds.
    ("B00002", "0407020ADAAAFAF", "Oxycodone 40mg modified-release tablets", 3, 168, 56),
    # C: 1,500 patients and no opioid rows; one paracetamol item of 5,000 tablets. Only
    # opioid presentations are read for form and checked for plausibility.
    ("C00003", "0407010H0AAAMAM", "Paracetamol 500mg tablets", 1, 5000, 5000),
    # D is an out-of-hours cost centre (setting 2): never a practice comparator.
    ("D00004", "0407020A0AAAEAE", "Fentanyl 50micrograms/hour transdermal patches", 1, 5, 5),
    # E: a GP practice with no list size this month: numerators, no denominators. One item
    # of 500 fentanyl patches: packs recorded as units, flagged as implausible.
    ("E00005", "0407010F0AAAHAH", "Co-codamol 30mg/500mg tablets", 1, 100, 100),
    ("E00005", "0407020A0AAAEAE", "Fentanyl 50micrograms/hour transdermal patches", 1, 500, 500),
]
SIZES = {"A00001": (1000, 800), "B00002": (2000, 1500), "C00003": (1500, 1200)}

A_NON_CANCER_OME = 7200 + 7200 + 3000
EXPECTED = {
    # (practice, comparator, variant, denominator): (numerator, denominator, value)
    ("A00001", "opioid_items", "standard", "patients"): (16, 1000, 16.0),
    ("A00001", "opioid_items", "standard", "adults"): (16, 800, 20.0),
    ("A00001", "opioid_ome_daily", "standard", "patients"): (
        A_NON_CANCER_OME / DAYS, 1000, 1000 * A_NON_CANCER_OME / DAYS / 1000,
    ),
    ("A00001", "all_routes_ome_daily", "standard", "patients"): (
        (A_NON_CANCER_OME + 200) / DAYS, 1000, (A_NON_CANCER_OME + 200) / DAYS,
    ),
    ("A00001", "high_dose_items", "90mg", "patients"): (2, 1000, 2.0),
    ("A00001", "high_dose_items", "120mg", "adults"): (2, 800, 2.5),
    ("A00001", "long_acting_items", "standard", "patients"): (6, 1000, 6.0),
    ("A00001", "high_dose_share", "90mg", "long_acting_items"): (2, 6, 100 * 2 / 6),
    ("A00001", "strong_opioid_items", "standard", "patients"): (6, 1000, 6.0),
    ("A00001", "patch_items", "standard", "patients"): (2, 1000, 2.0),
    ("B00002", "opioid_items", "standard", "patients"): (3, 2000, 1.5),
    ("B00002", "opioid_ome_daily", "standard", "adults"): (10080 / DAYS, 1500, 1000 * 10080 / DAYS / 1500),
    ("B00002", "high_dose_items", "120mg", "patients"): (3, 2000, 1.5),
    ("B00002", "high_dose_share", "120mg", "long_acting_items"): (3, 3, 100.0),
    ("B00002", "patch_items", "standard", "patients"): (0, 2000, 0.0),
    ("C00003", "opioid_items", "standard", "patients"): (0, 1500, 0.0),
    ("C00003", "high_dose_share", "90mg", "long_acting_items"): (0, 0, None),
    ("E00005", "opioid_items", "standard", "patients"): (2, None, None),
}  # fmt: skip


def _staged_rows() -> pl.DataFrame:
    records = [
        {
            "month": MONTH,
            "practice_code": p,
            "practice_name": p,
            "sub_icb_code": "97A",
            "icb_code": "QSN",
            "region_code": "Y63",
            "chemical_code": code[:9],
            "bnf_code": code,
            "bnf_name": name,
            "items": items,
            "total_quantity": float(qty),
            "max_quantity": float(per_item),
            "nic": 1.0,
            "actual_cost": 1.0,
            "source_rows": 1,
            "duplicate_rows": 0,
        }  # fmt: skip
        for p, code, name, items, qty, per_item in ROWS
    ]
    return pl.DataFrame(records, schema=STAGED_SCHEMA)


def _organisations() -> pl.DataFrame:
    def org(code: str, setting: int) -> dict:
        return {
            "practice_code": code, "practice_name": code, "postcode": "X", "pcn_code": "U1",
            "pcn_name": "PCN", "sub_icb_code": "97A", "sub_icb_name": "S", "icb_code": "QSN",
            "icb_name": "I", "region_code": "Y63", "region_name": "R",
            "prescribing_setting": setting, "status_code": "A", "open_date": date(1990, 1, 1),
            "close_date": None, "mapping_source": "test",
        }  # fmt: skip

    return pl.DataFrame(
        [org("A00001", 4), org("B00002", 4), org("C00003", 4), org("D00004", 2), org("E00005", 4)]
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("by_hand")
    store = build_resources(Settings(data_dir=root))["store"]
    rows = _staged_rows()
    write_parquet(rows, store.staging.epd_path(MONTH))
    sizes = pl.DataFrame(
        [
            {"month": MONTH, "practice_code": p, "patients": n, "adults": a}
            for p, (n, a) in SIZES.items()
        ],
        schema=LIST_SIZE_SCHEMA,
    )
    write_parquet(sizes, store.staging.list_sizes_path(MONTH))
    write_parquet(resolve_month(rows, "uk"), store.staging.presentations_path(MONTH))
    with connect(store.layout.warehouse_path) as con, transaction(con):
        con.register("organisations_frame", _organisations().to_arrow())
        run(con, "warehouse/insert_organisations")
        load_definitions(con)
        load_month(con, store, MONTH)
    con = duckdb.connect(str(store.layout.warehouse_path), read_only=True)
    yield con
    con.close()


def _row(con, practice, comparator, variant, denominator):
    rows = con.execute(
        """
        SELECT c.numerator::DOUBLE, c.denominator::DOUBLE,
          CASE WHEN c.denominator > 0 THEN d.scale * c.numerator / c.denominator END
        FROM practice_comparator_months AS c
        JOIN comparator_definitions AS d USING (comparator_id, variant, denominator_type)
        WHERE c.month = ? AND practice_code = ? AND comparator_id = ? AND variant = ?
          AND denominator_type = ?
        """,
        [MONTH, practice, comparator, variant, denominator],
    ).fetchall()
    assert len(rows) == 1, (practice, comparator, variant, denominator, rows)
    return rows[0]


@pytest.mark.parametrize(
    ("key", "expected"),
    list(EXPECTED.items()),
    ids=lambda v: "-".join(map(str, v)) if isinstance(v, tuple) and len(v) == 4 else "",
)
def test_comparator_matches_hand_computation(warehouse, key, expected):
    numerator, denominator, value = _row(warehouse, *key)
    exp_num, exp_den, exp_value = expected
    assert numerator == pytest.approx(exp_num, abs=1e-5)
    if exp_den is None:
        assert denominator is None
    else:
        assert denominator == pytest.approx(exp_den)
    if exp_value is None:
        assert value is None
    else:
        assert float(value) == pytest.approx(exp_value, rel=1e-6)


def test_only_gp_practices_get_comparators(warehouse):
    practices = {
        r[0]
        for r in warehouse.execute(
            "SELECT DISTINCT practice_code FROM practice_comparator_months"
        ).fetchall()
    }
    assert practices == {"A00001", "B00002", "C00003", "E00005"}


def test_each_practice_has_every_comparator_variant_and_denominator(warehouse):
    counts = warehouse.execute(
        "SELECT practice_code, count(*) FROM practice_comparator_months GROUP BY 1"
    ).fetchall()
    assert {n for _, n in counts} == {18}  # 6 x 2 + high_dose_items 2 x 2 + share 2 x 1


def test_ome_per_presentation_in_the_facts(warehouse):
    facts = dict(
        warehouse.execute(
            "SELECT bnf_code, ome_mg FROM presentation_facts WHERE practice_code = 'A00001'"
        ).fetchall()
    )
    assert facts["0407020Q0BDAAAB"] == pytest.approx(7200)
    assert facts["0407020A0AAAEAE"] == pytest.approx(7200)
    assert facts["0407010F0AAAHAH"] == pytest.approx(3000)
    assert facts["0407020Q0AAAXAX"] == pytest.approx(200)
    assert facts["0407010H0AAAMAM"] is None  # not an opioid: no OME


def test_implausible_quantities_are_flagged(warehouse):
    flagged = warehouse.execute(
        "SELECT practice_code, bnf_code FROM presentation_facts WHERE implausible_quantity ORDER BY 1"
    ).fetchall()
    # 500 patches on one item (limit 100); the 5,000 paracetamol tablets are not an opioid.
    assert flagged == [("E00005", "0407020A0AAAEAE")]
