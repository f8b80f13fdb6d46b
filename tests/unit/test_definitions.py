"""Comparator definitions are data: loading, expansion and validation."""

from datetime import date
from pathlib import Path

import pytest

from pipelines.comparators import (
    DefinitionError,
    definition_rows,
    load_comparators,
    parse_definition,
)
from pipelines.schedules import expected_month

EXPECTED = {
    "opioid_items", "opioid_ome_daily", "high_dose_items", "high_dose_share",
    "long_acting_items", "strong_opioid_items", "patch_items", "all_routes_ome_daily",
}  # fmt: skip


def test_all_eight_comparators_load():
    comparators = load_comparators()
    assert {c.id for c in comparators} == EXPECTED
    share = next(c for c in comparators if c.id == "high_dose_share")
    assert share.kind == "proportion" and share.scale == 100


def test_expansion_gives_each_variant_and_denominator():
    rows = definition_rows(load_comparators())
    keys = set(zip(rows["comparator_id"], rows["variant"], rows["denominator_type"], strict=True))
    assert ("high_dose_items", "90mg", "adults") in keys
    assert ("high_dose_items", "120mg", "patients") in keys
    assert ("high_dose_share", "120mg", "long_acting_items") in keys
    assert ("opioid_items", "standard", "patients") in keys
    # 6 single-variant comparators x 2 populations + high_dose_items 2 x 2 + share 2 x 1
    assert rows.height == 6 * 2 + 4 + 2


def test_unknown_filter_is_rejected_naming_the_file(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'id = "bad"\ntitle = "t"\ndescription = "d"\nunits = "u"\n'
        '[numerator]\nmeasure = "items"\nfilters = ["cancer"]\n'
        '[denominator]\ntype = "population"\n'
    )
    with pytest.raises(DefinitionError, match=r"bad.toml.*unknown filter"):
        parse_definition(bad)


def test_high_dose_needs_a_threshold(tmp_path: Path):
    bad = tmp_path / "hd.toml"
    bad.write_text(
        'id = "hd"\ntitle = "t"\ndescription = "d"\nunits = "u"\n'
        '[numerator]\nmeasure = "items"\nfilters = ["high_dose"]\n'
        '[denominator]\ntype = "population"\n'
    )
    with pytest.raises(DefinitionError, match="high_dose_threshold_mg"):
        parse_definition(bad)


@pytest.mark.parametrize(
    ("today", "month"),
    [
        (date(2026, 11, 22), date(2026, 9, 1)),
        (date(2026, 1, 22), date(2025, 11, 1)),
        (date(2026, 2, 22), date(2025, 12, 1)),
    ],
)
def test_schedule_requests_the_month_two_in_arrears(today, month):
    assert expected_month(today) == month
