"""Publishing: a new publication is built aside, checked, then switched in at once.

Readers (analysts' DuckDB sessions, dashboards) only ever see one complete publication.
Each publication is a folder ``published/releases/<id>/`` holding the extract, its
Parquet and CSV copies under ``files/`` (and, later, the dashboard), and
``published/current`` is a symbolic link to the folder of the current one. A publication
becomes visible in one step, the atomic rename of a new ``current`` link over the old, so
the extract and its files always come from the same publication. The paths readers use
are fixed links through ``current`` (``published/opioid_comparators.duckdb``,
``published/files``, ``published/dashboard``).

If building or checking fails, or the process dies at any step, the previous publication
stays current, byte for byte. The previous publication is kept after a switch (a reader
may still have it open) and removed, with any temporaries a crash left, when the next
publication starts.
"""

from __future__ import annotations

import contextlib
import logging
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
from pipelines.warehouse import (
    comment_on_column,
    query_frame,
    run,
    run_script,
    run_template,
    sql_body,
)

log = logging.getLogger(__name__)

EXTRACT_NAME = "opioid_comparators.duckdb"
RELEASES = "releases"
CURRENT = "current"
FILES = "files"
# What readers open, each a fixed link through ``current`` to the current publication's.
STABLE_NAMES = (EXTRACT_NAME, FILES, "dashboard")
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
    more to it, such as a dashboard in ``dashboard/``, before it becomes visible.
    """
    published_dir.mkdir(parents=True, exist_ok=True)
    sweep(published_dir)
    release_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    releases = published_dir / RELEASES
    building = releases / f".{release_id}.tmp"
    building.mkdir(parents=True)
    final_extract = published_dir / EXTRACT_NAME
    try:
        counts, outcomes = build_extract(warehouse_path, building / EXTRACT_NAME, gate, extra_files)
        if failures(outcomes):
            return Publication(False, final_extract, None, counts, None, outcomes)
        _step("built")
        export_files(building / EXTRACT_NAME, building / FILES)
        for name, text in (extra_files or {}).items():
            (building / FILES / name).write_text(text)
        if add_to_release is not None:
            add_to_release(building)
        _sync_tree(building)
        _step("exported")
        release = releases / release_id
        os.rename(building, release)
        _step("renamed")
        _switch_current(published_dir, release)
        _step("switched")
        _link_stable_names(published_dir)
        _step("linked")
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return Publication(
        published=True,
        extract_path=final_extract,
        checksum_sha256=sha256_file(final_extract),
        row_counts=counts,
        published_at=datetime.now(UTC).isoformat(timespec="seconds"),
        outcomes=outcomes,
    )


def _step(name: str) -> None:
    """A named point between publication steps (tests inject crashes here)."""
    log.debug("publication step done: %s", name)


def current_release(published_dir: Path) -> Path | None:
    """The folder of the current publication, or None before the first one."""
    link = published_dir / CURRENT
    if not link.is_symlink():
        return None
    target = (published_dir / os.readlink(link)).resolve()
    return target if target.is_dir() else None


def _switch_current(published_dir: Path, release: Path) -> None:
    """Point ``current`` at ``release`` in one atomic rename of a new link."""
    tmp = published_dir / f".link-{CURRENT}.{uuid.uuid4().hex[:8]}.tmp"
    os.symlink(os.path.relpath(release, published_dir), tmp)
    current = published_dir / CURRENT
    if current.is_dir() and not current.is_symlink():
        # A data directory copied without its links (``cp -r``) holds a real folder
        # here; a folder cannot be renamed over, so it is moved aside (swept next time).
        os.rename(current, published_dir / f".legacy-{CURRENT}.{uuid.uuid4().hex[:8]}.tmp")
    os.replace(tmp, current)
    _fsync_dir(published_dir)


def _link_stable_names(published_dir: Path) -> None:
    """The fixed paths readers open, as links through ``current`` (made once).

    A publication of an older version of the pipeline left a real extract and a real
    ``files/`` here: the extract is replaced by its link in one rename; the folder is
    moved aside first (a folder cannot be renamed over), and swept next time.
    """
    release = current_release(published_dir)
    for name in STABLE_NAMES:
        path = published_dir / name
        wanted = os.path.join(CURRENT, name)
        if release is None or not (release / name).exists():
            continue
        if path.is_symlink() and os.readlink(path) == wanted:
            continue
        if path.is_dir() and not path.is_symlink():
            os.rename(path, published_dir / f".legacy-{name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp = published_dir / f".link-{name}.{uuid.uuid4().hex[:8]}.tmp"
        os.symlink(wanted, tmp)
        os.replace(tmp, path)
    _fsync_dir(published_dir)


# Temporaries this module leaves in ``published/`` when killed: link and legacy-folder
# renames, and the extract and file folders of the layout before publication folders.
# Other writers' temporaries (a dashboard build running now) are not ours to remove.
_OWN_TEMPORARIES = (".link-", ".legacy-", f".{EXTRACT_NAME}.", ".files.")


def sweep(published_dir: Path) -> list[Path]:
    """Remove every publication but the current one, and the temporaries of crashed or
    failed attempts (partial folders, links, extracts and their DuckDB WAL files)."""
    removed: list[Path] = []
    keep = current_release(published_dir)
    releases = published_dir / RELEASES
    candidates = list(releases.iterdir()) if releases.is_dir() else []
    candidates += [p for p in published_dir.iterdir() if p.name.startswith(_OWN_TEMPORARIES)]
    for path in candidates:
        if keep is not None and path.resolve() == keep:
            continue
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    if removed:
        log.info("swept %d earlier publication(s) and temporaries", len(removed))
    return removed


def _sync_tree(root: Path) -> None:
    """Flush every file and folder under ``root`` to disk before it is made visible."""
    for folder, _dirs, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name), "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(folder))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
