"""Build the static dashboard site from a published extract.

:func:`build_site` takes only the extract and the folder the site should end up in. It
writes the whole site beside that folder under a temporary name, checks it
(:mod:`pipelines.dashboard.check`), and only then swaps it in, so a reader never sees a
half-built or broken site and a failed build leaves the previous one exactly as it was.
The published dashboard is part of its publication (:mod:`pipelines.releases`):
:class:`ReleaseSite` builds it into a publication's folder before that publication is
switched in, and :func:`rebuild_dashboard` makes a new publication around a rebuilt one.

Layout of the site (every link is relative, so it works from a web server and from
``file://``)::

    index.html                  England
    methodology.html            what is counted and how, and the source resources
    region|icb|sub_icb|pcn/CODE.html, practice/CODE.html
    assets/                     plotly.min.js (one copy, from the plotly wheel), dashboard.js/.css
    data/national.js            months, comparator keys, national deciles and funnel limits
    data/league/LEVEL/CODE/KEY.js   England's or a region's practices for one comparator key
    downloads/LEVEL/CODE.csv    the organisation's practices, latest month, every key
    downloads/LEVEL/CODE.xlsx   the organisation's workbook: Summary, Trend charts, About
                                (England down to PCNs; practice pages link their PCN's)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.dashboard import check, render
from pipelines.dashboard.data import (
    LEVELS,
    DashboardError,
    SiteData,
    league_tables,
    open_extract,
    organisation_series,
    practice_batches,
    read_site,
)
from pipelines.dashboard.downloads import write_downloads
from pipelines.dashboard.workbooks import LEVELS as WORKBOOK_LEVELS
from pipelines.dashboard.workbooks import WorkbookWriter, read_workbook_rows
from pipelines.releases import DASHBOARD, EXTRACT_NAME, republish
from pipelines.warehouse import run

SAFE_CODE = re.compile(r"^[A-Za-z0-9_-]+$")
SEPARATE_LEAGUES = ("england", "region")
EMBED_MAX_PRACTICES = 250  # larger areas get a league file per key, keeping pages < 2 MB


@dataclass(frozen=True)
class SiteBuild:
    """What a build made: where, how many pages and bytes, and how long it took."""

    path: Path
    pages: int
    files: int
    bytes: int
    largest_page_bytes: int
    seconds: float
    data_month: str
    workbooks: int = 0  # downloads/LEVEL/CODE.xlsx, written beside the rest of the build
    workbook_bytes: int = 0
    workbook_seconds: float = 0.0  # the workbook writer's own time (it overlaps the rest)
    workbook_peak_mb: float | None = None  # the writer process's peak resident memory


def build_site(
    extract: Path,
    out_dir: Path,
    *,
    memory_limit: str | None = None,
    temp_directory: Path | None = None,
) -> SiteBuild:
    """Build the site for ``extract`` and swap it in at ``out_dir`` once it checks out.

    ``memory_limit`` and ``temp_directory`` bound DuckDB while it reads the extract (the
    settings ``duckdb_memory_limit`` and ``duckdb_temp_dir``)."""
    started = time.monotonic()
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.{uuid.uuid4().hex[:12]}.tmp")
    writer: WorkbookWriter | None = None
    try:
        con = open_extract(Path(extract), memory_limit=memory_limit, temp_directory=temp_directory)
        try:
            site = read_site(con)
            if not site.publication.get("published_at"):
                # Extracts published before the publication record: the file's own time.
                stamp = datetime.fromtimestamp(Path(extract).stat().st_mtime, UTC)
                site.documents["publication.json"] = json.dumps(
                    {"published_at": stamp.isoformat(timespec="seconds")}
                )
            run(con, "bulk/quiet")
            # The workbooks' rows first: their writer then works beside the rest.
            writer = WorkbookWriter(
                read_workbook_rows(con, site.months),
                [
                    (o.level, o.code, o.name)
                    for o in site.organisations.values()
                    if o.level in WORKBOOK_LEVELS
                ],
                tmp / "downloads",
                _published_at(site),
                work=tmp.with_name(tmp.name + ".workbook-rows"),
            )
            write_downloads(con, tmp / "downloads")
            pages = _write_site(con, site, tmp, writer.planned)
        finally:
            con.close()
        # The pages are checked while the workbooks are still being written (the check
        # is Python on one core, the writer takes the other); then the workbooks.
        pending = writer.paths()
        report = check.check_site(tmp, pages, pending)
        workbooks = writer.result()
        report = check.check_pending(tmp, pending, report)
        _swap_dir(tmp, out_dir)
    finally:
        if writer is not None:
            writer.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return SiteBuild(
        path=out_dir,
        pages=len(pages),
        files=report.files,
        bytes=report.bytes,
        largest_page_bytes=report.largest_page_bytes,
        seconds=time.monotonic() - started,
        data_month=f"{site.latest_month:%Y-%m}",
        workbooks=workbooks.written,
        workbook_bytes=workbooks.bytes,
        workbook_seconds=workbooks.seconds,
        workbook_peak_mb=workbooks.peak_mb,
    )


class ReleaseSite:
    """Builds a publication's dashboard into its folder, from the extract beside it (what
    ``publish(..., add_to_release=...)`` calls); ``build`` then says what it made."""

    def __init__(self, *, memory_limit: str | None = None, temp_directory: Path | None = None):
        self.memory_limit = memory_limit
        self.temp_directory = temp_directory
        self.build: SiteBuild | None = None

    def __call__(self, release: Path) -> None:
        self.build = build_site(
            release / EXTRACT_NAME,
            release / DASHBOARD,
            memory_limit=self.memory_limit,
            temp_directory=self.temp_directory,
        )

    def published(self, published_dir: Path) -> SiteBuild:
        """What was built, located where readers find it once it is current."""
        if self.build is None:
            raise RuntimeError("no dashboard was built")
        return replace(self.build, path=published_dir / DASHBOARD)


def rebuild_dashboard(
    published_dir: Path, *, memory_limit: str | None = None, temp_directory: Path | None = None
) -> SiteBuild:
    """A new publication: the current extract and files unchanged, with a dashboard
    rebuilt from them, checked, then switched in once (the ``opioids dashboard`` command and
    the Dagster ``dashboard`` asset on its own)."""
    site = ReleaseSite(memory_limit=memory_limit, temp_directory=temp_directory)
    republish(published_dir, site)
    return site.published(published_dir)


def _swap_dir(new: Path, final: Path) -> None:
    """Replace ``final`` with ``new``: the old site is moved aside by one rename and the
    new one moved in by another, then the old one removed."""
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


def _safe(code: str) -> str:
    if not SAFE_CODE.match(code or ""):
        raise DashboardError(f"organisation code {code!r} cannot name a page")
    return code


def page_path(level: str, code: str) -> str:
    """A page's path relative to the site root."""
    if level == "england":
        return "index.html"
    return f"{level}/{_safe(code)}.html"


