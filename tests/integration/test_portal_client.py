"""The CKAN client against the sample portal over loopback HTTP: the real protocol's quirks."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from pipelines.fetch import fetch_via_sql
from pipelines.http import HttpClient, SourceError
from pipelines.sources.ckan import SNOMED_DATASET, CkanClient, MonthNotPublished
from pipelines.sources.epd import detect_layout

pytestmark = pytest.mark.integration


@pytest.fixture
def ckan(portal):
    with HttpClient(timeout_seconds=10, max_attempts=3, backoff_base_seconds=0.01) as http:
        yield CkanClient(http, portal.url)


def test_sql_answer_has_the_double_envelope_with_string_true(portal):
    sql = "SELECT PRACTICE_CODE FROM `EPD_SNOMED_202501` LIMIT 3"
    body = httpx.get(
        f"{portal.url}/api/3/action/datastore_search_sql",
        params={"resource_id": "EPD_SNOMED_202501", "sql": sql},
    ).json()
    assert body["success"] is True
    assert body["result"]["success"] == "true"
    assert len(body["result"]["result"]["records"]) == 3


def test_client_reads_inline_records(ckan):
    result = ckan.datastore_search_sql(
        "EPD_SNOMED_202501", "SELECT PRACTICE_CODE, ITEMS FROM `EPD_SNOMED_202501` LIMIT 5"
    )
    assert result.frame.height == 5 and result.shard_urls == ()
    assert result.frame.columns == ["PRACTICE_CODE", "ITEMS"]


def test_header_layout_is_detected_per_month(ckan):
    legacy = detect_layout(ckan.datastore_fields("EPD_SNOMED_202502"), where="t")
    current = detect_layout(ckan.datastore_fields("EPD_SNOMED_202503"), where="t")
    assert (legacy.name, current.name) == ("legacy", "current")


@pytest.mark.parametrize("month", [date(2025, 2, 1), date(2025, 3, 1)])
def test_every_shard_is_read_and_matches_the_inline_answer(portal, ckan, month):
    resource = ckan.epd_resource(month)
    inline = fetch_via_sql(ckan, resource)
    assert inline.details["shards"] == 0
    cap = portal.row_cap
    portal.row_cap = 1000  # force truncation: the month's answer is several thousand rows
    try:
        sharded = fetch_via_sql(ckan, resource)
    finally:
        portal.row_cap = cap
    assert sharded.details["shards"] >= 2
    assert sharded.frame.equals(inline.frame)


def test_month_not_yet_published_is_a_specific_error(ckan):
    with pytest.raises(MonthNotPublished, match="EPD_SNOMED_202601 is not"):
        ckan.epd_resource(date(2026, 1, 1))


def test_resources_carry_publication_keys(ckan):
    resources = ckan.epd_resources(SNOMED_DATASET)
    assert len(resources) == 19  # 18 main months and the historic 2020-11
    assert all(r.published_at for r in resources)  # falls back to created when null
    assert len({r.version_key for r in resources}) == 19


def test_back_ticked_table_must_match_the_resource(ckan):
    with pytest.raises(SourceError, match="datastore_search_sql EPD_SNOMED_202501"):
        ckan.datastore_search_sql("EPD_SNOMED_202501", "SELECT 1 FROM `EPD_SNOMED_202502`")
