"""Benchmark: build the national dashboard site, and render a practice page in Chromium.

The extract is made the way production makes it, at national scale: the synthetic
warehouse of ``bench_statistics.py`` (about 6,500 practices in 1,250 PCNs, 106 sub-ICB
locations, 42 ICBs and 7 regions, 60 months, every comparator definition), its
statistics computed by ``compute_statistics``, then published by ``build_extract``; the
products behind the numbers are synthesised into it (``--products`` per practice-month),
since the synthetic warehouse has no EPD rows.

``build_site`` then runs in a child process (so its peak memory is its own), beside a
baseline in the same child: DuckDB writing the extract's ``practice_comparators`` to
CSV, the floor of getting the numbers out of the file at all. Finally the site is served
on loopback and headless Chromium opens practice pages and the England page, timing the
page from navigation to charts drawn::

    .venv/bin/python benchmarks/bench_dashboard.py [--practices 6500] [--months 60]

Targets: build <= 120 s and <= 2 GB; no page over 2 MB but the charting library; a
practice page rendered in <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from benchmarks.bench_statistics import load  # noqa: E402
from pipelines.warehouse import connect, run  # noqa: E402

TARGET_SECONDS, TARGET_MB, PAGE_LIMIT, RENDER_SECONDS = 120.0, 2048, 2 * 1024 * 1024, 2.0

CHILD = """
import json, resource, sys, time
from pathlib import Path
import duckdb
from pipelines.dashboard import build_site
extract, out, floor_csv = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
# The site first, so the resident high-water mark read after it is the build's own (the
# workbook writer, a process of its own, reports its own).
build = build_site(extract, out, memory_limit='1GB', temp_directory=out.parent / 'duckdb_tmp')
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started = time.perf_counter()
con = duckdb.connect(str(extract), read_only=True, config={"memory_limit": "1GB"})
con.execute("COPY practice_comparators TO '" + floor_csv + "' (FORMAT csv, HEADER true)")
con.close()
floor = time.perf_counter() - started
print(json.dumps({"floor": floor, "seconds": build.seconds, "pages": build.pages,
                  "files": build.files, "bytes": build.bytes, "peak_mb": peak,
                  "largest_page": build.largest_page_bytes, "workbooks": build.workbooks,
                  "workbook_bytes": build.workbook_bytes,
                  "workbook_seconds": build.workbook_seconds,
                  "workbook_peak_mb": build.workbook_peak_mb}))
"""


def make_extract(work: Path, practices: int, months: int, products: int) -> Path:
    from pipelines.publish import build_extract
    from pipelines.statistics import compute_statistics

    warehouse = work / "warehouse.duckdb"
    with connect(warehouse) as con:
        started = time.perf_counter()
        load(con, months, practices, seed=11)
        compute_statistics(con, min_list_size=1000)
        print(f"warehouse and statistics: {time.perf_counter() - started:.0f}s")
    extract = work / "published" / "opioid_comparators.duckdb"
    extract.parent.mkdir()
    started = time.perf_counter()
    build_extract(warehouse, extract, gate=lambda con: [])
    con = duckdb.connect(str(extract))
    try:
        run(con, "bulk/bench_insert_presentation_breakdown", {"products": products})
    finally:
        con.close()
    print(f"extract: {time.perf_counter() - started:.0f}s, {extract.stat().st_size / 1e6:.0f} MB")
    return extract


def render_times(site: Path, paths: list[str], repeat: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    from pipelines.dashboard.serve import make_server
    from tests import browser

    server = make_server(site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    out = {}
    try:
        with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
            context = browser.launch(pw, Path(profile))
            page = context.new_page()
            page.goto(base + paths[0])  # warm the cache: the library and national data
            page.wait_for_selector("body[data-ready='1']", timeout=60_000)
            for path in paths:
                times = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    page.goto(base + path)
                    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
                    times.append(time.perf_counter() - started)
                out[path] = statistics.median(times)
            context.close()
    finally:
        server.shutdown()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--practices", type=int, default=6500)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the extract and site in this folder")
    parser.add_argument("--extract", type=Path, help="an extract made by an earlier --keep run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_dashboard_") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        extract = args.extract or make_extract(work, args.practices, args.months, args.products)
        site = work / "published" / "dashboard"
        print(f"load average before the build: {os.getloadavg()[0]:.2f}")
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(extract), str(site), str(work / "floor.csv")],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"load average after the build: {os.getloadavg()[0]:.2f}")
        over = [p for p in site.rglob("*.html") if p.is_file() and p.stat().st_size > PAGE_LIMIT]
        downloads = sorted(p.stat().st_size for p in (site / "downloads").rglob("*.csv"))
        practice = sorted((site / "practice").glob("*.html"))[
            len(list((site / "practice").glob("*.html"))) // 2
        ]
        sizes = sorted(p.stat().st_size for p in (site / "practice").glob("*.html"))
        icb = sorted((site / "icb").glob("*.html"))[0]
        renders = render_times(
            site,
            [f"practice/{practice.name}", f"icb/{icb.name}", "index.html"],
            args.repeat,
        )
    print()
    print(
        f"site: {result['pages']:,} pages, {result['files']:,} files, "
        f"{result['bytes'] / 1e6:,.0f} MB"
    )
    print(
        f"build_site: {result['seconds']:.1f}s, peak {result['peak_mb']:,.0f} MB "
        f"(targets {TARGET_SECONDS:.0f}s, {TARGET_MB} MB)"
    )
    print(
        f"workbooks (xlsx): {result['workbooks']:,}, {result['workbook_bytes'] / 1e6:,.1f} MB; "
        f"their writer process {result['workbook_seconds']:.1f}s beside the build, "
        f"peak {result['workbook_peak_mb'] or 0:,.0f} MB (its own, beside the build's)"
    )
    print(
        f"baseline (COPY practice_comparators to CSV, same process): {result['floor']:.1f}s; "
        f"ratio {result['seconds'] / result['floor']:.1f}"
    )
    print(
        f"largest page {result['largest_page'] / 1e3:,.0f} kB; practice pages median "
        f"{sizes[len(sizes) // 2] / 1e3:,.0f} kB, largest {sizes[-1] / 1e3:,.0f} kB; "
        f"pages over 2 MB: {len(over)}; downloads (CSV per organisation): {len(downloads):,}, "
        f"largest {downloads[-1] / 1e6:,.1f} MB (England: every practice)"
    )
    for path, seconds in renders.items():
        print(f"render {path}: {seconds:.2f}s (median of {args.repeat})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
