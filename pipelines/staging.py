"""Per-month staged files: written atomically, with provenance beside them.

Fetching writes only here (never the warehouse), so months can be fetched in parallel and
a fetch that fails half-way leaves the previous good file untouched: every file is
written to a temporary name in the same directory and renamed into place.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.files import atomic_write


def month_key(month: date) -> str:
    return f"{month:%Y-%m}"


def write_parquet(frame: pl.DataFrame, path: Path) -> str:
    """Write deterministically (same rows, same bytes) and return the file's SHA-256."""
    atomic_write(path, lambda tmp: frame.write_parquet(tmp, compression="zstd", statistics=True))
    return sha256_file(path)


def write_json(data: dict[str, Any], path: Path) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))


def read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return json.loads(path.read_text())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class StagingArea:
    """Where each stage keeps its per-month files under ``<data_dir>/staging``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def epd_path(self, month: date) -> Path:
        return self.root / "epd" / f"{month_key(month)}.parquet"

    def epd_provenance_path(self, month: date) -> Path:
        return self.root / "epd" / f"{month_key(month)}.provenance.json"

    def rejected_epd_path(self, month: date) -> Path:
        """Where a month that failed its checks is kept for inspection (never read)."""
        return self.root / "rejected" / "epd" / f"{month_key(month)}.parquet"

    def list_sizes_path(self, month: date) -> Path:
        return self.root / "list_sizes" / f"{month_key(month)}.parquet"

    def list_sizes_provenance_path(self, month: date) -> Path:
        return self.root / "list_sizes" / f"{month_key(month)}.provenance.json"

    def organisations_path(self) -> Path:
        return self.root / "organisations.parquet"

    def presentations_path(self, month: date) -> Path:
        return self.root / "presentations" / f"{month_key(month)}.parquet"
