"""The methodology page is generated from the definitions and reference data: it names
every comparator, every in-scope substance and every factor used."""

import csv

from pipelines.comparators import load_comparators
from pipelines.config import REFERENCE_DIR
from pipelines.methodology import methodology_markdown


def test_page_covers_definitions_substances_and_factors():
    comparators = load_comparators()
    page = methodology_markdown(comparators, factor_set="uk", min_list_size=1000)
    for c in comparators:
        assert f"(`{c.id}`)" in page and c.description in page
    with open(REFERENCE_DIR / "opioid_substances.csv", newline="") as fh:
        substances = list(csv.DictReader(fh))
    assert len(substances) == 25
    for s in substances:
        assert s["chemical_code"] in page
    with open(REFERENCE_DIR / "ome_factors.csv", newline="") as fh:
        uk = [r for r in csv.DictReader(fh) if r["factor_set"] == "uk"]
    for r in uk:
        assert f"| {r['substance']} | {r['route']} | {r['factor']} |" in page
    assert ">= 90 mg OME/day" in page and ">= 120 mg OME/day" in page
    assert "fewer than 1,000 registered patients" in page


def test_another_factor_set_is_named():
    page = methodology_markdown(load_comparators(), factor_set="us_cms", min_list_size=500)
    assert "Factor set in use: `us_cms`" in page
    assert "| codeine | oral | 0.15 |" in page


def test_page_states_dataset_factor_set_and_thresholds_per_period(tmp_path):
    import json

    from pipelines.periods import publication_periods

    staged = {
        "2014-01": ("english-prescribing-data-epd", "legacy", "five-year bands"),
        "2014-02": ("english-prescribing-data-epd", "legacy", "five-year bands"),
        "2014-04": ("english-prescribing-data-epd", "legacy", "five-year bands"),  # a gap
        "2020-10": ("english-prescribing-data-epd", "legacy", "single years"),
        "2020-11": ("english-prescribing-dataset-epd-with-snomed-code", "legacy", "single years"),
    }
    for month, (dataset, layout, adults) in staged.items():
        for sub, body in (
            ("epd", {"dataset": dataset, "layout": layout}),
            ("list_sizes", {"adults_from": adults}),
        ):
            path = tmp_path / sub / f"{month}.provenance.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(body))
    periods = publication_periods(tmp_path)
    assert [p.months for p in periods] == ["2014-01 to 2014-02", "2014-04", "2020-10", "2020-11"]
    page = methodology_markdown(
        load_comparators(), factor_set="uk_pre_2020", min_list_size=1000, periods=periods
    )
    assert (
        "| 2014-01 to 2014-02 | `english-prescribing-data-epd` | legacy | five-year bands "
        "| `uk_pre_2020` (" in page
    )
    assert "| 2020-11 | `english-prescribing-dataset-epd-with-snomed-code` |" in page
    assert page.count("90 and 120 mg OME/day") == 4


def test_months_resolved_with_different_factor_sets_are_called_out(tmp_path):
    import json

    import polars as pl

    from pipelines.periods import publication_periods

    for month, version in (("2020-01", "uk-pre-2020"), ("2020-02", "uk-2020-08")):
        (tmp_path / "epd").mkdir(exist_ok=True)
        (tmp_path / "presentations").mkdir(exist_ok=True)
        (tmp_path / "epd" / f"{month}.provenance.json").write_text(
            json.dumps({"dataset": "english-prescribing-data-epd", "layout": "legacy"})
        )
        pl.DataFrame({"ome_factor_source": [f"{version}: a source", None]}).write_parquet(
            tmp_path / "presentations" / f"{month}.parquet"
        )
    periods = publication_periods(tmp_path)
    assert [(p.months, p.factor_version) for p in periods] == [
        ("2020-01", "uk-pre-2020"),
        ("2020-02", "uk-2020-08"),
    ]
    page = methodology_markdown(
        load_comparators(), factor_set="uk", min_list_size=1000, periods=periods
    )
    assert "different OME factor sets (uk-2020-08, uk-pre-2020)" in page
    assert (
        "| 2020-01 | `english-prescribing-data-epd` | legacy | not staged | uk-pre-2020 |" in page
    )
