"""The downloads linked from every page: the organisation's practices as CSV.

DuckDB writes every organisation's file in one pass (``COPY ... PARTITION_BY``) into
folders named after the partition; they are then renamed to ``LEVEL/CODE.csv``. Each
file holds the organisation's practices in the latest month with every comparator key
and the statistics the pages show, so what a user downloads is what they were looking
at. The full history stays in the publication's own files (``published/files/``) and in
``opioids export``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from pipelines.warehouse import run

PARTITION_PREFIXES = ("part_level=", "part_code=")


def write_downloads(con: duckdb.DuckDBPyConnection, out: Path) -> int:
    """Write ``out/LEVEL/CODE.csv`` for every organisation and practice; returns how many."""
    staging = out.with_name(out.name + ".partitions")
    staging.parent.mkdir(parents=True, exist_ok=True)
    run(con, "dashboard/download_rows", {"path": str(staging)})
    written = 0
    for level_dir in sorted(staging.iterdir()):
        level = level_dir.name.removeprefix(PARTITION_PREFIXES[0])
        (out / level).mkdir(parents=True, exist_ok=True)
        for code_dir in level_dir.iterdir():
            code = code_dir.name.removeprefix(PARTITION_PREFIXES[1])
            parts = sorted(code_dir.glob("*.csv"))
            if len(parts) != 1:
                raise RuntimeError(f"expected one CSV for {level} {code}, found {len(parts)}")
            os.replace(parts[0], out / level / f"{code}.csv")
            written += 1
    shutil.rmtree(staging)
    return written
