"""Settings read from the environment, with the real sources as defaults.

Every place that needs a URL or a path asks :func:`load_settings` rather than reading the
environment itself, so one run sees one consistent configuration and tests can build a
``Settings`` pointing at the sample portal without touching global state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = REPO_ROOT / "sql"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
REFERENCE_DIR = REPO_ROOT / "reference"
COMPARATORS_DIR = REPO_ROOT / "comparators"

DEFAULT_PORTAL_URL = "https://opendata.nhsbsa.net"
DEFAULT_LIST_SIZE_URL = (
    "https://digital.nhs.uk/data-and-information/publications/statistical/"
    "patients-registered-at-a-gp-practice/"
)
DEFAULT_ODS_URL = "https://files.digital.nhs.uk/assets/ods/current/epraccur.zip"

# The portal's SQL service is the first choice; "bulk" reads the monthly files and "auto"
# falls back to them when the SQL route fails.
FETCH_ROUTES = ("sql", "bulk", "auto")


@dataclass(frozen=True)
class Settings:
    """One run's view of where data comes from and where it goes."""

    portal_url: str = DEFAULT_PORTAL_URL
    list_size_url: str = DEFAULT_LIST_SIZE_URL
    ods_url: str = DEFAULT_ODS_URL
    data_dir: Path = field(default_factory=lambda: Path("data").resolve())
    fetch_route: str = "sql"
    ome_factor_set: str = "uk"
    min_list_size: int = 1000
    http_timeout_seconds: float = 120.0
    http_max_attempts: int = 4
    # Validation thresholds (expectation suite parameters).
    month_change_tolerance: float = 0.3
    list_size_coverage: float = 0.95
    max_unresolved_share: float = 0.01

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.data_dir / "published"

    @property
    def extract_path(self) -> Path:
        return self.published_dir / "opioid_comparators.duckdb"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.data_dir / "dagster_home")

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from ``OPIOIDS_*`` variables; unset variables keep the real defaults."""
    env = os.environ if environ is None else environ
    route = env.get("OPIOIDS_FETCH_ROUTE", "sql").strip().lower()
    if route not in FETCH_ROUTES:
        raise ValueError(
            f"OPIOIDS_FETCH_ROUTE must be one of {', '.join(FETCH_ROUTES)}, not {route!r}"
        )
    return Settings(
        portal_url=env.get("OPIOIDS_PORTAL_URL", DEFAULT_PORTAL_URL).rstrip("/"),
        list_size_url=env.get("OPIOIDS_LIST_SIZE_URL", DEFAULT_LIST_SIZE_URL),
        ods_url=env.get("OPIOIDS_ODS_URL", DEFAULT_ODS_URL),
        data_dir=Path(env.get("OPIOIDS_DATA_DIR", "data")).resolve(),
        fetch_route=route,
        ome_factor_set=env.get("OPIOIDS_OME_FACTOR_SET", "uk"),
        min_list_size=int(env.get("OPIOIDS_MIN_LIST_SIZE", "1000")),
        http_timeout_seconds=float(env.get("OPIOIDS_HTTP_TIMEOUT", "120")),
        http_max_attempts=int(env.get("OPIOIDS_HTTP_MAX_ATTEMPTS", "4")),
        month_change_tolerance=float(env.get("OPIOIDS_MONTH_CHANGE_TOLERANCE", "0.3")),
        list_size_coverage=float(env.get("OPIOIDS_LIST_SIZE_COVERAGE", "0.95")),
        max_unresolved_share=float(env.get("OPIOIDS_MAX_UNRESOLVED_SHARE", "0.01")),
    )
