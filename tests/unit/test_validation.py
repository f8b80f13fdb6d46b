"""Expectation suites: loading, parameters, and what each key rule catches."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.config import EXPECTATIONS_DIR
from pipelines.quality import epd_frame, presentation_frame
from pipelines.validation import SuiteError, failures, load_suite, validate

SUITES = sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json"))


def test_every_suite_loads_with_unique_named_checks():
    assert set(SUITES) == {
        "epd_opioid_rows", "practice_list_sizes", "practice_organisations",
        "opioid_presentations", "practice_opioid_comparators", "published_extract",
    }  # fmt: skip
    for name in SUITES:
        suite = load_suite(name)
        specs = suite.check_specs()
        assert len({s.name for s in specs}) == len(specs)
        assert all(
            s.blocking == (e.severity == "critical")
            for s, e in zip(specs, suite.expectations, strict=True)
        )


def test_malformed_suite_is_refused(tmp_path: Path):
    doc = {
        "name": "bad",
        "meta": {"asset": "x"},
        "expectations": [
            {"type": "expect_column_to_exist", "kwargs": {"column": "a"}, "meta": {"check": "a"}}
        ],
    }
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(SuiteError, match="severity"):
        load_suite("bad", tmp_path)


def _staged(**changes) -> pl.DataFrame:
    row = {
        "month": date(2025, 4, 1), "practice_code": "A81001", "practice_name": "P",
        "sub_icb_code": "97A", "icb_code": "QSN", "region_code": "Y63",
        "chemical_code": "0407020A0", "bnf_code": "0407020A0AAAAAA",
        "bnf_name": "Fentanyl 25micrograms/hour transdermal patches", "items": 2,
        "total_quantity": 10.0, "max_quantity": 5.0, "nic": 1.0, "actual_cost": 1.0,
        "source_rows": 2, "duplicate_rows": 0,
    }  # fmt: skip
    rows = [row, {**row, "practice_code": "A81002"}]
    rows[1].update(changes)
    return pl.DataFrame(rows)


PARAMS = {"month": "2025-04", "rows_min": 1, "rows_max": 3, "items_min": 3, "items_max": 5}


def test_good_month_passes_every_check():
    outcomes = validate(epd_frame(_staged()), load_suite("epd_opioid_rows"), PARAMS)
    assert all(o.passed and not o.skipped for o in outcomes), [
        o.summary() for o in outcomes if not o.passed
    ]


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"items": 0}, "items_at_least_one"),
        ({"total_quantity": -1.0}, "quantity_not_negative"),
        ({"total_quantity": 11.0}, "total_quantity_consistent"),
        ({"practice_code": "A8100"}, "practice_code_format"),
        ({"chemical_code": "Fentanyl"}, "chemical_code_format"),
        ({"month": date(2025, 3, 1)}, "month_is_partition"),
        ({"duplicate_rows": 1}, "no_duplicate_source_rows"),
        ({"items": 40}, "national_items_near_previous_month"),
    ],
)
def test_each_rule_catches_its_fault_and_names_the_row(change, check):
    outcomes = validate(epd_frame(_staged(**change)), load_suite("epd_opioid_rows"), PARAMS)
    failed = {o.check for o in failures(outcomes)}
    assert check in failed
    outcome = next(o for o in outcomes if o.check == check)
    if outcome.unexpected_count:
        assert (
            outcome.sample
            and outcome.sample[0]["practice_code"] == _staged(**change)["practice_code"][1]
        )


def test_without_a_previous_month_the_band_checks_are_skipped_not_passed_silently():
    params = {"month": "2025-04"}
    outcomes = {
        o.check: o for o in validate(epd_frame(_staged()), load_suite("epd_opioid_rows"), params)
    }
    band = outcomes["national_items_near_previous_month"]
    assert band.skipped and "items_min" in str(band.observed_value)


def test_unresolved_share_blocks_above_the_threshold():
    resolved = pl.DataFrame(
        {
            "bnf_code": ["a", "b"], "bnf_name": ["A", "B"], "in_scope": [True, True],
            "resolved": [True, False], "ome_mg_per_unit": [1.0, None],
            "ome_factor_source": ["s", None],
        }
    )  # fmt: skip
    rows = pl.DataFrame({"bnf_code": ["a", "b"], "bnf_name": ["A", "B"], "items": [95, 5]})
    suite = load_suite("opioid_presentations")
    frame = presentation_frame(resolved, rows)
    strict = {o.check for o in failures(validate(frame, suite, {"max_unresolved_share": 0.01}))}
    lenient = {o.check for o in failures(validate(frame, suite, {"max_unresolved_share": 0.10}))}
    assert "unresolved_items_below_threshold" in strict
    assert "unresolved_items_below_threshold" not in lenient
