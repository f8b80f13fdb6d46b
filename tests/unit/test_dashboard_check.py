"""The checks a built dashboard must pass before it replaces the published one."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.dashboard.check import MAX_PAGE_BYTES, SiteCheckFailed, check_pending, check_site

PAGE = """<!doctype html><html><head><link rel="stylesheet" href="{root}assets/dashboard.css">
</head><body><a href="{root}index.html?c=x">England</a> <a href="{root}../files/">files</a>
<a href="https://example.org/">out</a>
<script type="application/json" id="page-data">{data}</script>
<script src="{root}assets/plotly.min.js"></script></body></html>"""


def site(tmp_path: Path) -> tuple[Path, list[str]]:
    root = tmp_path / "site"
    (root / "assets").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "icb").mkdir()
    (root / "assets" / "plotly.min.js").write_text("/* library */")
    (root / "assets" / "dashboard.css").write_text("body{}")
    (root / "data" / "national.js").write_text('window.OPIOIDS_SITE={"months":[]};\n')
    (root / "index.html").write_text(PAGE.format(root="", data='{"a":1}'))
    (root / "icb" / "QSN.html").write_text(PAGE.format(root="../", data='{"b":"<\\/x>"}'))
    return root, ["index.html", "icb/QSN.html"]


def test_a_sound_site_passes_and_is_measured(tmp_path) -> None:
    root, pages = site(tmp_path)
    report = check_site(root, pages)
    assert report.files == 5
    assert report.largest_page_bytes == max((root / p).stat().st_size for p in pages)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda r: (r / "assets" / "dashboard.css").unlink(), "dashboard.css, which does not"),
        (lambda r: (r / "assets" / "plotly-copy.js").write_text("x"), "one charting library"),
        (lambda r: (r / "icb" / "big.js").write_bytes(b"x" * (MAX_PAGE_BYTES + 1)), "over"),
        (
            lambda r: (r / "index.html").write_text(
                PAGE.format(root="", data="{}") + '<script src="https://cdn.example/x.js">'
            ),
            "outside the site",
        ),
        (
            lambda r: (r / "index.html").write_text(PAGE.format(root="", data="{not json")),
            "invalid page data",
        ),
        (
            lambda r: (r / "index.html").write_text("<!doctype html><p>no data</p>"),
            "index.html has no page data",
        ),
        (lambda r: (r / "data" / "national.js").write_text("window.X={;"), "national.js"),
        (lambda r: (r / "icb" / "QSN.html").unlink(), "was not written"),
        (
            lambda r: (r / "index.html").write_text(
                PAGE.format(root="", data="{}") + '<a href="downloads/england/ENG.xlsx">xlsx</a>'
            ),
            "links to downloads/england/ENG.xlsx, which does not exist",
        ),
    ],
)
def test_a_broken_site_is_refused_with_the_reason(tmp_path, breakage, message) -> None:
    root, pages = site(tmp_path)
    breakage(root)
    with pytest.raises(SiteCheckFailed, match=message):
        check_site(root, pages)


def test_a_workbook_still_being_written_is_checked_once_written(tmp_path) -> None:
    """Links to the workbooks pass while their writer runs; check_pending then requires
    each to exist and not be empty, and counts it."""
    root, pages = site(tmp_path)
    workbook = "downloads/england/ENG.xlsx"
    (root / "index.html").write_text(
        PAGE.format(root="", data="{}") + f'<a href="{workbook}">xlsx</a>'
    )
    report = check_site(root, pages, pending=[workbook])
    with pytest.raises(SiteCheckFailed, match=f"{workbook} is linked but was not written"):
        check_pending(root, [workbook], report)
    (root / "downloads" / "england").mkdir(parents=True)
    (root / workbook).write_bytes(b"")
    with pytest.raises(SiteCheckFailed, match=f"{workbook} is empty"):
        check_pending(root, [workbook], report)
    (root / workbook).write_bytes(b"PK" + b"x" * 98)
    final = check_pending(root, [workbook], report)
    assert (final.files, final.bytes) == (report.files + 1, report.bytes + 100)