def _site_json(site: SiteData, published_at: str) -> str:
    """The shared data every page loads once (data/national.js)."""
    publication = site.publication
    sources = publication.get("sources", {})
    epd = sources.get("epd", [])
    payload: dict[str, Any] = {
        "months": [f"{m:%Y-%m}" for m in site.months],
        "latest": f"{site.latest_month:%Y-%m}",
        "published_at": published_at,
        "keys": [
            {k: v for k, v in key.items() if k != "sort_order"} | {"order": key["sort_order"]}
            for key in site.keys
        ],
        "national": site.national,
        "epd_resources": [e.get("resource_name") for e in epd if e.get("resource_name")],
    }
    return json.dumps(payload, separators=(",", ":"), default=str)


def _published_at(site: SiteData) -> str:
    return site.publication.get("published_at") or datetime.now(UTC).isoformat(timespec="seconds")


def _write_site(
    con, site: SiteData, root: Path, workbooks: set[tuple[str, str]] | None = None
) -> list[str]:
    root.mkdir(parents=True, exist_ok=True)
    published_at = _published_at(site)
    renderer = render.Renderer(
        site, published_at, downloads=root / "downloads", workbooks=workbooks or set()
    )
    pages: list[str] = []

    def write(rel: str, text: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    render.copy_assets(root / "assets")
    write("data/national.js", f"window.OPIOIDS_SITE={_site_json(site, published_at)};\n")
    write("methodology.html", renderer.methodology())
    pages.append("methodology.html")

    # League tables: a file per comparator key for England, the regions and any area of
    # more than EMBED_MAX_PRACTICES practices; embedded in the page for the others (every
    # key then fits well inside a page, and the site has far fewer files).
    embedded: dict[tuple[str, str], list[str]] = {}
    for level, code, key, league in league_tables(con):
        if (level, code) not in site.organisations:
            continue
        org = site.organisations[(level, code)]
        if level in SEPARATE_LEAGUES or org.n_practices > EMBED_MAX_PRACTICES:
            write(
                f"data/league/{level}/{_safe(code)}/{key}.js",
                f"OPIOIDS_LEAGUE({json.dumps(f'{level}/{code}')},{json.dumps(key)},{league});\n",
            )
        else:
            embedded.setdefault((level, code), []).append(f"{json.dumps(key)}:{league}")

    for level, code, series in organisation_series(con):
        org = site.organisations.get((level, code))
        if org is None:
            continue
        rel = page_path(level, code)
        leagues = embedded.pop((level, code), None)
        league = "{" + ",".join(leagues) + "}" if leagues is not None else None
        write(rel, renderer.organisation(org, series, rel, league))
        pages.append(rel)

    by_code = {p["practice_code"]: p for p in site.practices}
    for batch in practice_batches(con, sorted(by_code)):
        for code, series, products in batch:
            rel = page_path("practice", code)
            write(rel, renderer.practice(by_code[code], series, products, rel))
            pages.append(rel)
    assert set(LEVELS) >= {o.level for o in site.organisations.values()}
    return pages
