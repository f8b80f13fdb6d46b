"""The dashboard in a real browser: headless Chromium on the site a real publication
carries (13 months through Dagster against the sample portal, the dashboard built in the
publication's step; shared with the other output tests).

One site is built per session and served on loopback; every test opens pages in one
browser. What is checked: every kind of page loads with no console error and no request
leaving the site (over HTTP and from ``file://``); the charts show the expected points with
the extract's values; links drill down from England to a practice and back, carrying the
choices; the choosers change the charts. Screenshots of an ICB page and a practice page
are saved under ``test-artifacts/``.
"""

from __future__ import annotations

import hashlib
import posixpath
import threading
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from pipelines.config import REPO_ROOT
from pipelines.dashboard.serve import make_server
from tests import browser
from tests.support import default_signals, portal_settings

pytestmark = pytest.mark.integration

DEFAULT_KEY = ("opioid_items", "standard", "patients", "12m")  # the choosers' defaults
ICB = "QSN"
SCREENSHOTS = REPO_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def site(outputs_extract: Path, portal) -> dict:
    """The site of the shared publication, and what the Dagster ``dashboard`` asset
    reported when the refresh built it."""
    from pipelines.releases import current_release

    settings = portal_settings(outputs_extract.parent.parent, portal.url)
    with DagsterInstance.from_config(str(settings.data_dir.parent / "dagster_home")) as instance:
        event = instance.get_latest_materialization_event(AssetKey("dashboard"))
    assert event is not None and event.asset_materialization is not None
    # Built inside the publication it belongs to, beside its extract.
    release = current_release(settings.published_dir)
    assert settings.dashboard_dir.resolve() == release / "dashboard"
    assert outputs_extract.resolve() == release / outputs_extract.name
    return {
        "root": settings.dashboard_dir,
        "metadata": event.asset_materialization.metadata,
        "extract": outputs_extract,
        "settings": settings,
    }


