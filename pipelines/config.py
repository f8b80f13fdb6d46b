"""Every setting of the pipeline: its default, its environment variable and what it means.

This module is the one place a setting is declared. :class:`Settings` holds each setting
as a field whose metadata names its ``OPIOIDS_*`` variable and documents it;
:func:`load_settings` reads the environment once, by that table, and everything else
(the Dagster resources, the CLI, its ``--help``, the README check) takes a ``Settings``
rather than reading the environment itself. Tests build a ``Settings`` directly.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pipelines.layout import DataLayout
from pipelines.limits import Limits

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The first month of the English Prescribing Dataset (the earlier, retired dataset).
EARLIEST_MONTH = "2014-01"
SQL_DIR = REPO_ROOT / "sql"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
REFERENCE_DIR = REPO_ROOT / "reference"
COMPARATORS_DIR = REPO_ROOT / "comparators"

# The portal's SQL service is the first choice; "bulk" reads the monthly files and "auto"
# falls back to them when the SQL route fails.
FETCH_ROUTES = ("sql", "bulk", "auto")
# Where Dagster keeps runs, events and schedules: SQLite files under DAGSTER_HOME (a laptop,
# the demo) or a PostgreSQL database (a deployment with the daemon; see docs/deployment.md).
INSTANCE_KINDS = ("sqlite", "postgres")
SMTP_SECURITY = ("starttls", "ssl", "none")


def setting(default: Any, env: str, doc: str, **extra: Any) -> Any:
    """A settings field: its default, the environment variable that overrides it, its meaning."""
    metadata = {"env": env, "doc": doc, **extra}
    shown = not extra.get("secret")  # passwords and URLs with credentials stay out of reprs
    if callable(default):
        return field(default_factory=default, metadata=metadata, repr=shown)
    return field(default=default, metadata=metadata, repr=shown)


@dataclass(frozen=True)
class Settings:
    """One run's configuration: sources, data directory, method choices and thresholds."""

    portal_url: str = setting(
        "https://opendata.nhsbsa.net",
        "OPIOIDS_PORTAL_URL",
        "NHSBSA open data portal (CKAN) serving the English Prescribing Dataset",
    )
    list_size_url: str = setting(
        "https://digital.nhs.uk/data-and-information/publications/statistical/"
        "patients-registered-at-a-gp-practice/",
        "OPIOIDS_LIST_SIZE_URL",
        "NHS England 'Patients Registered at a GP Practice' index page",
    )
    ods_url: str = setting(
        "https://files.digital.nhs.uk/assets/ods/current/epraccur.zip",
        "OPIOIDS_ODS_URL",
        "ODS GP practice file (epraccur.zip)",
    )
    data_dir: Path = setting(
        lambda: Path("data").resolve(),
        "OPIOIDS_DATA_DIR",
        "staged months, the warehouse, the publication and the Dagster instance",
        display_default="./data",
    )
    first_month: str = setting(
        "2020-11",
        "OPIOIDS_FIRST_MONTH",
        "first monthly partition, YYYY-MM: 2020-11 (the SNOMED dataset's first month) "
        "or earlier, down to 2014-01 (the earlier dataset; docs/eras.md)",
    )
    fetch_route: str = setting(
        "sql",
        "OPIOIDS_FETCH_ROUTE",
        "how months are fetched: sql (portal SQL), bulk (monthly files), auto (sql, then bulk)",
        choices=FETCH_ROUTES,
    )
    ome_factor_set: str = setting(
        "uk", "OPIOIDS_OME_FACTOR_SET", "OME factor set (see reference/ome_factors.csv)"
    )
    min_list_size: int = setting(
        1000, "OPIOIDS_MIN_LIST_SIZE", "practices with fewer patients are flagged, not ranked"
    )
    http_timeout_seconds: float = setting(
        120.0, "OPIOIDS_HTTP_TIMEOUT", "seconds to wait for a read from a source"
    )
    http_max_attempts: int = setting(
        4, "OPIOIDS_HTTP_MAX_ATTEMPTS", "attempts per request before a source error"
    )
    http_deadline_seconds: float = setting(
        900.0,
        "OPIOIDS_HTTP_DEADLINE",
        "seconds a request may take in all (attempts, waits and body) before it fails",
    )
    download_deadline_seconds: float = setting(
        4 * 3600.0,
        "OPIOIDS_DOWNLOAD_DEADLINE",
        "seconds a monthly bulk file download may take in all, resumes included",
    )
    allowed_hosts: str = setting(
        "storage.googleapis.com",
        "OPIOIDS_ALLOWED_HOSTS",
        "hosts besides the three source URLs' that links may point to (comma-separated; "
        "*.example.org allows subdomains); https only, except loopback",
    )
    max_in_memory_bytes: int = setting(
        512 << 20,
        "OPIOIDS_MAX_IN_MEMORY_BYTES",
        "largest answer, page, shard or file read into memory (after inflating)",
    )
    max_download_bytes: int = setting(
        20 << 30,
        "OPIOIDS_MAX_DOWNLOAD_BYTES",
        "largest monthly bulk file downloaded to disk (a national month is ~0.7 GB zipped)",
    )
    max_inflated_bytes: int = setting(
        20 << 30,
        "OPIOIDS_MAX_INFLATED_BYTES",
        "largest monthly CSV inflated from a bulk zip (a national month is ~7 GB)",
    )
    max_compression_ratio: float = setting(
        100.0,
        "OPIOIDS_MAX_COMPRESSION_RATIO",
        "largest inflated-to-compressed ratio accepted (CSV compresses ~10 times)",
    )
    month_change_tolerance: float = setting(
        0.3,
        "OPIOIDS_MONTH_CHANGE_TOLERANCE",
        "allowed change in rows and items on the previous month (critical check)",
    )
    list_size_coverage: float = setting(
        0.95,
        "OPIOIDS_LIST_SIZE_COVERAGE",
        "share of prescribing GP practices that need a list size (critical check)",
    )
    max_unresolved_share: float = setting(
        0.01,
        "OPIOIDS_MAX_UNRESOLVED_SHARE",
        "share of items unresolved products may carry (critical check)",
    )
    duckdb_memory_limit: str = setting(
        "1GB",
        "OPIOIDS_DUCKDB_MEMORY_LIMIT",
        "DuckDB memory limit for warehouse work (e.g. 1GB); beyond it DuckDB spills to disk",
    )
    duckdb_temp_directory: str = setting(
        "",
        "OPIOIDS_DUCKDB_TEMP_DIRECTORY",
        "where DuckDB spills beyond its memory limit (empty: <data dir>/duckdb_tmp)",
        display_default="<data dir>/duckdb_tmp",
    )

    instance: str = setting(
        "sqlite",
        "OPIOIDS_INSTANCE",
        "Dagster instance: sqlite (files under DAGSTER_HOME) or postgres (DAGSTER_POSTGRES_URL)",
        choices=INSTANCE_KINDS,
    )
    postgres_url: str = setting(
        "",
        "DAGSTER_POSTGRES_URL",
        "PostgreSQL database of the postgres instance, postgresql://user[:password]@host:port/db",
        secret=True,
    )
    # The new-month sensor: NHSBSA publishes month M around the 15th-20th of M+2.
    publication_window_from_day: int = setting(
        12,
        "OPIOIDS_PUBLICATION_WINDOW_FROM_DAY",
        "day of the month from which the portal is looked at often (until the month's end)",
    )
    new_month_look_seconds: int = setting(
        600,
        "OPIOIDS_NEW_MONTH_LOOK_SECONDS",
        "seconds between looks at the portal for a new month inside the publication window",
    )
    new_month_idle_look_seconds: int = setting(
        6 * 60 * 60,
        "OPIOIDS_NEW_MONTH_IDLE_LOOK_SECONDS",
        "seconds between looks at the portal outside the publication window",
    )
    # How often the daemon evaluates the other sensors (a cheap query of the instance each).
    automation_look_seconds: int = setting(
        30,
        "OPIOIDS_AUTOMATION_LOOK_SECONDS",
        "seconds between evaluations of the statistics' and publication's automation conditions",
    )
    message_look_seconds: int = setting(
        10,
        "OPIOIDS_MESSAGE_LOOK_SECONDS",
        "seconds between looks for failed runs and new publications to send messages about",
    )
    # Messages about runs (docs/deployment.md): e-mail when smtp_host and mail_to are set,
    # and/or a JSON post to a webhook (Teams or Slack incoming webhook).
    smtp_host: str = setting(
        "", "OPIOIDS_SMTP_HOST", "mail server for run messages (empty: no mail)"
    )
    smtp_port: int = setting(587, "OPIOIDS_SMTP_PORT", "mail server port")
    smtp_security: str = setting(
        "starttls",
        "OPIOIDS_SMTP_SECURITY",
        "mail connection: starttls, ssl or none",
        choices=SMTP_SECURITY,
    )
    smtp_user: str = setting("", "OPIOIDS_SMTP_USER", "mail server login (empty: none)")
    smtp_password: str = setting("", "OPIOIDS_SMTP_PASSWORD", "mail server password", secret=True)
    mail_from: str = setting(
        "opioid-comparators@localhost", "OPIOIDS_MAIL_FROM", "sender of run messages"
    )
    mail_to: str = setting("", "OPIOIDS_MAIL_TO", "recipients of run messages, comma-separated")
    webhook_url: str = setting(
        "", "OPIOIDS_WEBHOOK_URL", "incoming webhook (Teams, Slack) for run messages", secret=True
    )

    @property
    def layout(self) -> DataLayout:
        """The paths under the data directory (pipelines/layout.py)."""
        return DataLayout(self.data_dir, self.duckdb_temp_directory)

    # The paths commands and tests use most, from the layout.
    @property
    def staging_dir(self) -> Path:
        return self.layout.staging_dir

    @property
    def warehouse_path(self) -> Path:
        return self.layout.warehouse_path

    @property
    def published_dir(self) -> Path:
        return self.layout.published_dir

    @property
    def extract_path(self) -> Path:
        return self.layout.extract_path

    @property
    def dashboard_dir(self) -> Path:
        return self.layout.dashboard_dir

    @property
    def downloads_dir(self) -> Path:
        return self.layout.downloads_dir

    @property
    def duckdb_temp_dir(self) -> Path:
        return self.layout.duckdb_temp_dir

    @property
    def dagster_home(self) -> Path:
        """``$DAGSTER_HOME`` when set (Dagster's own variable), else under the data directory."""
        return Path(os.environ.get("DAGSTER_HOME") or self.layout.default_dagster_home)

    @property
    def limits(self) -> Limits:
        return Limits(
            max_in_memory_bytes=self.max_in_memory_bytes,
            max_download_bytes=self.max_download_bytes,
            max_inflated_bytes=self.max_inflated_bytes,
            max_compression_ratio=self.max_compression_ratio,
        )

    def source_hosts(self) -> list[str]:
        """Hosts requests may go to: the sources' own and the configured extra ones."""
        from urllib.parse import urlsplit

        hosts = [
            urlsplit(u).hostname or "" for u in (self.portal_url, self.list_size_url, self.ods_url)
        ]
        hosts += [h.strip().lower() for h in self.allowed_hosts.split(",")]
        return sorted({h for h in hosts if h})

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SettingDoc:
    name: str
    env: str
    default: str
    doc: str


