"""The dashboard's workbooks: ``downloads/LEVEL/CODE.xlsx`` for every organisation page.

What a medicines optimisation team opens first: the Summary sheet (one row per practice,
the latest month, each headline comparator over 12 months with its percentile rank,
national decile, funnel flag, SPC signal and change on a year, coloured by decile and set
up to print), the Trend sheet (the organisation's monthly values against the national
deciles as native Excel charts) and an About sheet. They are written by the same code as
``opioids export`` (:mod:`pipelines.export.summary`, :mod:`pipelines.export.about`);
what the dashboard leaves out is the full history per comparator, which stays in the
publication's files and in ``opioids export``.

DuckDB reads every organisation's rows in two queries (``sql/export/summary.sql``,
``sql/dashboard/workbook_trend.sql``);
writing the files is Python (xlsxwriter) with no further query, so a process of its own
does it while the build goes on (:class:`WorkbookWriter`). Practices have no workbook of
their own: their pages link their PCN's, which lists them (ADR 0023).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.dashboard.data import DashboardError
from pipelines.export.about import (
    COUNTED_NOTE,
    METHOD_NOTES,
    SOURCE_NOTE,
    Formats,
    open_workbook,
    write_about,
)
from pipelines.export.columns import LEVEL_LABELS
from pipelines.export.organisation import Organisation, finite
from pipelines.export.summary import summary_sheets, write_summary, write_trend
from pipelines.process_stats import peak_resident_mb
from pipelines.warehouse import query_frame

TREND_MONTHS = 24  # months on the Trend sheet; the export and the pages have them all
# The levels with a workbook of their own (1,406 at national scale). Practices link their
# PCN's: xlsxwriter takes 26 ms or more for even a one-practice workbook, and 6,500 of
# them are more processor time than the national build has (ADR 0023).
LEVELS = ("england", "region", "icb", "sub_icb", "pcn")
KEY = ["org_level", "org_code"]
WRITER_MAIN = (
    "import sys; from pathlib import Path; "
    "from pipelines.dashboard.workbooks import main; main(Path(sys.argv[1]))"
)


class Abandoned(RuntimeError):
    """The build that asked for the workbooks is gone."""


@dataclass(frozen=True)
class WorkbookData:
    """What one workbook shows (the attributes the export's sheet writers read)."""

    organisation: Organisation
    summary: pl.DataFrame
    trend: pl.DataFrame


@dataclass(frozen=True)
class WorkbookRows:
    """Every organisation's Summary and Trend rows, as read from the extract."""

    summary: pl.DataFrame
    trend: pl.DataFrame
    latest: date
    first_trend_month: date


@dataclass
class WorkbookReport:
    written: int = 0
    bytes: int = 0
    seconds: float = 0.0
    peak_mb: float | None = None  # the writer process's resident high-water mark


def read_workbook_rows(con: duckdb.DuckDBPyConnection, months: list[date]) -> WorkbookRows:
    """Every organisation's rows for its workbook, in two queries."""
    first = months[-TREND_MONTHS] if len(months) > TREND_MONTHS else months[0]
    levels = list(LEVELS)
    summary = finite(query_frame(con, "export/summary", {"levels": levels, "org": None}))
    trend = finite(
        query_frame(con, "dashboard/workbook_trend", {"levels": levels, "first_month": first})
    )
    return WorkbookRows(summary, trend, months[-1], first)


def write_workbooks(
    rows: WorkbookRows,
    organisations: Iterable[tuple[str, str, str]],
    out: Path,
    published_at: str,
    *,
    abandoned: Callable[[], bool] = lambda: False,
) -> WorkbookReport:
    """Write ``out/LEVEL/CODE.xlsx`` for each (level, code, name) of ``organisations``,
    stopping (:class:`Abandoned`) as soon as ``abandoned()`` says nobody waits for them."""
    started = time.monotonic()
    summaries = rows.summary.partition_by(KEY, as_dict=True, include_key=False)
    trends = rows.trend.partition_by(KEY, as_dict=True, include_key=False)
    empty_summary = rows.summary.drop(KEY).clear()
    empty_trend = rows.trend.drop(KEY).clear()
    report = WorkbookReport()
    for level, code, name in organisations:
        if abandoned():
            raise Abandoned(f"stopped after {report.written} workbook(s): the build is gone")
        data = WorkbookData(
            Organisation(level, code, name),
            summaries.pop((level, code), empty_summary),
            trends.pop((level, code), empty_trend),
        )
        path = out / level / f"{code}.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_workbook(data, path, about_rows(data, rows, published_at))
        report.written += 1
        report.bytes += path.stat().st_size
    report.seconds = time.monotonic() - started
    return report


def write_workbook(data: WorkbookData, path: Path, about: list[tuple[str, str]]) -> None:
    org = data.organisation
    workbook = open_workbook(
        path,
        org,
        "GP practices' opioid prescribing comparators, latest month",
    )
    try:
        formats = Formats(workbook)
        write_summary(workbook, formats, data)
        write_trend(workbook, formats, data)
        write_about(workbook, formats, org, about, summary_sheets(org.code))
    finally:
        workbook.close()


def about_rows(data: WorkbookData, rows: WorkbookRows, published_at: str) -> list[tuple[str, str]]:
    org = data.organisation
    practices = data.summary.get_column("practice_code").n_unique() if data.summary.height else 0
    return [
        ("Organisation", f"{org.code} {org.name or ''}".strip()),
        ("Level", LEVEL_LABELS[org.level]),
        ("GP practices", f"{practices}"),
        (
            "Months",
            f"Summary: {rows.latest:%B %Y} (12 months to it). Trend: "
            f"{rows.first_trend_month:%B %Y} to {rows.latest:%B %Y}.",
        ),
        ("Published", f"{published_at} (the dashboard's publication)"),
        ("Source", SOURCE_NOTE),
        (
            "What is counted",
            COUNTED_NOTE + " The Summary shows the headline comparators (high dose at 90 mg "
            "OME a day; per 1,000 registered patients, or percent of long-acting items).",
        ),
        *METHOD_NOTES,
        (
            "Number formats",
            "Rates are shown to 1 decimal place. The high-dose share is shown as a "
            "percentage: 23.5% is the cell value 0.235, and its change is in percentage "
            "points.",
        ),
        (
            "More",
            "Every comparator, variant, denominator and period for these practices, latest "
            "month: the CSV beside this workbook. Every month: the publication's tables "
            "(CSV and Parquet). Twelve months of every comparator in one workbook: "
            "`opioids export --level LEVEL --org CODE --format xlsx`.",
        ),
    ]


class WorkbookWriter:
    """Writes the workbooks in a process of its own while the caller builds the rest of
    the site (Python's lock would make a thread wait on the page rendering and the
    checks; a process uses the core they leave idle). The rows go to it as Arrow files
    in ``work``; :meth:`result` waits for it and raises :class:`DashboardError` with its
    message if it failed."""

    def __init__(
        self,
        rows: WorkbookRows,
        organisations: list[tuple[str, str, str]],
        out: Path,
        published_at: str,
        work: Path,
    ) -> None:
        self.planned = {(level, code) for level, code, _ in organisations}
        work.mkdir(parents=True, exist_ok=True)
        self._work = work
        rows.summary.write_ipc(work / "summary.arrow")
        rows.trend.write_ipc(work / "trend.arrow")
        job = {
            "organisations": organisations,
            "out": str(out),
            "published_at": published_at,
            "latest": rows.latest.isoformat(),
            "first_trend_month": rows.first_trend_month.isoformat(),
        }
        (work / "job.json").write_text(json.dumps(job))
        code_root = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (code_root, os.environ.get("PYTHONPATH")) if p
            ),
        }
        self._process = subprocess.Popen(
            [sys.executable, "-c", WRITER_MAIN, str(work)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )

    def paths(self) -> list[str]:
        """The workbooks' paths relative to the site (``downloads/LEVEL/CODE.xlsx``)."""
        return sorted(f"downloads/{level}/{code}.xlsx" for level, code in self.planned)

    def result(self) -> WorkbookReport:
        stdout, stderr = self._process.communicate()
        shutil.rmtree(self._work, ignore_errors=True)
        if self._process.returncode != 0:
            last = (stderr.strip().splitlines() or ["no message"])[-1]
            raise DashboardError(f"writing the workbooks failed: {last}")
        return WorkbookReport(**json.loads(stdout))

    def stop(self) -> None:
        """End the writer early (the build failed before it needed the workbooks)."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.communicate()
        shutil.rmtree(self._work, ignore_errors=True)


def main(work: Path) -> None:
    """The writer process: the job in ``work`` written, its report printed as JSON.

    It runs at the build's own priority: the build waits for it at the end, so a lower
    one would only make the build wait longer on a busy machine. If the build dies (a
    crash, a SIGKILL) it is re-parented, and it stops at the next workbook instead of
    writing into a folder the next publication sweeps."""
    parent = os.getppid()
    job = json.loads((work / "job.json").read_text())
    rows = WorkbookRows(
        pl.read_ipc(work / "summary.arrow"),
        pl.read_ipc(work / "trend.arrow"),
        date.fromisoformat(job["latest"]),
        date.fromisoformat(job["first_trend_month"]),
    )
    organisations = [tuple(o) for o in job["organisations"]]
    try:
        report = write_workbooks(
            rows,
            organisations,
            Path(job["out"]),
            job["published_at"],
            abandoned=lambda: os.getppid() != parent,
        )
    except Abandoned as exc:
        sys.exit(str(exc))
    report.peak_mb = peak_resident_mb()
    print(json.dumps(asdict(report)))