@pytest.fixture(scope="session")
def server(site):
    httpd = make_server(site["root"])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """One browser for this module, closed at its end: Playwright's sync API holds an event
    loop in the thread while it is open, which other modules' Dagster calls cannot share."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = browser.launch(playwright, tmp_path_factory.mktemp("chromium-profile"))
        yield context
        context.close()


@pytest.fixture
def open_page(chromium, server):
    """Open a site page over HTTP, wait until its charts are drawn; returns (page, watch)."""
    pages = []

    def opener(path: str, prefix: str | None = None):
        page = chromium.new_page()
        pages.append(page)
        seen = browser.watch(page, (prefix or server,))
        page.goto((prefix or server) + path)
        page.wait_for_selector("body[data-ready='1']", timeout=20_000)
        return page, seen

    yield opener
    for page in pages:
        page.close()


@pytest.fixture(scope="module")
def con(site):
    connection = duckdb.connect(str(site["extract"]), read_only=True)
    yield connection
    connection.close()


def organisations(con) -> dict[str, str]:
    """One code per level, all on the way to one practice of the ICB."""
    row = con.execute(
        "SELECT region_code, icb_code, sub_icb_code, pcn_code, practice_code FROM practices "
        "WHERE icb_code = $icb AND pcn_code IS NOT NULL ORDER BY practice_code LIMIT 1",
        {"icb": ICB},
    ).fetchone()
    return dict(zip(["region", "icb", "sub_icb", "pcn", "practice"], row, strict=True))


def traces(page, chart: str, meta: str) -> list[dict]:
    return page.evaluate(
        "([id, meta]) => (document.getElementById(id).data || [])"
        ".filter(t => t.meta === meta).map(t => ({x: t.x, y: t.y, c: t.customdata}))",
        [chart, meta],
    )


def test_the_asset_reports_the_site(site) -> None:
    metadata = site["metadata"]
    index = site["root"] / "index.html"
    assert metadata["open"].value == index.as_uri() and index.is_file()
    assert metadata["pages"].value == len(list(site["root"].rglob("*.html")))
    workbooks = list((site["root"] / "downloads").rglob("*.xlsx"))
    assert metadata["workbooks"].value == len(workbooks) > 0
    libraries = list(site["root"].rglob("plotly*.js"))
    assert [p.relative_to(site["root"]).as_posix() for p in libraries] == ["assets/plotly.min.js"]


def test_every_kind_of_page_loads_with_no_error_and_nothing_fetched_outside(open_page, con) -> None:
    orgs = organisations(con)
    paths = ["index.html", "methodology.html"] + [
        f"{level}/{code}.html" for level, code in orgs.items()
    ]
    for path in paths:
        page, seen = open_page(path)
        assert seen.errors == [], path
        assert seen.outside == [], path
        assert "Data month December 2025" in page.inner_text("#provenance"), path
        assert page.locator("a[href*='methodology.html']").count() >= 1, path
        if path != "methodology.html":
            downloads = page.locator("a[data-download][href*='downloads/']")
            assert downloads.count() >= 1, path


def test_the_site_works_from_file_urls(chromium, site, con) -> None:
    root = site["root"].resolve().as_uri() + "/"
    page = chromium.new_page()
    seen = browser.watch(page, (root,))
    try:
        page.goto(root + f"practice/{organisations(con)['practice']}.html?p=1m")
        page.wait_for_selector("body[data-ready='1']", timeout=20_000)
        assert len(traces(page, "trend-chart", "selected")[0]["y"]) == 13
        page.click("nav.crumbs a[href^='../index.html']")
        page.wait_for_selector("body[data-ready='1']", timeout=20_000)
        assert page.locator("#league tbody tr").count() == 290 - _without_latest(con)
        assert "p=1m" in page.url
    finally:
        page.close()
    assert seen.errors == [] and seen.outside == []


def _without_latest(con) -> int:
    return con.execute(
        "SELECT count(*) FROM practices WHERE practice_code NOT IN "
        "(SELECT practice_code FROM practice_comparators WHERE month = DATE '2025-12-01')"
    ).fetchone()[0]


def test_icb_funnel_has_every_eligible_practice_at_its_extract_value(open_page, con) -> None:
    page, _ = open_page(f"icb/{ICB}.html")
    expected = con.execute(
        "SELECT c.practice_code, c.denominator, c.value FROM practice_comparators AS c "
        "JOIN practices AS p USING (practice_code) WHERE p.icb_code = $icb "
        "AND c.month = DATE '2025-12-01' AND c.comparator_id = $c AND c.variant = $v "
        "AND c.denominator_type = $d AND c.period = $p AND c.eligible",
        {
            "icb": ICB,
            "c": DEFAULT_KEY[0],
            "v": DEFAULT_KEY[1],
            "d": DEFAULT_KEY[2],
            "p": DEFAULT_KEY[3],
        },
    ).fetchall()
    shown = {}
    for trace in traces(page, "funnel-chart", "practices"):
        for code, x, y in zip(trace["c"], trace["x"], trace["y"], strict=True):
            shown[code] = (x, y)
    assert len(expected) > 50
    assert set(shown) == {code for code, _, _ in expected}
    for code, denominator, value in expected:
        assert shown[code][0] == pytest.approx(denominator)
        assert shown[code][1] == pytest.approx(value, abs=5e-5)
    assert page.get_attribute("#funnel-chart", "data-points") == str(len(expected))
    # The league table lists every practice of the ICB with the latest value.
    members = con.execute(
        "SELECT count(*) FROM practices AS p JOIN practice_comparators AS c USING (practice_code) "
        "WHERE p.icb_code = $icb AND c.month = DATE '2025-12-01' AND c.comparator_id = $c "
        "AND c.variant = $v AND c.denominator_type = $d AND c.period = $p",
        {
            "icb": ICB,
            "c": DEFAULT_KEY[0],
            "v": DEFAULT_KEY[1],
            "d": DEFAULT_KEY[2],
            "p": DEFAULT_KEY[3],
        },
    ).fetchone()[0]
    assert page.locator("#league tbody tr").count() == members


def test_practice_charts_show_the_extract_values(open_page, con) -> None:
    code = organisations(con)["practice"]
    page, _ = open_page(f"practice/{code}.html?c=opioid_ome_daily&d=adults&p=1m")
    rows = con.execute(
        "SELECT c.value, c.spc_mean, c.spc_ucl, c.spc_lcl, c.spc_signal, d.value AS median "
        "FROM practice_comparators AS c LEFT JOIN national_deciles AS d "
        "ON d.month = c.month AND d.comparator_id = c.comparator_id AND d.variant = c.variant "
        "AND d.denominator_type = c.denominator_type AND d.period = c.period "
        "AND d.percentile = 50 WHERE c.practice_code = $code "
        "AND c.comparator_id = 'opioid_ome_daily' AND c.denominator_type = 'adults' "
        "AND c.period = '1m' ORDER BY c.month",
        {"code": code},
    ).fetchall()
    (trend,) = traces(page, "trend-chart", "selected")
    assert trend["y"] == pytest.approx([r[0] for r in rows], abs=5e-5)
    (median,) = traces(page, "trend-chart", "decile-50")
    assert median["y"] == pytest.approx([r[5] for r in rows], abs=5e-4)
    (mean,) = traces(page, "spc-chart", "spc-mean")
    (ucl,) = traces(page, "spc-chart", "spc-ucl")
    assert mean["y"][0] == pytest.approx(rows[0][1], abs=5e-5)
    assert ucl["y"][0] == pytest.approx(rows[0][2], abs=5e-5)
    by_signal = {
        signal: len(traces(page, "spc-chart", f"spc-{signal}")[0]["y"])
        for signal in {r[4] for r in rows}
    }
    assert by_signal == {s: sum(1 for r in rows if r[4] == s) for s in by_signal}
    (point,) = traces(page, "funnel-chart", "selected")
    assert point["y"] == pytest.approx([rows[-1][0]], abs=5e-5)
    products = page.locator("#products tbody tr").count()
    expected = con.execute(
        "SELECT count(*) FROM presentation_breakdown WHERE practice_code = $code "
        "AND month = DATE '2025-12-01'",
        {"code": code},
    ).fetchone()[0]
    assert products == expected > 0


def test_drill_down_from_england_to_a_practice_and_back(open_page, con) -> None:
    orgs = organisations(con)
    page, seen = open_page("index.html?c=opioid_ome_daily&p=3m")
    steps = [
        f"a[href^='region/{orgs['region']}.html']",
        f"a[href^='../icb/{orgs['icb']}.html']",
        f"a[href^='../sub_icb/{orgs['sub_icb']}.html']",
        f"a[href^='../pcn/{orgs['pcn']}.html']",
        f"#league a[href^='../practice/{orgs['practice']}.html']",
    ]
    for selector in steps:
        page.click(f"main {selector}")
        page.wait_for_selector("body[data-ready='1']", timeout=20_000)
        assert "c=opioid_ome_daily" in page.url and "p=3m" in page.url, selector
        assert page.input_value("#choose-period") == "3m"
    assert page.url.split("?")[0].endswith(f"practice/{orgs['practice']}.html")
    page.click("nav.crumbs a[href^='../index.html']")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    assert page.url.split("?")[0].endswith("/index.html")
    assert page.input_value("#choose-comparator") == "opioid_ome_daily"
    assert seen.errors == [] and seen.outside == []


def test_choosers_change_the_charts_and_the_url(open_page, con) -> None:
    page, seen = open_page(f"icb/{ICB}.html?p=1m")

    def icb_values(comparator: str, variant: str, denominator: str) -> list[float]:
        return [
            r[0]
            for r in con.execute(
                "SELECT value FROM organisation_comparators WHERE org_level = 'icb' "
                "AND org_code = $icb AND comparator_id = $c AND variant = $v "
                "AND denominator_type = $d AND period = '1m' ORDER BY month",
                {"icb": ICB, "c": comparator, "v": variant, "d": denominator},
            ).fetchall()
        ]

    (before,) = traces(page, "trend-chart", "selected")
    assert before["y"] == pytest.approx(
        icb_values("opioid_items", "standard", "patients"), abs=5e-5
    )
    page.select_option("#choose-comparator", "high_dose_items")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.select_option("#choose-threshold", "120")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.select_option("#choose-denominator", "adults")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    (after,) = traces(page, "trend-chart", "selected")
    assert after["y"] == pytest.approx(icb_values("high_dose_items", "120mg", "adults"), abs=5e-5)
    assert "c=high_dose_items" in page.url and "t=120" in page.url and "d=adults" in page.url
    # The league table re-sorts on a heading and filters by name or code.
    page.click("#league th button[data-sort='name']")
    names = page.locator("#league tbody th a").all_inner_texts()
    assert names == sorted(names, key=str.lower) or names == sorted(names)
    code = organisations(con)["practice"]
    page.fill("#league-filter", code)
    page.wait_for_function("document.querySelectorAll('#league tbody tr').length === 1")
    assert seen.errors == [] and seen.outside == []


def test_pages_link_a_workbook_that_exists_and_opens(open_page, con, site) -> None:
    """The ICB and PCN pages link their own workbook; a practice page its PCN's, which
    lists the practice (ADR 0023). Each is the file the link names, and opens."""
    import openpyxl

    orgs = organisations(con)
    expected = {
        f"icb/{ICB}.html": (f"downloads/icb/{ICB}.xlsx", "icb_code", ICB),
        f"pcn/{orgs['pcn']}.html": (f"downloads/pcn/{orgs['pcn']}.xlsx", "pcn_code", orgs["pcn"]),
        f"practice/{orgs['practice']}.html": (
            f"downloads/pcn/{orgs['pcn']}.xlsx",
            "pcn_code",
            orgs["pcn"],
        ),
    }
    for path, (target, column, code) in expected.items():
        page, _ = open_page(path)
        links = page.locator("a[data-download][href$='.xlsx']")
        assert links.count() == 1, path
        href = links.get_attribute("href")
        assert posixpath.normpath(posixpath.join(posixpath.dirname(path), href)) == target
        if path.startswith("practice/"):
            assert "this practice included" in links.inner_text()
        book = openpyxl.load_workbook(site["root"] / target, read_only=True)
        try:
            assert book.sheetnames == ["Summary", "Trend", "About"]
            shown = {r[0] for r in book["Summary"].iter_rows(min_row=7, values_only=True)}
        finally:
            book.close()
        members = con.execute(
            f"SELECT DISTINCT practice_code FROM practices JOIN practice_comparators "
            f"USING (practice_code) WHERE {column} = $code AND month = DATE '2025-12-01'",
            {"code": code},
        ).fetchall()
        assert shown == {m[0] for m in members}, path
        assert orgs["practice"] in shown


def test_screenshots_of_an_icb_and_a_practice_page(open_page, con) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    for name, path in [
        ("icb", f"icb/{ICB}.html?c=opioid_ome_daily&p=3m"),
        ("practice", f"practice/{organisations(con)['practice']}.html?p=1m"),
    ]:
        page, _ = open_page(path)
        target = SCREENSHOTS / f"dashboard-{name}.png"
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 50_000


def test_a_rebuild_that_fails_its_checks_leaves_the_publication_as_it_was(
    site, monkeypatch
) -> None:
    from pipelines.dashboard import SiteCheckFailed, rebuild_dashboard
    from pipelines.releases import RELEASES, current_release

    published = site["settings"].published_dir

    def snapshot() -> dict[str, bytes]:
        return {
            p.relative_to(published).as_posix(): hashlib.sha256(p.read_bytes()).digest()
            for name in ("dashboard", "files")
            for p in (published / name).rglob("*")
            if p.is_file()
        }

    before, current = snapshot(), current_release(published)

    def refuse(*_args, **_kwargs):
        raise SiteCheckFailed("the dashboard failed its checks: a page links nowhere")

    monkeypatch.setattr("pipelines.dashboard.check.check_site", refuse)
    with pytest.raises(SiteCheckFailed):
        rebuild_dashboard(published)
    assert current_release(published) == current and snapshot() == before
    assert [p.name for p in (published / RELEASES).iterdir() if p.name.startswith(".")] == []


def test_dashboard_command_builds_and_serves_on_loopback(site, capsys, monkeypatch) -> None:
    import os
    import signal
    import subprocess
    import sys

    import httpx

    from pipelines.cli import main
    from pipelines.releases import current_release

    settings = site["settings"]
    monkeypatch.setenv("OPIOIDS_DATA_DIR", str(settings.data_dir))
    before = current_release(settings.published_dir)
    assert main(["dashboard"]) == 0
    printed = capsys.readouterr().out
    assert f"{settings.dashboard_dir / 'index.html'}" in printed and "pages for 2025-12" in printed
    assert current_release(settings.published_dir) != before  # a new publication
    opioids = Path(sys.executable).parent / "opioids"
    server = subprocess.Popen(
        [str(opioids), "dashboard", "--serve", "--no-build", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
        preexec_fn=default_signals,
    )
    try:
        line = server.stdout.readline()
        assert "Serving the dashboard on http://127.0.0.1:" in line
        url = line.split(" on ")[1].split()[0]
        response = httpx.get(url, timeout=10)
        assert response.status_code == 200 and "Opioid prescribing comparators" in response.text
    finally:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            status = Path(f"/proc/{server.pid}/status").read_text()
            server.kill()
            raise AssertionError(f"the server outlived SIGTERM:\n{status}") from None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dashboard"], "error: no published extract at"),
        (["dashboard", "--extract", "none.duckdb", "--out", "site"], "error: no published extract"),
        (["dashboard", "--extract", "kept.duckdb"], "error: --extract builds a site outside"),
    ],
)
def test_dashboard_command_without_an_extract_fails_in_one_line(
    args, message, tmp_path, capsys, monkeypatch
) -> None:
    from pipelines.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPIOIDS_DATA_DIR", str(tmp_path / "data"))
    code = main(args)
    err = capsys.readouterr().err
    assert code != 0 and err.startswith(message), err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2
