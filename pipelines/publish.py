"""Publishing: a new extract is built aside, checked, then swapped in atomically.

Readers (analysts' DuckDB sessions, dashboards) only ever see a complete extract: the new
file is built under a temporary name in the same directory and renamed over the old one,
which is atomic on POSIX. If building or checking fails, the previous publication stays
exactly as it was, byte for byte.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.dictionary import wide_column_comment_texts
from pipelines.staging import sha256_file
from pipelines.validation import CheckOutcome, failures
from pipelines.warehouse import comment_on_column, run, run_script, run_template

EXTRACT_NAME = "opioid_comparators.duckdb"
# The on-disk format the extract is written in. The pipeline's own DuckDB writes a newer
# format by default, which DuckDB 1.x readers (the 1.5 command line, R, DBeaver, Power BI
# connectors) refuse to open; v1.0.0 is readable by every DuckDB from 1.0 on, and costs
# about 3% in file size against the newest format.
EXTRACT_STORAGE_VERSION = "v1.0.0"
# Tables copied out as Parquet and CSV beside the extract, for tools without DuckDB.
EXPORT_TABLES = (
    "comparators",
    "practices",
    "practice_comparators",
    "organisation_comparators",
    "national_deciles",
    "organisation_deciles",
    "funnel_curves",
    "presentation_breakdown",
    "opioid_presentations",
    "unresolved_presentations",
    "latest_practice_wide",
    "latest_organisation_wide",
)


_ALLOWED = {
    "table": EXPORT_TABLES,
    "format": ("parquet", "csv"),
    "options": (", COMPRESSION zstd", ", HEADER true"),
}


@dataclass(frozen=True)
class Publication:
    """What a publish attempt did: ``published`` is false when the gate failed."""

    published: bool
    extract_path: Path
    checksum_sha256: str | None
    row_counts: dict[str, int]
    published_at: str | None
    outcomes: list[CheckOutcome]


Gate = Callable[[duckdb.DuckDBPyConnection], list[CheckOutcome]]


def build_extract(
    warehouse_path: Path, target: Path, gate: Gate, documents: dict[str, str] | None = None
) -> tuple[dict[str, int], list[CheckOutcome]]:
    """Create the extract's tables in ``target`` (a new file) and run the gate on it."""
    con = duckdb.connect(
        str(target), config={"storage_compatibility_version": EXTRACT_STORAGE_VERSION}
    )
    try:
        run(con, "publish/attach_warehouse", {"path": str(warehouse_path)})
        run_script(con, "publish/extract")
        run_script(con, "publish/views")
        run_script(con, "publish/comments")
        for table, column, text in wide_column_comment_texts(con):
            comment_on_column(con, table, column, text)
        # Documents (the methodology page) travel inside the extract too, for readers who
        # only have the DuckDB file.
        run_script(con, "publish/create_documents")
        for name, text in (documents or {}).items():
            run(con, "publish/insert_document", {"name": name, "content": text})
        run(con, "publish/detach_warehouse")
        counts = {
            t: run_template(con, "publish/count_table", {"table": t}, _ALLOWED).fetchall()[0][0]
            for t in EXPORT_TABLES
        }
        outcomes = gate(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return counts, outcomes


def export_files(extract: Path, out_dir: Path) -> None:
    con = duckdb.connect(str(extract), read_only=True)
    try:
        (out_dir / "parquet").mkdir(parents=True)
        (out_dir / "csv").mkdir(parents=True)
        for table in EXPORT_TABLES:
            for fmt, options in (("parquet", ", COMPRESSION zstd"), ("csv", ", HEADER true")):
                run_template(
                    con,
                    "publish/export_table",
                    {"table": table, "format": fmt, "options": options},
                    _ALLOWED,
                    {"path": str(out_dir / fmt / f"{table}.{fmt}")},
                )
    finally:
        con.close()


def publish(
    warehouse_path: Path,
    published_dir: Path,
    *,
    gate: Gate,
    extra_files: dict[str, str] | None = None,
) -> Publication:
    """Build and check a new publication; swap it in atomically only if the gate passes."""
    published_dir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    tmp_extract = published_dir / f".{EXTRACT_NAME}.{token}.tmp"
    tmp_files = published_dir / f".files.{token}.tmp"
    final_extract = published_dir / EXTRACT_NAME
    try:
        counts, outcomes = build_extract(warehouse_path, tmp_extract, gate, extra_files)
        if failures(outcomes):
            return Publication(False, final_extract, None, counts, None, outcomes)
        export_files(tmp_extract, tmp_files)
        for name, text in (extra_files or {}).items():
            (tmp_files / name).write_text(text)
        with open(tmp_extract, "rb") as fh:
            os.fsync(fh.fileno())
        # Swap: the extract in one rename; the file folders by moving the old one aside.
        os.replace(tmp_extract, final_extract)
        _swap_dir(tmp_files, published_dir / "files")
    finally:
        tmp_extract.unlink(missing_ok=True)
        shutil.rmtree(tmp_files, ignore_errors=True)
    return Publication(
        published=True,
        extract_path=final_extract,
        checksum_sha256=sha256_file(final_extract),
        row_counts=counts,
        published_at=datetime.now(UTC).isoformat(timespec="seconds"),
        outcomes=outcomes,
    )


def _swap_dir(new: Path, final: Path) -> None:
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)
