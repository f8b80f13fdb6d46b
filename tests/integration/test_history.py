"""Earlier months against the sample portal serving them in their eras' shapes (loopback).

The fetch routes and list-size parsing run in-process on 2014 and 2017 months; one refresh
through Dagster (a real subprocess, so ``OPIOIDS_FIRST_MONTH`` reaches the code location)
runs 2014-01..03 and the two months either side of the SNOMED dataset's start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import duckdb
import polars as pl
import pytest

from pipelines.fetch import fetch_month
from pipelines.http import HttpClient
from pipelines.sources import list_sizes as ls
from pipelines.sources.ckan import RETIRED_DATASET, SNOMED_DATASET, CkanClient
from tests.support import portal_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def http():
    with HttpClient(timeout_seconds=10, max_attempts=3, backoff_base_seconds=0.01) as client:
        yield client


@pytest.mark.parametrize("route", ["sql", "bulk"])
def test_2014_month_comes_from_the_earlier_dataset_by_both_routes(portal, http, tmp_path, route):
    ckan = CkanClient(http, portal.url)
    resource = ckan.epd_resource(date(2014, 1, 1))
    assert (resource.dataset, resource.name) == (RETIRED_DATASET, "EPD_201401")
    fetched = fetch_month(ckan, http, resource, route, work_dir=tmp_path)
    assert fetched.layout.columns["icb_code"] == "AREA_TEAM_CODE"
    assert fetched.layout.row_key == ("QUANTITY",)  # no SNOMED_CODE in this dataset
    frame = fetched.frame
    assert frame.get_column("month").unique().to_list() == [date(2014, 1, 1)]
    names = set(frame.get_column("bnf_name"))
    assert "Zomorph_Cap 10mg" in names and "Morph Sulf_Cap 10mg M/R" in names


def test_blank_chemical_columns_are_derived_by_both_routes(portal, http, tmp_path):
    ckan = CkanClient(http, portal.url)
    resource = ckan.epd_resource(date(2017, 9, 1))
    frames = [
        fetch_month(ckan, http, resource, route, work_dir=tmp_path).frame
        for route in ("sql", "bulk")
    ]
    for frame in frames:
        assert frame.filter(
            pl.col("chemical_code") != pl.col("bnf_code").str.slice(0, 9)
        ).is_empty()
        assert frame.get_column("chemical_code").null_count() == 0
    assert frames[0].equals(frames[1])


def test_month_in_both_datasets_comes_from_the_snomed_one(portal, http):
    ckan = CkanClient(http, portal.url)
    names = {r.name for r in ckan.epd_resources(RETIRED_DATASET)}
    assert "EPD_202011" in names  # the earlier dataset has it too...
    resource = ckan.epd_resource(date(2020, 11, 1))
    assert (resource.dataset, resource.name) == (SNOMED_DATASET, "EPD_SNOMED_202011")


@pytest.mark.parametrize(
    ("month", "kinds", "adults_from"),
    [
        (date(2014, 1, 1), ("quin",), ls.ADULTS_FROM_BANDS),
        (date(2017, 9, 1), ("quin",), ls.ADULTS_FROM_BANDS),
        (date(2020, 10, 1), ("all", "male", "female"), ls.ADULTS_FROM_SINGLE_YEARS),
    ],
)
def test_list_sizes_of_each_era(portal, http, month, kinds, adults_from):
    settings = portal_settings(portal.data_dir, portal.url)
    files = ls.month_files(http, settings.list_size_url, month)
    assert ls.denominator_files(files) == kinds
    tables = {k: ls.read_table(http, files.files[k], k) for k in kinds}
    frame, how = ls.list_sizes_from(tables, month)
    assert how == adults_from
    assert frame.height > 250
    assert frame.filter(pl.col("adults") > pl.col("patients")).is_empty()
    assert frame.get_column("adults").null_count() == 0


_REFRESH = """
from datetime import date

from pipelines.config import load_settings
from pipelines.runner import refresh

months = [date(2014, 1, 1), date(2014, 2, 1), date(2014, 3, 1), date(2020, 10, 1), date(2020, 11, 1)]
refresh(load_settings(), months, echo=print)  # raises (exit status 1) when a run fails
"""


def test_refresh_of_2014_and_either_side_of_the_snomed_dataset(portal, tmp_path):
    """One Dagster refresh (a subprocess, so OPIOIDS_FIRST_MONTH=2014-01 reaches the code
    location) of 2014-01..03, 2020-10 and 2020-11, as `opioids refresh` runs them."""
    settings = portal_settings(tmp_path / "data", portal.url)
    env = {
        **os.environ,
        "OPIOIDS_FIRST_MONTH": "2014-01",
        "OPIOIDS_PORTAL_URL": settings.portal_url,
        "OPIOIDS_LIST_SIZE_URL": settings.list_size_url,
        "OPIOIDS_ODS_URL": settings.ods_url,
        "OPIOIDS_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    done = subprocess.run(
        [sys.executable, "-c", _REFRESH], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout + done.stderr
    staging = tmp_path / "data" / "staging"
    datasets = {
        m: json.loads((staging / "epd" / f"{m}.provenance.json").read_text())["dataset"]
        for m in ("2014-01", "2020-10", "2020-11")
    }
    assert datasets == {
        "2014-01": RETIRED_DATASET,
        "2020-10": RETIRED_DATASET,
        "2020-11": SNOMED_DATASET,
    }
    published = tmp_path / "data" / "published"
    con = duckdb.connect(str(published / "opioid_comparators.duckdb"), read_only=True)
    months = con.execute("SELECT DISTINCT month FROM practice_comparators ORDER BY 1").fetchall()
    assert [m[0] for m in months] == [
        date(2014, 1, 1), date(2014, 2, 1), date(2014, 3, 1), date(2020, 10, 1), date(2020, 11, 1)
    ]  # fmt: skip
    # The older brand name without a release marker counts as regular long-acting.
    presentations = pl.read_parquet(staging / "presentations" / "2014-01.parquet")
    zomorph = presentations.filter(pl.col("bnf_name") == "Zomorph_Cap 10mg").row(0, named=True)
    assert zomorph["regular_long_acting"] and zomorph["likely_daily_ome_mg"] == 20.0
    assert pl.read_parquet(staging / "unresolved" / "2014-01.parquet").is_empty()
    page = (published / "files" / "methodology.md").read_text()
    assert (
        "| 2014-01 to 2014-03 | `english-prescribing-data-epd` | legacy (AREA_TEAM_CODE) |" in page
    )
    assert "| 2020-11 | `english-prescribing-dataset-epd-with-snomed-code` |" in page
