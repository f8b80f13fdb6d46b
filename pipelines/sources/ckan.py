"""The NHSBSA open data portal (CKAN with a BigQuery datastore).

The portal has quirks a naive client gets wrong: the SQL action wraps its answer twice,
reports success as the *string* ``"true"``, can fail inside an HTTP 200, and moves large
results out of the response into several gzipped CSV shards. This module turns all of
that into either rows or a :class:`SourceError` that names the action and resource.
"""

from __future__ import annotations

import ast
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from pipelines.http import HttpClient, SourceError, sanitise
from pipelines.limits import inflate, read_limited

SNOMED_DATASET = "english-prescribing-dataset-epd-with-snomed-code"
RETIRED_DATASET = "english-prescribing-data-epd"
SNOMED_FIRST_MONTH = date(2020, 11, 1)
#: Months 2020-11 to 2025-06 are in both datasets; they are always taken from one, the
#: SNOMED dataset (the current one, re-published when corrections are made), and the
#: staged provenance records which dataset and this rule.
DATASET_RULE = (
    "months from 2020-11 from the SNOMED dataset, earlier months from the earlier EPD dataset"
)
_RESOURCE_NAME = re.compile(r"^EPD(?:_SNOMED)?_(\d{4})(\d{2})$")


class MonthNotPublished(SourceError):
    """The month has no resource yet: expected for the newest months, not a fault."""


@dataclass(frozen=True)
class EpdResource:
    """One monthly EPD resource as listed by ``package_show``."""

    dataset: str
    id: str
    name: str
    month: date
    url: str | None
    size: int | None
    created: str | None
    last_modified: str | None
    hash: str | None
    schema_fields: tuple[str, ...] | None

    @property
    def published_at(self) -> str | None:
        """``last_modified`` is sometimes null; ``created`` is then the publication time."""
        return self.last_modified or self.created

    @property
    def version_key(self) -> str:
        """What identifies one publication of the month: a change means re-fetch."""
        return f"{self.name}|{self.published_at}|{self.size}"

    def provenance(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "dataset_rule": DATASET_RULE,
            "resource_id": self.id,
            "resource_name": self.name,
            "created": self.created,
            "last_modified": self.last_modified,
            "size": self.size,
            "hash": self.hash,
            "version_key": self.version_key,
        }


def dataset_for_month(month: date) -> str:
    """The SNOMED dataset covers 2020-11 onwards; earlier months are only in the retired one."""
    return SNOMED_DATASET if month >= SNOMED_FIRST_MONTH else RETIRED_DATASET


def resource_name_for_month(month: date) -> str:
    prefix = "EPD_SNOMED_" if month >= SNOMED_FIRST_MONTH else "EPD_"
    return f"{prefix}{month:%Y%m}"


def _is_true(flag: Any) -> bool:
    return flag is True or (isinstance(flag, str) and flag.strip().lower() == "true")


def _parse_schema_fields(schema: Any) -> tuple[str, ...] | None:
    """The ``schema`` attribute is a JSON object on some resources and a Python repr on others."""
    if schema is None or schema == "":
        return None
    parsed = schema
    if isinstance(schema, str):
        for parser in (json.loads, ast.literal_eval):
            try:
                parsed = parser(schema)
                break
            except (ValueError, SyntaxError):
                continue
        else:
            return None
    fields = parsed.get("fields") if isinstance(parsed, dict) else None
    if not isinstance(fields, list):
        return None
    names = [f.get("name") or f.get("id") for f in fields if isinstance(f, dict)]
    return tuple(n for n in names if isinstance(n, str)) or None


