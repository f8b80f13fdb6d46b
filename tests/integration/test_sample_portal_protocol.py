"""The sample portal speaks the real sources' protocols, over loopback HTTP with httpx."""

from __future__ import annotations

import ast
import csv
import gzip
import io
import json
import os
import re
import shutil
import zipfile
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import duckdb
import httpx
import pytest

from demo.sample_portal import SamplePortal, generate_sample
from demo.sample_portal import generator as gen

SNOMED = "english-prescribing-dataset-epd-with-snomed-code"
RETIRED = "english-prescribing-data-epd"
INDEX = "/data-and-information/publications/statistical/patients-registered-at-a-gp-practice"
ROW_CAP = 3000
# The client's kind of query: one row per practice and presentation for BNF section 0407.
OPIOID_SQL = (
    "SELECT YEAR_MONTH AS YEAR_MONTH, PRACTICE_CODE AS PRACTICE_CODE, BNF_CODE AS BNF_CODE, "
    "SUM(ITEMS) AS ITEMS, SUM(TOTAL_QUANTITY) AS TOTAL_QUANTITY, MAX(QUANTITY) AS QUANTITY, "
    "SUM(NIC) AS NIC, COUNT(*) AS ROW_COUNT FROM `{table}` WHERE BNF_CODE LIKE '0407%' "
    "GROUP BY YEAR_MONTH, PRACTICE_CODE, BNF_CODE"
)


@pytest.fixture(scope="module")
def sample_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's generated sample (shared with other tests when a portal exists)."""
    try:
        return request.getfixturevalue("portal").data_dir
    except pytest.FixtureLookupError:
        root = tmp_path_factory.mktemp("sample")
        generate_sample(root)
        return root


@pytest.fixture(scope="module")
def sample_portal(sample_dir: Path) -> Iterator[SamplePortal]:
    # A small row cap so a month of opioid rows is "too large" and comes back in shards.
    with SamplePortal(sample_dir, row_cap=ROW_CAP) as running:
        yield running


@pytest.fixture
def client(sample_portal: SamplePortal) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sample_portal.url, timeout=20) as c:
        yield c
    sample_portal.clear_faults()
    sample_portal.zip_url_ttl_seconds = 3600


def _action(client: httpx.Client, action: str, **params: object) -> httpx.Response:
    return client.get(f"/api/3/action/{action}", params=params)


def _resources(client: httpx.Client, dataset: str = SNOMED) -> list[dict]:
    body = _action(client, "package_show", id=dataset).json()
    assert body["success"] is True and "help" in body
    return body["result"]["resources"]


