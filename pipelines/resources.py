"""Dagster resources: where data comes from, where it is kept, and method settings.

Resources carry no defaults of their own: :func:`build_resources` fills every field from a
:class:`~pipelines.config.Settings` (the code location's come from the ``OPIOIDS_*``
environment when it loads), so the Dagster UI, the CLI and the tests resolve settings the
same way, and a data engineer can still override any of them per run in the launchpad.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource

from pipelines.config import Settings
from pipelines.http import HttpClient
from pipelines.layout import DataLayout
from pipelines.limits import Limits
from pipelines.sources.ckan import CkanClient
from pipelines.staging import StagingArea
from pipelines.warehouse import connect


class SourcesResource(ConfigurableResource):
    """The three public sources and how patiently to talk to them."""

    portal_url: str
    list_size_url: str
    ods_url: str
    fetch_route: str
    http_timeout_seconds: float
    http_max_attempts: int
    http_deadline_seconds: float
    download_deadline_seconds: float
    allowed_hosts: list[str]
    max_in_memory_bytes: int
    max_download_bytes: int
    max_inflated_bytes: int
    max_compression_ratio: float
    backoff_base_seconds: float = 1.0

    @property
    def limits(self) -> Limits:
        return Limits(
            max_in_memory_bytes=self.max_in_memory_bytes,
            max_download_bytes=self.max_download_bytes,
            max_inflated_bytes=self.max_inflated_bytes,
            max_compression_ratio=self.max_compression_ratio,
        )

    def http(self) -> HttpClient:
        return HttpClient(
            timeout_seconds=self.http_timeout_seconds,
            max_attempts=self.http_max_attempts,
            backoff_base_seconds=self.backoff_base_seconds,
            deadline_seconds=self.http_deadline_seconds,
            download_deadline_seconds=self.download_deadline_seconds,
            limits=self.limits,
            allowed_hosts=self.allowed_hosts,
        )

    def ckan(self, http: HttpClient) -> CkanClient:
        return CkanClient(http, self.portal_url)


class StoreResource(ConfigurableResource):
    """The data directory: staged files, the warehouse and the published extract (where
    each lives: :class:`pipelines.layout.DataLayout`)."""

    data_dir: str
    duckdb_memory_limit: str
    duckdb_temp_directory: str

    @property
    def layout(self) -> DataLayout:
        return DataLayout(Path(self.data_dir), self.duckdb_temp_directory)

    @property
    def staging(self) -> StagingArea:
        return StagingArea(self.layout.staging_dir)

    def warehouse(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A writable warehouse connection within the configured DuckDB memory bounds."""
        return connect(
            self.layout.warehouse_path,
            memory_limit=self.duckdb_memory_limit,
            temp_directory=self.layout.duckdb_temp_dir,
        )


class MethodResource(ConfigurableResource):
    """Choices of method a user may change without editing code."""

    ome_factor_set: str
    min_list_size: int
    month_change_tolerance: float
    list_size_coverage: float
    max_unresolved_share: float


def build_resources(settings: Settings, **source_overrides: object) -> dict:
    """The resource set for a code location or a run, from one ``Settings``."""
    s = settings
    return {
        "sources": SourcesResource(
            portal_url=s.portal_url,
            list_size_url=s.list_size_url,
            ods_url=s.ods_url,
            fetch_route=s.fetch_route,
            http_timeout_seconds=s.http_timeout_seconds,
            http_max_attempts=s.http_max_attempts,
            http_deadline_seconds=s.http_deadline_seconds,
            download_deadline_seconds=s.download_deadline_seconds,
            allowed_hosts=s.source_hosts(),
            max_in_memory_bytes=s.max_in_memory_bytes,
            max_download_bytes=s.max_download_bytes,
            max_inflated_bytes=s.max_inflated_bytes,
            max_compression_ratio=s.max_compression_ratio,
            **source_overrides,  # type: ignore[arg-type]
        ),
        "store": StoreResource(
            data_dir=str(s.data_dir),
            duckdb_memory_limit=s.duckdb_memory_limit,
            duckdb_temp_directory=s.duckdb_temp_directory,
        ),
        "method": MethodResource(
            ome_factor_set=s.ome_factor_set,
            min_list_size=s.min_list_size,
            month_change_tolerance=s.month_change_tolerance,
            list_size_coverage=s.list_size_coverage,
            max_unresolved_share=s.max_unresolved_share,
        ),
    }