def setting_docs() -> Iterator[SettingDoc]:
    """Each setting's variable, default and meaning, in declaration order (for ``--help``)."""
    defaults = Settings()
    for f in fields(Settings):
        meta = f.metadata
        shown = meta.get("display_default", getattr(defaults, f.name))
        yield SettingDoc(f.name, meta["env"], str(shown), meta["doc"])


def _convert(f: Any, raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    value: Any
    try:
        if kind == "int":
            value = int(raw)
        elif kind == "float":
            value = float(raw)
        elif kind == "Path":
            value = Path(raw).expanduser().resolve()
        else:
            value = raw.strip()
    except ValueError:
        raise ValueError(f"{f.metadata['env']} must be a {kind}, not {raw!r}") from None
    if f.name.endswith("_url"):
        value = value.rstrip("/") if f.name == "portal_url" else value
    if f.name == "fetch_route":
        value = value.lower()
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        raise ValueError(f"{f.metadata['env']} must be one of {', '.join(choices)}, not {raw!r}")
    if f.name == "first_month":
        from datetime import datetime

        try:
            datetime.strptime(value, "%Y-%m")
        except ValueError:
            raise ValueError(
                f"{f.metadata['env']} must be a month as YYYY-MM, not {raw!r}"
            ) from None
        if value < EARLIEST_MONTH:
            raise ValueError(
                f"{f.metadata['env']} is {value}, but the English Prescribing Dataset starts "
                f"in {EARLIEST_MONTH}"
            )
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the ``OPIOIDS_*`` variables; an unset or empty variable keeps its default."""
    env = os.environ if environ is None else environ
    changes = {}
    for f in fields(Settings):
        raw = env.get(f.metadata["env"])
        if raw is not None and raw.strip() != "":
            changes[f.name] = _convert(f, raw)
    settings = Settings(**changes)
    if settings.instance == "postgres" and not settings.postgres_url:
        raise ValueError(
            "OPIOIDS_INSTANCE=postgres needs DAGSTER_POSTGRES_URL "
            "(postgresql://user:password@host:port/database)"
        )
    if not 1 <= settings.publication_window_from_day <= 28:
        raise ValueError("OPIOIDS_PUBLICATION_WINDOW_FROM_DAY must be a day from 1 to 28")
    return settings


@functools.cache
def code_location_settings() -> Settings:
    """The settings the Dagster code location is defined with, read once per process.

    Only the code location's module-level definitions (the partitions' first month, the
    default resources) use this; commands and tests pass their own ``Settings``.
    """
    return load_settings()


def settings_environ(settings: Settings) -> dict[str, str]:
    """The ``OPIOIDS_*`` variables that reproduce ``settings`` in another process."""
    return {f.metadata["env"]: str(getattr(settings, f.name)) for f in fields(Settings)}
