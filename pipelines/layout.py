"""Where everything lives under the data directory (``OPIOIDS_DATA_DIR``).

The one definition of the layout: the settings (:class:`pipelines.config.Settings`) and
the Dagster store resource take their paths from here (inside ``published/``, the names
readers open are the publication's own: :mod:`pipelines.releases`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.releases import DASHBOARD, EXTRACT_NAME


@dataclass(frozen=True)
class DataLayout:
    """The paths of one data directory; ``duckdb_temp_directory`` is the configured spill
    directory (empty: inside the data directory)."""

    root: Path
    duckdb_temp_directory: str

    @property
    def staging_dir(self) -> Path:
        """Staged months (parquet + provenance), the rejected ones under ``rejected/``."""
        return self.root / "staging"

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.root / "published"

    @property
    def extract_path(self) -> Path:
        return self.published_dir / EXTRACT_NAME

    @property
    def dashboard_dir(self) -> Path:
        return self.published_dir / DASHBOARD

    @property
    def downloads_dir(self) -> Path:
        """Bulk files being downloaded (resumable) and kept."""
        return self.root / "downloads"

    @property
    def default_dagster_home(self) -> Path:
        """The Dagster instance's folder when ``DAGSTER_HOME`` is not set."""
        return self.root / "dagster_home"

    @property
    def duckdb_temp_dir(self) -> Path:
        """Where DuckDB spills: the configured directory, else ``<data dir>/duckdb_tmp``."""
        if self.duckdb_temp_directory:
            return Path(self.duckdb_temp_directory)
        return self.root / "duckdb_tmp"
