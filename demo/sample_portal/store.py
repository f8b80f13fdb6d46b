"""The EPD months as the sample portal serves them: files, tables, metadata and SQL.

One month's "served" table is the generated CSV, possibly re-published (a new revision
persisted under ``republished/``) and possibly changed by data faults. Every endpoint goes
through :meth:`EpdStore.served`, so package metadata, the datastore, SQL results, shards
and downloads always describe the same bytes. Derived files live under ``cache/`` and are
pure functions of their inputs, so they can be deleted at any time.

SQL runs in a fresh in-memory DuckDB connection per query with file access disabled and
only the requested month registered (as an Arrow table), which is as close as a local
server gets to "BigQuery over one table": a client cannot read the disk or other months.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from demo.sample_portal import generator as gen
from demo.sample_portal.faults import (
    FaultRegistry,
    FaultSpec,
    apply_data_faults,
    data_signature,
)

SNOMED_DATASET = "english-prescribing-dataset-epd-with-snomed-code"
RETIRED_DATASET = "english-prescribing-data-epd"
SNOMED_FIRST_MONTH = "2020-11"  # the SNOMED dataset's first month
DATASETS = {
    SNOMED_DATASET: "English Prescribing Dataset (EPD) with SNOMED Code",
    RETIRED_DATASET: "English Prescribing Data (EPD)",
}
# BigQuery-backed CKAN returns integers above about 1.2e10 as strings (SNOMED codes).
INT_AS_STRING_ABOVE = 12_000_000_000
# Re-publications made at run time are stamped after every generated timestamp, a day
# apart per revision, so each one is "newer" without reading the wall clock.
REPUBLISH_EPOCH = datetime(2026, 2, 16, 8, 0, 0)
# datastore_active is "unreliable" on the real portal: false here although the data work.
DATASTORE_INACTIVE_MONTHS = ("2024-12", "2025-07")

_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://sample-portal.invalid/")
_DECIMALS = {
    "QUANTITY": "DECIMAL(18,3)",
    "TOTAL_QUANTITY": "DECIMAL(18,3)",
    "ADQUSAGE": "DECIMAL(18,5)",
    "ADQ_USAGE": "DECIMAL(18,5)",
    "NIC": "DECIMAL(18,2)",
    "ACTUAL_COST": "DECIMAL(18,5)",
}
_BQ_TYPES = {"VARCHAR": "STRING", "BIGINT": "INTEGER", "BOOLEAN": "BOOLEAN"}
_TABLE_CACHE_SIZE = 6


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(_UUID_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class Resource:
    """One monthly EPD resource of one dataset."""

    name: str
    month: str
    snomed: bool

    @property
    def dataset(self) -> str:
        return SNOMED_DATASET if self.snomed else RETIRED_DATASET

    @property
    def id(self) -> str:
        return stable_uuid("resource", self.name)

    @property
    def package_id(self) -> str:
        return stable_uuid("package", self.dataset)

    @property
    def filename(self) -> str:
        return f"{self.name.lower()}.csv"


@dataclass(frozen=True)
class Served:
    """A resource's table exactly as served now: which file, and why it looks that way."""

    resource: Resource
    path: Path
    revision: int
    faults: tuple[FaultSpec, ...]

    @property
    def key(self) -> str:
        return f"{self.path.name}:{self.path.stat().st_size}"


def column_type(name: str, month: str, faults: Sequence[FaultSpec] = ()) -> str | None:
    """The datastore type of a known EPD column (None for a column the sample never has)."""
    if name == "YEAR_MONTH":
        return "VARCHAR" if month >= gen.LAYOUT_CHANGE_MONTH else "BIGINT"
    if name == "QUANTITY" and any(f.kind == "non_numeric_quantity" for f in faults):
        return "VARCHAR"
    if name in gen.TEXT_COLUMNS:
        return "VARCHAR"
    if name in _DECIMALS:
        return _DECIMALS[name]
    return {"ITEMS": "BIGINT", "SNOMED_CODE": "BIGINT", "UNIDENTIFIED": "BOOLEAN"}.get(name)


