"""Denominators from the earlier list-size layouts, and the earliest first month."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pipelines.config import load_settings
from pipelines.sources import list_sizes as ls
from pipelines.sources.epd import SchemaError

BANDS = [f"{a}_{a + 4}" for a in range(0, 95, 5)] + ["95+"]


def _quinary(rows):
    cols = ("ORG_TYPE", "ORG_CODE", "SEX", "AGE_GROUP_5", "NUMBER_OF_PATIENTS")
    return pl.DataFrame(
        [dict(zip(cols, r, strict=True)) for r in rows], schema=dict.fromkeys(cols, pl.String)
    )


def test_adults_from_five_year_bands():
    # 100 in every band for both sexes together: 20 bands, 2,000 patients.
    rows = [("GP", "A81001", "ALL", band, "100") for band in BANDS]
    rows.append(("GP", "A81001", "ALL", "ALL", "2000"))
    rows.append(("CCG", "00K", "ALL", "ALL", "999999"))  # not a practice: ignored
    out = ls.parse_quinary_list_sizes(_quinary(rows), date(2014, 1, 1)).row(0, named=True)
    # bands 20_24..90_94 and 95+ are 16 bands = 1,600, plus 2/5 of the 15_19 band = 40
    assert (out["patients"], out["adults"]) == (2000, 1640)
    assert out["month"] == date(2014, 1, 1)


def test_bands_by_sex_only_are_added_together():
    rows = [("GP", "A81002", sex, band, "10") for sex in ("MALE", "FEMALE") for band in BANDS]
    out = ls.parse_quinary_list_sizes(_quinary(rows), date(2017, 9, 1)).row(0, named=True)
    # 2 sexes x 20 bands x 10 = 400 patients; adults 2 x (16 x 10 + 4) = 328
    assert (out["patients"], out["adults"]) == (400, 328)


def test_non_numeric_count_is_named():
    rows = [("GP", "A81003", "ALL", "0_4", "many")]
    with pytest.raises(SchemaError, match="non-numeric NUMBER_OF_PATIENTS"):
        ls.parse_quinary_list_sizes(_quinary(rows), date(2014, 1, 1))


def test_first_month_reaches_back_to_2014_and_no_further():
    assert load_settings({"OPIOIDS_FIRST_MONTH": "2014-01"}).first_month == "2014-01"
    assert load_settings({}).first_month == "2020-11"
    with pytest.raises(ValueError, match="starts in 2014-01"):
        load_settings({"OPIOIDS_FIRST_MONTH": "2013-12"})
