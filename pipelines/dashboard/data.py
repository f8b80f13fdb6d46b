"""What the dashboard reads from the published extract, and nothing else.

Every number on the site comes from the extract through the queries in
``sql/dashboard/``; DuckDB shapes each page's data into JSON there, so Python only moves
text from the extract to files. Practices are read in batches of consecutive codes, which
keeps memory bounded at national scale (the extract is sorted by practice code, so each
batch reads a narrow slice of the long table).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from pipelines.warehouse import memory_config, run

LEVELS = ("england", "region", "icb", "sub_icb", "pcn")
LEVEL_LABELS = {
    "england": "England",
    "region": "NHS England region",
    "icb": "Integrated Care Board",
    "sub_icb": "Sub-ICB location",
    "pcn": "Primary Care Network",
    "practice": "GP practice",
}
PRODUCT_MONTHS = 12  # months of products behind the number on a practice page
PRACTICE_BATCH = 400


class DashboardError(RuntimeError):
    """The dashboard cannot be built from this extract; the message says why."""


@dataclass
class Organisation:
    level: str
    code: str
    name: str
    parent: tuple[str, str] | None
    n_practices: int
    children: list[Organisation] = field(default_factory=list)


@dataclass
class SiteData:
    """Everything shared by every page: months, keys, organisations, documents."""

    months: list[date]
    keys: list[dict[str, Any]]
    national: dict[str, Any]
    organisations: dict[tuple[str, str], Organisation]
    practices: list[dict[str, Any]]
    documents: dict[str, str]

    @property
    def latest_month(self) -> date:
        return self.months[-1]

    @property
    def publication(self) -> dict[str, Any]:
        """The publication record stored in the extract (empty when it has none)."""
        text = self.documents.get("publication.json")
        return json.loads(text) if text else {}


def open_extract(
    extract: Path, *, memory_limit: str | None = None, temp_directory: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """The extract, read-only; DuckDB's memory bounded as for warehouse work (it spills
    to ``temp_directory`` beyond ``memory_limit``)."""
    if not Path(extract).is_file():
        raise DashboardError(
            f"no published extract at {extract}: run `opioids refresh` (or `opioids demo`) first"
        )
    config = memory_config(memory_limit, temp_directory)
    try:
        try:
            return duckdb.connect(str(extract), read_only=True, config=config)
        except duckdb.ConnectionException:
            # This process already has the extract open (with its own settings): share it.
            return duckdb.connect(str(extract), read_only=True)
    except duckdb.Error as exc:
        raise DashboardError(f"cannot open {extract} as a DuckDB extract: {exc}") from exc


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def read_site(con: duckdb.DuckDBPyConnection) -> SiteData:
    try:
        months = [row[0] for row in run(con, "dashboard/months").fetchall()]
        keys = _dicts(run(con, "dashboard/keys"))
        national = {
            key: json.loads(text) for key, text in run(con, "dashboard/national").fetchall()
        }
        orgs = _dicts(run(con, "dashboard/organisations"))
        practices = _dicts(run(con, "dashboard/practices"))
        documents = dict(run(con, "dashboard/documents").fetchall())
    except duckdb.CatalogException as exc:
        raise DashboardError(
            f"the extract lacks a table the dashboard needs ({exc}); publish it again"
        ) from exc
    if not months or not keys:
        raise DashboardError("the extract holds no comparator values: nothing to show")
    organisations = {
        (o["org_level"], o["org_code"]): Organisation(
            o["org_level"],
            o["org_code"],
            o["org_name"] or o["org_code"],
            (o["parent_level"], o["parent_code"]) if o["parent_level"] else None,
            o["n_practices"],
        )
        for o in orgs
    }
    for org in organisations.values():
        if org.parent and org.parent in organisations:
            organisations[org.parent].children.append(org)
    return SiteData(months, keys, national, organisations, practices, documents)


def organisation_series(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, str, str]]:
    """(level, code, JSON of every key's monthly series) for each organisation."""
    cursor = run(con, "dashboard/organisation_series")
    while rows := cursor.fetchmany(200):
        yield from rows


def league_tables(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, str, str, str]]:
    """(level, code, key, JSON of the member practices' latest values) per organisation."""
    cursor = run(con, "dashboard/league")
    while rows := cursor.fetchmany(2000):
        yield from rows


def practice_batches(
    con: duckdb.DuckDBPyConnection, codes: list[str], batch: int = PRACTICE_BATCH
) -> Iterator[list[tuple[str, str, str | None]]]:
    """Batches of (practice code, series JSON, products JSON or None)."""
    for start in range(0, len(codes), batch):
        chunk = codes[start : start + batch]
        bounds = {"first": chunk[0], "last": chunk[-1]}
        series = dict(run(con, "dashboard/practice_series", bounds).fetchall())
        products = dict(
            run(con, "dashboard/practice_products", {**bounds, "months": PRODUCT_MONTHS}).fetchall()
        )
        yield [(code, series[code], products.get(code)) for code in chunk if code in series]
