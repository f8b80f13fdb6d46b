"""One table of settings: defaults, environment variables and their documentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import REPO_ROOT, Settings, load_settings, setting_docs, settings_environ


def test_defaults_are_the_real_sources() -> None:
    s = load_settings({})
    assert s == Settings()
    assert s.portal_url == "https://opendata.nhsbsa.net"
    assert s.fetch_route == "sql" and s.first_month == "2020-11"


def test_every_setting_reads_its_variable_with_its_type(tmp_path: Path) -> None:
    env = {
        "OPIOIDS_PORTAL_URL": "http://127.0.0.1:9/",
        "OPIOIDS_DATA_DIR": str(tmp_path),
        "OPIOIDS_MIN_LIST_SIZE": "250",
        "OPIOIDS_HTTP_TIMEOUT": "7.5",
        "OPIOIDS_FETCH_ROUTE": "BULK",
        "OPIOIDS_FIRST_MONTH": "2017-01",
    }
    s = load_settings(env)
    assert s.portal_url == "http://127.0.0.1:9"  # no trailing slash
    assert s.data_dir == tmp_path.resolve()
    assert s.min_list_size == 250 and isinstance(s.min_list_size, int)
    assert s.http_timeout_seconds == 7.5
    assert s.fetch_route == "bulk"
    assert s.first_month == "2017-01"


def test_round_trip_through_the_environment(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, min_list_size=5, fetch_route="auto")
    assert load_settings(settings_environ(s)) == s


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("OPIOIDS_MIN_LIST_SIZE", "lots", "OPIOIDS_MIN_LIST_SIZE must be a int"),
        ("OPIOIDS_FIRST_MONTH", "2017", "OPIOIDS_FIRST_MONTH must be a month as YYYY-MM"),
        ("OPIOIDS_FETCH_ROUTE", "ftp", "OPIOIDS_FETCH_ROUTE must be one of sql, bulk, auto"),
    ],
)
def test_bad_values_name_their_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_settings({name: value})


def test_empty_variables_keep_the_default() -> None:
    assert load_settings({"OPIOIDS_MIN_LIST_SIZE": "  "}).min_list_size == 1000


def test_the_readme_documents_every_setting() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    missing = [doc.env for doc in setting_docs() if f"`{doc.env}`" not in readme]
    assert missing == []
