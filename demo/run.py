"""The offline demo: the sample portal on loopback, a refresh of its 18 months through
Dagster, publication, and a summary of what was made.

It also lets ``opioids ui`` reopen a demo's data directory with the same sources: the
demo leaves a marker in the data directory, and the UI then serves the sample portal
again (on a new loopback port) and points the code location at it, so *Materialize*
works offline on the instance the demo wrote.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from demo.sample_portal import SamplePortal
from demo.settings import SAMPLE_FIRST_MONTH, SAMPLE_LAST_MONTH, sample_settings
from pipelines.config import Settings

MARKER_NAME = "demo-sources.json"
EXAMPLE_QUERY = "'SELECT * FROM latest_practice_comparators LIMIT 5'"


def marker_path(settings: Settings) -> Path:
    return settings.data_dir / MARKER_NAME


def portal_dir(settings: Settings) -> Path:
    return settings.data_dir / "sample_portal"


def is_demo_data_dir(settings: Settings) -> bool:
    """Whether ``settings.data_dir`` was filled by the demo from the sample portal."""
    return marker_path(settings).is_file()


def run_demo(
    base: Settings,
    echo: Callable[[str], None] = print,
    *,
    verbose: bool = False,
    months: list[date] | None = None,
    publish: bool = True,
) -> Settings:
    """Refresh and publish every sample month (or ``months``); returns the settings the
    demo ran with.

    Raises :class:`pipelines.runner.RunFailed` when a run fails.
    """
    from pipelines.partitions import months_between
    from pipelines.runner import refresh

    with SamplePortal(portal_dir(base)) as portal:
        settings = sample_settings(base, portal.url)
        echo(f"Sample portal on {portal.url} (loopback only); data in {settings.data_dir}")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        marker_path(settings).write_text(
            json.dumps(
                {
                    "sources": "sample portal",
                    "sample_portal_dir": str(portal_dir(base)),
                    "months": [f"{SAMPLE_FIRST_MONTH:%Y-%m}", f"{SAMPLE_LAST_MONTH:%Y-%m}"],
                },
                indent=2,
            )
            + "\n"
        )
        months = months or months_between(SAMPLE_FIRST_MONTH, SAMPLE_LAST_MONTH)
        refresh(settings, months, echo=echo, verbose=verbose, publish=publish, dashboard=publish)
    return settings


def demo_summary(settings: Settings, seconds: float) -> str:
    import duckdb

    from pipelines.warehouse import run

    con = duckdb.connect(str(settings.extract_path), read_only=True)
    try:
        practices, months, comparators, rows = run(con, "publish/summary").fetchall()[0]
    finally:
        con.close()
    files = settings.published_dir / "files"
    return "\n".join(
        [
            f"Pipeline time {seconds:.0f}s: {practices} GP practices x {months} months x "
            f"{comparators} comparators ({rows:,} rows with variants, denominators and "
            "3/12-month windows).",
            f"  DuckDB extract : {settings.extract_path}",
            f"  Parquet / CSV  : {files / 'parquet'}  {files / 'csv'}",
            f"  Methodology    : {files / 'methodology.md'}",
            f"  Try            : .venv/bin/duckdb -readonly {settings.extract_path} {EXAMPLE_QUERY}",
            f"  Dagster UI     : make ui   (DAGSTER_HOME={settings.dagster_home})",
            f"  Dashboard      : {settings.dashboard_dir / 'index.html'}",
            "                   open it in a browser, or: .venv/bin/opioids dashboard --serve",
        ]
    )


def main(base: Settings, echo: Callable[[str], None] = print, *, verbose: bool = False) -> Settings:
    """``opioids demo``: run, then print the summary with the pipeline time."""
    started = time.monotonic()
    settings = run_demo(base, echo=echo, verbose=verbose)
    echo("")
    echo(demo_summary(settings, time.monotonic() - started))
    return settings


def serve_ui(base: Settings, launch: Callable[[Settings], int]) -> int:
    """Serve the sample portal again and run ``launch`` with settings pointing at it."""
    with SamplePortal(portal_dir(base)) as portal:
        settings = sample_settings(base, portal.url)
        print(
            f"This data directory was made by the demo: sources served by the sample portal "
            f"on {portal.url}"
        )
        return launch(settings)
