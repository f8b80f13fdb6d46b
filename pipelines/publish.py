"""Publishing: a new publication is built aside, checked, then switched in at once.

The extract is built from the warehouse into a new publication folder and checked by the
gate; its tables are exported beside it as Parquet and CSV under ``files/``, and the
dashboard site (``add_to_release``) is built and checked from it; only then does the
publication become current, in one switch (:mod:`pipelines.releases`). If the gate or any
later step fails, or the process dies, the previous publication stays current, byte for
byte.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines import releases
from pipelines.dictionary import wide_column_comment_texts
from pipelines.staging import sha256_file
from pipelines.validation import CheckOutcome, failures
from pipelines.warehouse import (
    comment_on_column,
    query_frame,
    run,
    run_script,
    run_template,
    sql_body,
)

log = logging.getLogger(__name__)

EXTRACT_NAME = releases.EXTRACT_NAME
FILES = releases.FILES
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
    """Every exported table as Parquet and as CSV (text cells made formula-safe)."""
    con = duckdb.connect(str(extract), read_only=True)
    try:
        (out_dir / "parquet").mkdir(parents=True)
        (out_dir / "csv").mkdir(parents=True)
        run(con, "publish/csv_safe_macro")
        for table in EXPORT_TABLES:
            run_template(
                con,
                "publish/export_table",
                {"table": table, "format": "parquet", "options": ", COMPRESSION zstd"},
                _ALLOWED,
                {"path": str(out_dir / "parquet" / f"{table}.parquet")},
            )
            _export_csv(con, table, out_dir / "csv" / f"{table}.csv")
    finally:
        con.close()


def _export_csv(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    if table not in EXPORT_TABLES:
        raise ValueError(f"{table!r} is not an exported table")
    text_columns = query_frame(con, "publish/text_columns", {"table": table})
    # Column names come from the extract's own catalog; quoted as identifiers.
    quoted = ['"' + name.replace('"', '""') + '"' for name in text_columns["column_name"]]
    replace = (
        "REPLACE (" + ", ".join(f"csv_safe({q}) AS {q}" for q in quoted) + ")" if quoted else ""
    )
    statement = sql_body("publish/export_csv").format(table=table, replace=replace)
    con.execute(statement, {"path": str(path)})


def publish(
    warehouse_path: Path,
    published_dir: Path,
    *,
    gate: Gate,
    extra_files: dict[str, str] | None = None,
    add_to_release: Callable[[Path], None] | None = None,
) -> Publication:
    """Build and check a new publication; switch to it only if the gate passes.

    ``extra_files`` are written into the publication's ``files/``; ``add_to_release`` is
    called with the new publication's folder (its extract and files already there) to add
    more to it, such as the dashboard in ``dashboard/``, before it becomes visible; if it
    raises, nothing is published.
    """
    final_extract = published_dir / EXTRACT_NAME
    with releases.building(published_dir) as folder:
        counts, outcomes = build_extract(warehouse_path, folder / EXTRACT_NAME, gate, extra_files)
        if failures(outcomes):
            return Publication(False, final_extract, None, counts, None, outcomes)
        releases.step("built")
        export_files(folder / EXTRACT_NAME, folder / FILES)
        for name, text in (extra_files or {}).items():
            (folder / FILES / name).write_text(text)
        if add_to_release is not None:
            add_to_release(folder)
        releases.make_current(published_dir, folder)
    return Publication(
        published=True,
        extract_path=final_extract,
        checksum_sha256=sha256_file(final_extract),
        row_counts=counts,
        published_at=datetime.now(UTC).isoformat(timespec="seconds"),
        outcomes=outcomes,
    )