def ckan_type(duck_type: str) -> str:
    """DuckDB type -> the datastore's field type as the portal reports it."""
    t = duck_type.upper()
    if t.startswith(("DECIMAL", "BIGINT", "HUGEINT", "INTEGER", "DOUBLE", "FLOAT", "SMALLINT")):
        return "NUMERIC"
    if t == "BOOLEAN":
        return "BOOLEAN"
    if t in ("DATE", "TIMESTAMP"):
        return t
    return "STRING"


def json_value(value: Any) -> Any:
    """A DuckDB value as the portal's JSON carries it (big integers as strings)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return str(value) if abs(value) > INT_AS_STRING_ABOVE else value
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return json_value(int(value))
        return float(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        if value.is_integer() and abs(value) <= INT_AS_STRING_ABOVE:
            return int(value)
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def csv_value(value: Any) -> str:
    """A DuckDB value as BigQuery writes it into an exported CSV shard."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return str(int(value))
        return format(value.normalize(), "f")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- BigQuery-ish SQL to DuckDB -----------------------------------------------------------

_TYPE_WORDS = {
    "SAFE_CAST": "TRY_CAST",
    "INT64": "BIGINT",
    "FLOAT64": "DOUBLE",
    "BIGNUMERIC": "DECIMAL(38,9)",
}
_WORD = re.compile(r"\b(" + "|".join(_TYPE_WORDS) + r")\b", re.IGNORECASE)


class SqlError(ValueError):
    """The query could not be parsed into something DuckDB can run."""