class CkanClient:
    """Typed access to the handful of CKAN actions the pipeline uses."""

    def __init__(self, http: HttpClient, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    def action_url(self, action: str) -> str:
        return f"{self.base_url}/api/3/action/{action}"

    def action(self, action: str, params: dict[str, Any], *, what: str | None = None) -> Any:
        """Call an action and unwrap CKAN's envelope, failing loudly on ``success: false``."""
        label = what or action
        url = self.action_url(action)
        body = self.http.get_json(url, params=params, what=label)
        if not isinstance(body, dict) or "success" not in body:
            raise SourceError(f"{label}: response is not a CKAN envelope", url=url)
        if not _is_true(body["success"]):
            message = _error_message(body.get("error"))
            raise SourceError(f"{label}: portal reported failure: {message}", url=url)
        return body.get("result")

    # -- datasets and resources ---------------------------------------------------------

    def epd_resources(self, dataset: str) -> list[EpdResource]:
        result = self.action("package_show", {"id": dataset}, what=f"package_show {dataset}")
        resources = result.get("resources") if isinstance(result, dict) else None
        if not isinstance(resources, list):
            raise SourceError(
                f"package_show {dataset}: no resources list", url=self.action_url("package_show")
            )
        out = []
        for raw in resources:
            match = _RESOURCE_NAME.match(str(raw.get("name", "")))
            if not match:
                continue
            size = raw.get("size")
            out.append(
                EpdResource(
                    dataset=dataset,
                    id=str(raw["id"]),
                    name=str(raw["name"]),
                    month=date(int(match.group(1)), int(match.group(2)), 1),
                    url=raw.get("url"),
                    size=int(size) if size not in (None, "") else None,
                    created=raw.get("created"),
                    last_modified=raw.get("last_modified"),
                    hash=raw.get("sha256") or raw.get("hash") or None,
                    schema_fields=_parse_schema_fields(raw.get("schema")),
                )
            )
        return sorted(out, key=lambda r: r.month)

    def epd_resource(self, month: date) -> EpdResource:
        dataset = dataset_for_month(month)
        wanted = resource_name_for_month(month)
        for resource in self.epd_resources(dataset):
            if resource.name == wanted:
                return resource
        raise MonthNotPublished(
            f"{wanted} is not (yet) published in dataset {dataset}",
            url=f"{self.action_url('package_show')}?id={dataset}",
        )

    def resource_show(self, resource_id: str) -> dict[str, Any]:
        result = self.action(
            "resource_show", {"id": resource_id}, what=f"resource_show {resource_id}"
        )
        if not isinstance(result, dict):
            raise SourceError(f"resource_show {resource_id}: result is not an object")
        return result

    def datastore_fields(self, resource_name: str) -> list[str]:
        """Column names as the datastore holds them, to pick the header layout before querying."""
        result = self.action(
            "datastore_search",
            {"resource_id": resource_name, "limit": 1},
            what=f"datastore_search {resource_name}",
        )
        fields = result.get("fields") if isinstance(result, dict) else None
        if not isinstance(fields, list):
            raise SourceError(
                f"datastore_search {resource_name}: no field list",
                url=self.action_url("datastore_search"),
            )
        return [str(f["id"]) for f in fields if isinstance(f, dict) and "id" in f]

    # -- SQL ----------------------------------------------------------------------------

    def datastore_search_sql(self, resource_name: str, sql: str) -> SqlResult:
        """Run SQL on the datastore and return every row, inline or from every shard."""
        label = f"datastore_search_sql {resource_name}"
        outer = self.action(
            "datastore_search_sql", {"resource_id": resource_name, "sql": sql}, what=label
        )
        if not isinstance(outer, dict):
            raise SourceError(f"{label}: result is not an object")
        # The SQL action nests a second CKAN envelope inside the first.
        inner = outer
        if "result" in outer and "success" in outer:
            if not _is_true(outer["success"]):
                message = _error_message(outer.get("error") or outer.get("result"))
                raise SourceError(
                    f"{label}: query failed: {message}", url=self.action_url("datastore_search_sql")
                )
            inner = outer["result"]
        if not isinstance(inner, dict):
            raise SourceError(f"{label}: inner result is not an object")
        if _is_true(inner.get("records_truncated")):
            shards = [g["url"] for g in inner.get("gc_urls") or [] if isinstance(g, dict)]
            if not shards:
                raise SourceError(f"{label}: result truncated but no gc_urls shards were given")
            frames = [self._read_shard(resource_name, i, url) for i, url in enumerate(shards)]
            return SqlResult(_concat(frames), shard_urls=tuple(shards))
        records = inner.get("records")
        if not isinstance(records, list):
            raise SourceError(f"{label}: no records in the result")
        return SqlResult(_records_frame(records, inner.get("fields")), shard_urls=())

    def _read_shard(self, resource_name: str, index: int, url: str) -> pl.DataFrame:
        what = f"datastore_search_sql {resource_name} shard {index + 1}"
        response = self.http.get(url, what=what)
        body = response.content
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) != len(body):
            raise SourceError(
                f"{what}: short body ({len(body)} of {declared} bytes)", url=str(response.url)
            )
        if body[:2] == b"\x1f\x8b":
            limits = self.http.limits
            data = read_limited(
                inflate(
                    [body],
                    limit=limits.max_in_memory_bytes,
                    max_ratio=limits.max_compression_ratio,
                    what=f"{what} (gzip shard)",
                    url=str(response.url),
                ),
                limits.max_in_memory_bytes,
                what=what,
                url=str(response.url),
            )
        else:
            data = body
        try:
            return pl.read_csv(io.BytesIO(data), infer_schema=False, encoding="utf8-lossy")
        except pl.exceptions.PolarsError as exc:
            raise SourceError(f"{what}: unreadable CSV ({exc})", url=str(response.url)) from exc


@dataclass(frozen=True)
class SqlResult:
    """Rows of a SQL answer, all as text (types are checked by the caller), and where from."""

    frame: pl.DataFrame
    shard_urls: tuple[str, ...]


def _error_message(error: Any) -> str:
    """The portal's own words about a failure, as a short sanitised snippet."""
    if isinstance(error, dict):
        parts = [str(error.get("message") or "")]
        parts += [f"{k}: {v}" for k, v in error.items() if k not in ("message", "__type")]
        return sanitise("; ".join(p for p in parts if p) or json.dumps(error), 200)
    return sanitise(str(error), 200) if error else "no message given"


def _records_frame(records: list[Any], fields: Any) -> pl.DataFrame:
    """Inline records as a frame of strings, keeping the field order the portal reported."""
    names: list[str] = []
    if isinstance(fields, list):
        names = [str(f["id"]) for f in fields if isinstance(f, dict) and "id" in f]
    if not names and records:
        names = list(records[0].keys())
    columns: dict[str, list[str | None]] = {n: [] for n in names}
    for rec in records:
        for n in names:
            v = rec.get(n)
            columns[n].append(None if v is None else _text(v))
    return pl.DataFrame(columns, schema={n: pl.String for n in names})


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _concat(frames: Iterable[pl.DataFrame]) -> pl.DataFrame:
    frames = list(frames)
    if not frames:
        return pl.DataFrame()
    first = frames[0].columns
    for i, f in enumerate(frames[1:], start=2):
        if f.columns != first:
            raise SourceError(f"shard {i} has columns {f.columns}, shard 1 has {first}")
    return pl.concat(frames, how="vertical")