def _sql(client: httpx.Client, resource: str, sql: str) -> dict:
    response = _action(client, "datastore_search_sql", resource_id=resource, sql=sql)
    assert response.status_code == 200, response.text
    return response.json()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def _links(html: str, base: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return [urljoin(base, h) for h in parser.hrefs]


# -- CKAN --------------------------------------------------------------------------------


def test_package_show_lists_both_datasets_with_real_quirks(client: httpx.Client) -> None:
    resources = _resources(client)
    assert [r["name"] for r in resources] == [
        gen.resource_name(m) for m in ("2020-11", *gen.MONTHS)
    ]  # the historic EPD_SNOMED_202011, then EPD_SNOMED_202407 .. EPD_SNOMED_202512
    assert all(r["format"] == "CSV" and isinstance(r["size"], int) for r in resources)
    assert any(r["last_modified"] is None for r in resources)
    assert any(r["last_modified"] and r["last_modified"] > r["created"] for r in resources)
    assert {type(r["schema"]) for r in resources} == {dict, str}
    for r in resources:
        schema = r["schema"] if isinstance(r["schema"], dict) else ast.literal_eval(r["schema"])
        assert schema["fields"][0]["name"] == "YEAR_MONTH"
    retired = _resources(client, RETIRED)
    assert [r["name"] for r in retired][0] == "EPD_201401"  # historic months first
    assert [r["name"] for r in retired][-1] == "EPD_202506"
    missing = _action(client, "package_show", id="no-such-dataset")
    assert missing.status_code == 404
    assert missing.json()["success"] is False
    assert missing.json()["error"]["__type"] == "Not Found Error"


def test_csv_download_matches_size_and_resumes_with_range(client: httpx.Client) -> None:
    resource = _resources(client)[3]
    full = client.get(resource["url"])
    assert full.status_code == 200 and len(full.content) == resource["size"]
    assert full.headers["Accept-Ranges"] == "bytes"
    head = client.get(resource["url"], headers={"Range": "bytes=0-999"})
    assert head.status_code == 206
    assert head.headers["Content-Range"] == f"bytes 0-999/{resource['size']}"
    rest = client.get(resource["url"], headers={"Range": "bytes=1000-"})
    assert rest.status_code == 206 and head.content + rest.content == full.content
    beyond = client.get(resource["url"], headers={"Range": f"bytes={resource['size']}-"})
    assert beyond.status_code == 416


def test_resource_show_zip_url_expires(client: httpx.Client, sample_portal: SamplePortal) -> None:
    resource = _resources(client)[-1]
    shown = _action(client, "resource_show", id=resource["id"]).json()["result"]
    assert shown["name"] == resource["name"] and "X-Goog-Expires=" in shown["zip_url"]
    archive = client.get(shown["zip_url"])
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        (name,) = zf.namelist()
        assert zf.read(name) == client.get(resource["url"]).content
    part = client.get(shown["zip_url"], headers={"Range": "bytes=100-"})
    assert part.status_code == 206 and part.content == archive.content[100:]
    sample_portal.zip_url_ttl_seconds = 0
    stale = _action(client, "resource_show", id=resource["id"]).json()["result"]["zip_url"]
    assert client.get(stale).status_code == 403
    tampered = shown["zip_url"].replace("X-Goog-Expires=3600", "X-Goog-Expires=9999")
    assert client.get(tampered).status_code == 403


def test_datastore_search_shape_and_filters(client: httpx.Client) -> None:
    plain = _action(client, "datastore_search", resource_id="EPD_SNOMED_202407", limit=5).json()
    result = plain["result"]
    assert plain["success"] is True
    assert {
        "include_total",
        "resource_id",
        "fields",
        "records_format",
        "records",
        "_links",
        "total",
    } <= set(result)
    assert result["fields"][0] == {"id": "YEAR_MONTH", "type": "NUMERIC"}
    assert {"id": "UNIDENTIFIED", "type": "BOOLEAN"} in result["fields"]
    assert len(result["records"]) == 5 and result["records"][0]["YEAR_MONTH"] == 202407
    filtered = _action(
        client,
        "datastore_search",
        resource_id="EPD_SNOMED_202504",
        limit=3,
        filters=json.dumps({"PCO_CODE": ["97B"]}),
    ).json()["result"]
    assert {r["PCO_CODE"] for r in filtered["records"]} == {"97B"}
    assert filtered["records"][0]["YEAR_MONTH"] == "2025-04"
    unfiltered = _action(client, "datastore_search", resource_id="EPD_SNOMED_202504", limit=1)
    assert filtered["total"] == unfiltered.json()["result"]["total"]  # total ignores filters
    bad = _action(
        client, "datastore_search", resource_id="EPD_SNOMED_202504", filters='{"PCO_CODE": "97B"}'
    )
    assert bad.status_code == 409 and bad.json()["success"] is False


def test_sql_double_envelope_string_true_and_big_integers(client: httpx.Client) -> None:
    body = _sql(
        client,
        "EPD_SNOMED_202501",
        # BigQuery quotes strings with double quotes too.
        'SELECT SNOMED_CODE, ITEMS FROM `EPD_SNOMED_202501` WHERE PRACTICE_CODE = "-" LIMIT 100',
    )
    assert body["success"] is True
    inner = body["result"]
    assert inner["success"] == "true"
    records = inner["result"]["records"]
    assert 0 < len(records) <= 100
    assert {type(r["SNOMED_CODE"]) for r in records} == {int, str}
    assert all(int(r["SNOMED_CODE"]) > 1.2e10 for r in records if isinstance(r["SNOMED_CODE"], str))


def test_sql_first_backticked_table_must_be_the_resource(client: httpx.Client) -> None:
    wrong = _action(
        client,
        "datastore_search_sql",
        resource_id="EPD_SNOMED_202501",
        sql="SELECT COUNT(*) AS N FROM `EPD_SNOMED_202502`",
    )
    assert wrong.status_code == 409 and wrong.json()["success"] is False
    failed = _sql(client, "EPD_SNOMED_202501", "SELECT NO_SUCH_COLUMN FROM `EPD_SNOMED_202501`")
    assert failed["success"] is True
    assert failed["result"]["success"] == "false" and failed["result"]["error"]["message"]


def test_large_results_come_back_as_gzipped_shards(client: httpx.Client, tmp_path: Path) -> None:
    table = "EPD_SNOMED_202502"
    inner = _sql(client, table, OPIOID_SQL.format(table=table))["result"]["result"]
    assert inner["records_truncated"] == "true" and "records" not in inner
    urls = [g["url"] for g in inner["gc_urls"]]
    assert len(urls) >= 2 and all("%60EPD_SNOMED_202502%60" in u for u in urls)
    rows = []
    for url in urls:
        shard = client.get(url)
        assert shard.status_code == 200
        reader = csv.DictReader(io.StringIO(gzip.decompress(shard.content).decode()))
        rows.extend(reader)
    assert len(rows) > ROW_CAP
    got = {
        (r["PRACTICE_CODE"], r["BNF_CODE"]): (int(r["ITEMS"]), int(r["ROW_COUNT"])) for r in rows
    }
    assert len(got) == len(rows)
    # The union of the shards is the whole answer, computed here from the downloaded CSV.
    resource = next(r for r in _resources(client) if r["name"] == table)
    path = tmp_path / f"{table}.csv"
    path.write_bytes(client.get(resource["url"]).content)
    expected = duckdb.execute(
        "SELECT PRACTICE_CODE, BNF_CODE, SUM(ITEMS), COUNT(*) FROM read_csv(?, "
        "types={'PRACTICE_CODE': 'VARCHAR'}) WHERE BNF_CODE LIKE '0407%' GROUP BY 1, 2",
        [str(path)],
    ).fetchall()
    assert got == {(p, b): (int(i), int(n)) for p, b, i, n in expected}


# -- list sizes and ODS --------------------------------------------------------------------


def test_list_size_index_month_page_and_files(
    client: httpx.Client, sample_portal: SamplePortal
) -> None:
    for index_path in (INDEX, INDEX + "/"):
        assert client.get(index_path).status_code == 200
    index_url = sample_portal.env()["OPIOIDS_LIST_SIZE_URL"]
    months = [
        u
        for u in _links(client.get(index_url).text, index_url)
        if re.search(r"-202[45]$", u.rsplit("/", 1)[-1])
    ]
    assert f"{sample_portal.url}{INDEX}/september-2024" in months
    assert len(set(months)) == 18
    page_url = f"{sample_portal.url}{INDEX}/september-2024"
    files = {
        u.rsplit("/", 1)[-1]: u
        for u in _links(client.get(page_url).text, page_url)
        if "/files/" in u
    }
    assert {
        "gp-reg-pat-prac-all.csv",
        "gp-reg-pat-prac-map.csv",
        "gp-reg-pat-prac-sing-age-male.zip",  # zipped in this month
        "gp-reg-pat-prac-sing-age-female.zip",
    } <= set(files)
    all_ages = client.get(files["gp-reg-pat-prac-all.csv"]).text.splitlines()
    assert all_ages[0] == ",".join(gen.LIST_ALL_COLUMNS)
    assert all_ages[1].startswith("GP_PRAC_PAT_LIST,01SEP2024,GP,")
    with zipfile.ZipFile(
        io.BytesIO(client.get(files["gp-reg-pat-prac-sing-age-male.zip"]).content)
    ) as zf:
        assert zf.namelist() == ["gp-reg-pat-prac-sing-age-male.csv"]
    assert client.get(files.get("gp-reg-pat-prac-quin-age.csv", page_url + "/x")).status_code == 404


def test_epraccur_zip(client: httpx.Client, sample_portal: SamplePortal) -> None:
    response = client.get(sample_portal.env()["OPIOIDS_ODS_URL"])
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        assert zf.namelist() == ["epraccur.csv"]
        rows = list(csv.reader(io.StringIO(zf.read("epraccur.csv").decode("latin-1"))))
    assert len(rows) > 300 and {len(r) for r in rows} == {27}
    assert client.get("/").status_code == 200


# -- faults ----------------------------------------------------------------------------


def test_status_fault_with_retry_after_fires_a_set_number_of_times(
    client: httpx.Client, sample_portal: SamplePortal
) -> None:
    spec = sample_portal.set_fault(
        "status", status=429, retry_after=7, endpoint="package_show", times=2
    )
    for _ in range(2):
        limited = _action(client, "package_show", id=SNOMED)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
        assert "Rate limit exceeded" in limited.json()["error"]["message"]
    assert _action(client, "package_show", id=SNOMED).status_code == 200
    assert spec.fired == 2


def test_transport_faults(client: httpx.Client, sample_portal: SamplePortal) -> None:
    sample_portal.set_fault("reset", endpoint="datastore_search", times=1)
    with pytest.raises(httpx.TransportError):
        _action(client, "datastore_search", resource_id="EPD_SNOMED_202407", limit=1)
    sample_portal.set_fault("malformed_json", endpoint="package_show", times=1)
    with pytest.raises(json.JSONDecodeError):
        _action(client, "package_show", id=SNOMED).json()
    sample_portal.set_fault("hang", seconds=2, endpoint="package_show", times=1)
    with pytest.raises(httpx.TimeoutException):
        client.get("/api/3/action/package_show", params={"id": SNOMED}, timeout=0.3)
    sample_portal.set_fault(
        "inner_failure", month="2025-02", message="Rate limit exceeded; try again in 5 seconds"
    )
    failed = _sql(client, "EPD_SNOMED_202502", "SELECT 1 AS ONE FROM `EPD_SNOMED_202502` LIMIT 1")
    assert failed["result"]["success"] == "false"
    assert "Rate limit" in failed["result"]["error"]["message"]
    assert (
        _sql(client, "EPD_SNOMED_202503", "SELECT 1 AS ONE FROM `EPD_SNOMED_202503` LIMIT 1")[
            "result"
        ]["success"]
        == "true"
    )
    resource = _resources(client)[0]
    sample_portal.set_fault("missing_zip_url", times=1)
    assert "zip_url" not in _action(client, "resource_show", id=resource["id"]).json()["result"]


@pytest.mark.parametrize("kind", ["corrupt_shard", "truncated_shard"])
def test_shard_faults(client: httpx.Client, sample_portal: SamplePortal, kind: str) -> None:
    table = "EPD_SNOMED_202410"
    inner = _sql(client, table, OPIOID_SQL.format(table=table))["result"]["result"]
    sample_portal.set_fault(kind, times=1)
    first = client.get(inner["gc_urls"][0]["url"])
    assert first.status_code == 200
    with pytest.raises((OSError, EOFError, zlib.error)):
        gzip.decompress(first.content)
    gzip.decompress(client.get(inner["gc_urls"][0]["url"]).content)  # the retry is clean


def test_data_faults_apply_to_every_endpoint(
    client: httpx.Client, sample_portal: SamplePortal
) -> None:
    table, month = "EPD_SNOMED_202506", "2025-06"
    total_sql = f"SELECT SUM(ITEMS) AS ITEMS FROM `{table}`"
    before = _sql(client, table, total_sql)["result"]["result"]["records"][0]["ITEMS"]
    sample_portal.set_fault("scale_items", month=month, factor=0.4)
    after = _sql(client, table, total_sql)["result"]["result"]["records"][0]["ITEMS"]
    assert after == pytest.approx(before * 0.4, abs=1)
    sample_portal.clear_faults()

    sample_portal.set_fault("rename_column", month=month, column="ITEMS", new_name="ITEM_COUNT")
    sample_portal.set_fault("extra_column", month=month, column="NEW_FLAG", value="N")
    fields = [
        f["id"]
        for f in _action(client, "datastore_search", resource_id=table, limit=1).json()["result"][
            "fields"
        ]
    ]
    assert "ITEMS" not in fields and "ITEM_COUNT" in fields and fields[-1] == "NEW_FLAG"
    resource = next(r for r in _resources(client) if r["name"] == table)
    header = client.get(resource["url"]).text.splitlines()[0].split(",")
    assert header == fields
    retired = next(r for r in _resources(client, RETIRED) if r["name"] == "EPD_202506")
    assert "ITEM_COUNT" in client.get(retired["url"]).text.splitlines()[0]
    sample_portal.clear_faults()

    sample_portal.set_fault("non_numeric_quantity", month=month)
    failed = _sql(client, table, f"SELECT SUM(QUANTITY) AS Q FROM `{table}`")
    assert failed["result"]["success"] == "false"
    sample_portal.clear_faults()

    count_sql = f"SELECT COUNT(*) AS N FROM `{table}`"
    rows_before = _sql(client, table, count_sql)["result"]["result"]["records"][0]["N"]
    sample_portal.set_fault("duplicate_rows", month=month, rows=5)
    rows_after = _sql(client, table, count_sql)["result"]["result"]["records"][0]["N"]
    assert rows_after == rows_before + 5
    sample_portal.clear_faults()

    sample_portal.set_fault("negative_items", month=month, rows=2)
    negative = _sql(client, table, f"SELECT COUNT(*) AS N FROM `{table}` WHERE ITEMS < 0")
    assert negative["result"]["result"]["records"] == [{"N": 2}]
    sample_portal.clear_faults()

    sample_portal.set_fault("empty_month", resource=table)
    empty = _sql(
        client,
        table,
        f"SELECT BNF_PRESENTATION_CODE, SUM(ITEMS) AS ITEMS FROM `{table}` GROUP BY 1",
    )
    assert empty["result"]["result"]["records"] == []
    assert len(client.get(resource["url"]).text.splitlines()) == 1  # header only
    assert (
        _sql(client, "EPD_SNOMED_202505", "SELECT COUNT(*) AS N FROM `EPD_SNOMED_202505`")[
            "result"
        ]["result"]["records"][0]["N"]
        > 0
    )


def test_fault_control_over_http(client: httpx.Client) -> None:
    added = client.post(
        "/_sample/faults",
        json=[{"kind": "status", "status": 503, "endpoint": "ods", "times": 1}],
    )
    assert added.status_code == 201 and added.json()["faults"][0]["id"] > 0
    assert client.get("/assets/ods/current/epraccur.zip").status_code == 503
    listed = client.get("/_sample/faults").json()["faults"]
    assert listed[0]["fired"] == 1
    assert client.get("/assets/ods/current/epraccur.zip").status_code == 200
    assert client.post("/_sample/faults", json={"kind": "no-such-fault"}).status_code == 400
    assert client.delete("/_sample/faults").json() == {"cleared": 1}


# -- re-publication ----------------------------------------------------------------------


def test_republish_is_newer_changes_data_and_persists(sample_dir: Path, tmp_path: Path) -> None:
    # A hard-linked copy: re-publishing writes new files only, so the shared sample is untouched.
    copy = tmp_path / "sample"
    shutil.copytree(sample_dir, copy, copy_function=os.link, ignore=shutil.ignore_patterns("cache"))
    with SamplePortal(copy) as portal, httpx.Client(base_url=portal.url, timeout=20) as c:
        before = next(r for r in _resources(c) if r["name"] == "EPD_SNOMED_202501")
        old_csv = c.get(before["url"]).content
        response = c.post("/_sample/republish", params={"month": "2025-01"})
        assert response.status_code == 200 and response.json()["revision"] == 1
        after = next(r for r in _resources(c) if r["name"] == "EPD_SNOMED_202501")
        assert after["last_modified"] > (before["last_modified"] or before["created"])
        assert after["created"] == before["created"]
        assert c.get(after["url"]).content != old_csv
        assert all(r["last_modified"] > after["created"] for r in response.json()["resources"])
    with SamplePortal(copy) as restarted, httpx.Client(base_url=restarted.url) as c:
        again = next(r for r in _resources(c) if r["name"] == "EPD_SNOMED_202501")
        assert again["last_modified"] == after["last_modified"] and again["size"] == after["size"]
        assert restarted.republish("2025-01")["revision"] == 2