def translate_sql(sql: str) -> tuple[str, list[str]]:
    """BigQuery Standard SQL -> DuckDB, and the back-ticked identifiers in order.

    Back-ticks quote identifiers in BigQuery and double quotes quote *strings*; DuckDB
    uses double quotes for identifiers. String literals are copied untouched, so a
    ``LIKE '0407%'`` or a back-tick inside a string is never rewritten.
    """
    out: list[str] = []
    identifiers: list[str] = []
    plain: list[str] = []
    i, n = 0, len(sql)

    def flush() -> None:
        if plain:
            out.append(_WORD.sub(lambda m: _TYPE_WORDS[m.group(1).upper()], "".join(plain)))
            plain.clear()

    while i < n:
        ch = sql[i]
        if ch in "`'\"":
            flush()
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise SqlError(f"unterminated {ch} quote at position {i}")
                c = sql[j]
                if c == "\\" and ch != "`" and j + 1 < n:
                    buf.append(sql[j + 1])
                    j += 2
                    continue
                if c == ch:
                    if ch == "'" and j + 1 < n and sql[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(c)
                j += 1
            text = "".join(buf)
            if ch == "`":
                identifiers.append(text)
                out.append('"' + text.replace('"', '""') + '"')
            else:
                out.append("'" + text.replace("'", "''") + "'")
            i = j + 1
        else:
            plain.append(ch)
            i += 1
    flush()
    return "".join(out), identifiers


# -- the store ----------------------------------------------------------------------------


class EpdStore:
    """Served EPD months for one data directory (thread-safe)."""

    def __init__(self, data_dir: Path, manifest: gen.SampleManifest, faults: FaultRegistry) -> None:
        self.data_dir = Path(data_dir)
        self.manifest = manifest
        self.faults = faults
        self.cache_dir = self.data_dir / "cache"
        self._lock = threading.RLock()
        self._tables: OrderedDict[str, pa.Table] = OrderedDict()
        self._rows: OrderedDict[str, tuple[list[str], list[list[str]]]] = OrderedDict()
        self._hashes: dict[str, str] = {}
        self._republished_path = self.data_dir / "republished.json"
        self._revisions: dict[str, int] = {}
        if self._republished_path.exists():
            self._revisions = json.loads(self._republished_path.read_text())
        self.historic_months: tuple[str, ...] = tuple(manifest.facts.get("historic_months", ()))
        self._resources = sorted(
            [gen_resource(m, True) for m in manifest.months]
            + [gen_resource(m, False) for m in manifest.months if m <= gen.RETIRED_LAST_MONTH]
            + [gen_resource(m, False) for m in self.historic_months]
            + [gen_resource(m, True) for m in self.historic_months if m >= SNOMED_FIRST_MONTH],
            key=lambda r: (r.month, r.snomed),
        )
        self._by_key = {r.name: r for r in self._resources} | {r.id: r for r in self._resources}
        # Months not published yet: absent from package_show, unknown to every endpoint,
        # until released at run time (the portal publishing a new month).
        self._withheld: set[str] = set()

    # -- lookup -------------------------------------------------------------------------

    def resources(self, dataset: str) -> list[Resource]:
        return [
            r for r in self._resources if r.dataset == dataset and r.month not in self._withheld
        ]

    def find(self, name_or_id: str) -> Resource | None:
        found = self._by_key.get(name_or_id)
        return None if found is None or found.month in self._withheld else found

    def withhold(self, month: str) -> None:
        """Take ``month`` off the portal, as if not yet published."""
        self._check_month(month)
        with self._lock:
            self._withheld.add(month)

    def release(self, month: str) -> bool:
        """Publish a withheld ``month``; False when it was published already."""
        self._check_month(month)
        with self._lock:
            if month not in self._withheld:
                return False
            self._withheld.discard(month)
            return True

    def _check_month(self, month: str) -> None:
        if month not in self.manifest.months:
            raise KeyError(f"no such month in the sample: {month}")

    def _ordinal(self, month: str) -> int:
        """A month's position, which varies timestamps: main months first, then historic."""
        if month in self.manifest.months:
            return self.manifest.months.index(month)
        return len(self.manifest.months) + self.historic_months.index(month)

    def revision(self, month: str) -> int:
        return self._revisions.get(month, 0)

    # -- files --------------------------------------------------------------------------

    def served(self, resource: Resource) -> Served:
        """The file serving ``resource`` now, materialised if it is derived."""
        revision = self.revision(resource.month)
        faults = tuple(self.faults.data_faults(resource.name, resource.month))
        with self._lock:
            path = self._base_path(resource, revision)
            if faults:
                signature = data_signature(faults)
                derived = self.cache_dir / f"{resource.name}-r{revision}-{signature}.csv"
                if not derived.exists():
                    header, rows = self._parsed(path)
                    header, rows = apply_data_faults(header, [list(r) for r in rows], faults)
                    gen.write_atomic(derived, gen.write_csv_bytes(header, rows))
                path = derived
        return Served(resource, path, revision, faults)

    def _parsed(self, path: Path) -> tuple[list[str], list[list[str]]]:
        """A base file's parsed rows, kept for the last few files: tests often stack several
        data faults on one month, and parsing dominates deriving each faulted file."""
        key = f"{path}:{path.stat().st_size}"
        if key not in self._rows:
            self._rows[key] = gen.read_csv_bytes(path.read_bytes())
            while len(self._rows) > 2:
                self._rows.popitem(last=False)
        self._rows.move_to_end(key)
        return self._rows[key]

    def _base_path(self, resource: Resource, revision: int) -> Path:
        if not revision:
            return self.data_dir / "epd" / f"{resource.name}.csv"
        snomed_name = gen.resource_name(resource.month)
        snomed = self.data_dir / "republished" / f"{snomed_name}-r{revision}.csv"
        if resource.snomed:
            return snomed
        retired = self.cache_dir / f"{resource.name}-r{revision}.csv"
        if not retired.exists():
            gen.write_atomic(retired, gen.derive_retired(snomed.read_bytes()))
        return retired

    def header(self, served: Served) -> list[str]:
        with served.path.open("r", encoding="latin-1", newline="") as fh:
            return fh.readline().rstrip("\r\n").split(",")

    def sha256(self, served: Served) -> str:
        rel = served.path.relative_to(self.data_dir).as_posix()
        if rel in self.manifest.files:
            return self.manifest.files[rel]
        with self._lock:
            if served.key not in self._hashes:
                self._hashes[served.key] = hashlib.sha256(served.path.read_bytes()).hexdigest()
            return self._hashes[served.key]

    def zip_path(self, served: Served) -> Path:
        """The month's zip (one CSV inside; zip64 records on current-layout months)."""
        path = self.cache_dir / f"{served.path.stem}.zip"
        with self._lock:
            if not path.exists():
                data = gen.deterministic_zip(
                    f"{served.resource.name}.csv",
                    served.path.read_bytes(),
                    zip64=served.resource.month >= gen.LAYOUT_CHANGE_MONTH,
                )
                gen.write_atomic(path, data)
        return path

    def republish(self, month: str) -> int:
        """Publish ``month`` again with a small deterministic change; returns the revision."""
        self._check_month(month)
        with self._lock:
            revision = self.revision(month) + 1
            name = gen.resource_name(month)
            target = self.data_dir / "republished" / f"{name}-r{revision}.csv"
            if not target.exists():
                source = self.data_dir / "epd" / f"{name}.csv"
                gen.write_atomic(target, gen.republish_month(source.read_bytes(), month, revision))
            self._revisions[month] = revision
            gen.write_atomic(
                self._republished_path,
                json.dumps(self._revisions, indent=2, sort_keys=True).encode(),
            )
            self._tables.clear()
        return revision

    # -- tables -------------------------------------------------------------------------

    def table(self, served: Served) -> pa.Table:
        """The served CSV as an Arrow table with the datastore's column types."""
        key = served.key
        with self._lock:
            if key in self._tables:
                self._tables.move_to_end(key)
                return self._tables[key]
        # Every column's type is known, so DuckDB need not sniff the file (several times faster).
        query = (
            "SELECT * FROM read_csv($path, header = true, auto_detect = false, delim = ',', "
            "quote = '\"', escape = '\"', columns = $columns)"
        )
        con = duckdb.connect()
        try:
            params = {"path": str(served.path), "columns": self.column_types(served)}
            table = con.sql(query, params=params).to_arrow_table()
        finally:
            con.close()
        with self._lock:
            self._tables[key] = table
            while len(self._tables) > _TABLE_CACHE_SIZE:
                self._tables.popitem(last=False)
        return table

    def column_types(self, served: Served) -> dict[str, str]:
        """DuckDB type per served column; a renamed column keeps its type, an unknown one is text."""
        renamed = {f.new_name: f.column for f in served.faults if f.kind == "rename_column"}
        month = served.resource.month
        return {
            c: column_type(renamed.get(c, c) or c, month, served.faults) or "VARCHAR"
            for c in self.header(served)
        }

    def fields(self, served: Served) -> list[dict[str, str]]:
        table = self.table(served)
        con = _query_connection()
        try:
            con.register("t", table)
            described = con.execute("SELECT * FROM t LIMIT 0").description
        finally:
            con.close()
        return [{"id": d[0], "type": ckan_type(str(d[1]))} for d in described]

    def run_sql(
        self, served: Served, sql: str, *, timeout_seconds: float = 60.0
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Execute translated SQL over this month only; raises on any SQL error."""
        translated, _ = translate_sql(sql)
        table = self.table(served)
        con = _query_connection()
        timer = threading.Timer(timeout_seconds, con.interrupt)
        try:
            con.register(served.resource.name, table)
            timer.start()
            cursor = con.execute(translated)
            if cursor.description is None:
                return [], []
            columns = [d[0] for d in cursor.description]
            return columns, cursor.fetchall()
        finally:
            timer.cancel()
            con.close()

    def search(
        self,
        served: Served,
        *,
        filters: dict[str, list[Any]],
        limit: int,
        offset: int,
        fields: Sequence[str] | None,
    ) -> tuple[list[dict[str, Any]], int]:
        """``datastore_search``: filtered records, and the total ignoring filters."""
        table = self.table(served)
        columns = table.column_names
        for name in [*filters, *(fields or [])]:
            if name not in columns:
                raise KeyError(name)
        select = ", ".join(_quote(c) for c in fields) if fields else "*"
        where, params = [], []
        for name, values in filters.items():
            where.append(
                f"CAST({_quote(name)} AS VARCHAR) IN ({', '.join('?' for _ in values)})"
                if values
                else "FALSE"
            )
            params.extend(str(v) for v in values)
        # Identifiers were checked against the table's own columns and quoted; values are bound.
        sql = f"SELECT {select} FROM t"  # noqa: S608
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " LIMIT ? OFFSET ?"
        con = _query_connection()
        try:
            con.register("t", table)
            cursor = con.execute(sql, [*params, limit, offset])
            names = [d[0] for d in cursor.description]
            records = [
                {k: json_value(v) for k, v in zip(names, row, strict=True)}
                for row in cursor.fetchall()
            ]
        finally:
            con.close()
        return records, table.num_rows

    # -- CKAN metadata --------------------------------------------------------------------

    def created(self, resource: Resource) -> str:
        """Publication time: around the 14th-20th of the second month after ``month``."""
        i = self._ordinal(resource.month)
        year, mon = int(resource.month[:4]), int(resource.month[5:]) + 2
        if mon > 12:
            year, mon = year + 1, mon - 12
        stamp = datetime(year, mon, 14 + (i * 3) % 7, 9 + i % 3, (i * 7) % 60, (i * 13) % 60)
        stamp += timedelta(microseconds=(i * 104729) % 1_000_000)
        if not resource.snomed:
            stamp -= timedelta(hours=1, minutes=17)
        return stamp.isoformat(timespec="microseconds")

    def last_modified(self, resource: Resource) -> str | None:
        revision = self.revision(resource.month)
        if revision:
            i = self._ordinal(resource.month)
            stamp = REPUBLISH_EPOCH + timedelta(days=revision - 1, minutes=i)
            return stamp.isoformat(timespec="microseconds")
        if resource.month in gen.NULL_LAST_MODIFIED_MONTHS:
            return None
        if resource.month == gen.REPUBLISHED_MONTH:
            return "2025-07-15T13:05:41.482913"
        return self.created(resource)

    def metadata(self, resource: Resource, base_url: str) -> dict[str, Any]:
        """A resource as ``package_show``/``resource_show`` describe it."""
        served = self.served(resource)
        i = self._ordinal(resource.month)
        schema: dict[str, Any] = {
            "fields": [
                {"name": c, "type": _BQ_TYPES.get(t, "NUMERIC")}
                for c, t in self.column_types(served).items()
            ]
        }
        label = datetime(int(resource.month[:4]), int(resource.month[5:]), 1).strftime("%B %Y")
        last_modified = self.last_modified(resource)
        return {
            "bq_table_name": resource.name,
            "cache_last_updated": None,
            "cache_url": None,
            "created": self.created(resource),
            "datastore_active": resource.month not in DATASTORE_INACTIVE_MONTHS,
            "description": f"English Prescribing Dataset (EPD) for {label}",
            "format": "CSV",
            "hash": self.sha256(served) if i % 3 == 0 else "",
            "id": resource.id,
            "last_modified": last_modified,
            "metadata_modified": last_modified or self.created(resource),
            "mimetype": "text/csv",
            "name": resource.name,
            "package_id": resource.package_id,
            "position": self.resources(resource.dataset).index(resource),
            # Some resources carry the schema as JSON, others as a Python repr string.
            "schema": schema if i % 2 == 0 else repr(schema),
            "size": served.path.stat().st_size,
            "state": "active",
            "url": f"{base_url}/dataset/{resource.package_id}/resource/{resource.id}/download/{resource.filename}",
            "url_type": "upload",
        }

    def package(self, dataset: str, base_url: str) -> dict[str, Any]:
        resources = [self.metadata(r, base_url) for r in self.resources(dataset)]
        modified = max((r["last_modified"] or r["created"]) for r in resources)
        return {
            "author": None,
            "author_email": None,
            "id": stable_uuid("package", dataset),
            "isopen": True,
            "license_id": "OGL-UK-3.0",
            "license_title": "Open Government Licence 3.0 (United Kingdom)",
            "maintainer": None,
            "metadata_created": "2021-01-20T11:52:03.402318",
            "metadata_modified": modified,
            "name": dataset,
            "notes": f"{DATASETS[dataset]}: a sample published by a local test portal.",
            "num_resources": len(resources),
            "num_tags": 0,
            "organization": {
                "id": stable_uuid("organization", "nhsbsa"),
                "name": "nhs-business-services-authority",
                "title": "NHS Business Services Authority",
                "type": "organization",
                "state": "active",
            },
            "owner_org": stable_uuid("organization", "nhsbsa"),
            "private": False,
            "resources": resources,
            "state": "active",
            "tags": [],
            "groups": [],
            "title": DATASETS[dataset],
            "type": "dataset",
        }


def gen_resource(month: str, snomed: bool) -> Resource:
    return Resource(gen.resource_name(month, snomed=snomed), month, snomed)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _query_connection() -> duckdb.DuckDBPyConnection:
    """An isolated in-memory connection that cannot touch files or change that setting."""
    return duckdb.connect(config={"enable_external_access": False, "lock_configuration": True})
