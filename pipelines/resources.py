"""Dagster resources: where data comes from, where it is kept, and method settings.

Defaults come from ``OPIOIDS_*`` environment variables (see :mod:`pipelines.config`) when
the code location loads, so the Dagster UI, the CLI and the tests all resolve settings the
same way, and a data engineer can still override any of them per run in the launchpad.
"""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from pipelines.config import Settings, load_settings
from pipelines.http import HttpClient
from pipelines.sources.ckan import CkanClient
from pipelines.staging import StagingArea


class SourcesResource(ConfigurableResource):
    """The three public sources and how patiently to talk to them."""

    portal_url: str
    list_size_url: str
    ods_url: str
    fetch_route: str = "sql"
    http_timeout_seconds: float = 120.0
    http_max_attempts: int = 4
    backoff_base_seconds: float = 1.0

    def http(self) -> HttpClient:
        return HttpClient(
            timeout_seconds=self.http_timeout_seconds,
            max_attempts=self.http_max_attempts,
            backoff_base_seconds=self.backoff_base_seconds,
        )

    def ckan(self, http: HttpClient) -> CkanClient:
        return CkanClient(http, self.portal_url)


class StoreResource(ConfigurableResource):
    """The data directory: staged files, the warehouse and the published extract."""

    data_dir: str

    @property
    def root(self) -> Path:
        return Path(self.data_dir)

    @property
    def staging(self) -> StagingArea:
        return StagingArea(self.root / "staging")

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.root / "published"


class MethodResource(ConfigurableResource):
    """Choices of method a user may change without editing code."""

    ome_factor_set: str = "uk"
    min_list_size: int = 1000
    month_change_tolerance: float = 0.3
    list_size_coverage: float = 0.95
    max_unresolved_share: float = 0.01


def build_resources(settings: Settings | None = None, **source_overrides: object) -> dict:
    """The resource set for a code location or a run, from settings (env by default)."""
    s = settings or load_settings()
    return {
        "sources": SourcesResource(
            portal_url=s.portal_url,
            list_size_url=s.list_size_url,
            ods_url=s.ods_url,
            fetch_route=s.fetch_route,
            http_timeout_seconds=s.http_timeout_seconds,
            http_max_attempts=s.http_max_attempts,
            **source_overrides,  # type: ignore[arg-type]
        ),
        "store": StoreResource(data_dir=str(s.data_dir)),
        "method": MethodResource(
            ome_factor_set=s.ome_factor_set,
            min_list_size=s.min_list_size,
            month_change_tolerance=s.month_change_tolerance,
            list_size_coverage=s.list_size_coverage,
            max_unresolved_share=s.max_unresolved_share,
        ),
    }
