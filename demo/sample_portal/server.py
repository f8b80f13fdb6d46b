"""A loopback HTTP server speaking the three sources' protocols over the sample data.

The pipeline's production HTTP code talks to this server exactly as it talks to the real
NHSBSA portal, NHS England's publication pages and the ODS file host: same paths, same
envelopes, same quirks (the SQL action's double envelope with a *string* ``"true"``,
results moved into gzipped CSV shards behind back-ticked URLs, expiring ``zip_url``s,
``last_modified`` sometimes null, schemas sometimes a Python repr). Faults are injected
per request from a :class:`FaultRegistry`, so tests can check retries, resumption and
validation against the real code path rather than mocks.

It binds to loopback only: it is a test and demo fixture, not a service.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import hmac
import io
import json
import logging
import secrets
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import duckdb

from demo.sample_portal import generator as gen
from demo.sample_portal import pages
from demo.sample_portal.faults import (
    API_ENDPOINTS,
    FaultError,
    FaultRegistry,
    FaultSpec,
    make_spec,
)
from demo.sample_portal.store import (
    RETIRED_DATASET,
    SNOMED_DATASET,
    EpdStore,
    Resource,
    Served,
    SqlError,
    csv_value,
    json_value,
    translate_sql,
)

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
API_PREFIX = "/api/3/action/"
# The inner envelope of datastore_search_sql really does point at demo.ckan.org.
INNER_SQL_HELP = "https://demo.ckan.org/api/3/action/help_show?name=datastore_search_sql"
_CHUNK = 256 * 1024


@dataclass
class _ShardSet:
    created: float
    resource: str
    month: str
    files: dict[str, bytes]


class _Abort(Exception):
    """The response was deliberately not sent (reset or hang fault)."""


class SamplePortal:
    """The sample portal, in-process (background thread) or via :func:`serve_forever`.

    ``row_cap`` is the SQL action's inline row limit (32,000 on the real portal); larger
    results are split into gzipped shards of ``shard_rows`` rows (default ``row_cap // 2``,
    so a truncated result always has at least two shards). ``zip_url`` links stop working
    ``zip_url_ttl_seconds`` after ``resource_show`` issued them (attribute, may be changed
    while running).
    """

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        row_cap: int = 32000,
        shard_rows: int | None = None,
        zip_url_ttl_seconds: float = 3600,
        *,
        verbose: bool = False,
        shard_ttl_seconds: float = 3600,
        sql_timeout_seconds: float = 60,
        withheld: tuple[str, ...] = (),
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the sample portal binds to loopback only, not {host!r}")
        if row_cap < 1:
            raise ValueError("row_cap must be at least 1")
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.row_cap = row_cap
        self._shard_rows = shard_rows
        self.zip_url_ttl_seconds = zip_url_ttl_seconds
        self.shard_ttl_seconds = shard_ttl_seconds
        self.sql_timeout_seconds = sql_timeout_seconds
        self.verbose = verbose
        self.withheld = tuple(withheld)
        self.fault_registry = FaultRegistry()
        self.manifest: gen.SampleManifest | None = None
        self.store: EpdStore | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._secret = secrets.token_bytes(16)
        self._shards: dict[str, _ShardSet] = {}
        self._shards_lock = threading.Lock()
        # URL path -> (month, local file) for the list-size files the month pages link.
        self._list_size_files: dict[str, tuple[str, Path]] = {}

    @property
    def shard_rows(self) -> int:
        """Rows per gzipped shard: as given, else half the row cap (so always >= 2 shards)."""
        return self._shard_rows or max(1, self.row_cap // 2)

    @shard_rows.setter
    def shard_rows(self, value: int | None) -> None:
        self._shard_rows = value

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> SamplePortal:
        """Generate the sample if needed, bind, and serve from a daemon thread."""
        if self._server is not None:
            return self
        self.manifest = gen.generate_sample(self.data_dir)
        self.store = EpdStore(self.data_dir, self.manifest, self.fault_registry)
        for month in self.withheld:
            self.store.withhold(month)
        for month, links in self.manifest.facts["list_size_files"].items():
            for filename, path in links.items():
                local = self.data_dir / "list_sizes" / month / filename
                self._list_size_files[path] = (month, local)
        self._stopping.clear()
        server = _Server((self.host, self.port), _Handler)
        server.portal = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="sample-portal",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging requests are released at once."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SamplePortal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (valid once started)."""
        if self._server is None:
            raise RuntimeError("the sample portal is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The ``OPIOIDS_*`` source URLs pointing at this portal."""
        return {
            "OPIOIDS_PORTAL_URL": self.url,
            "OPIOIDS_LIST_SIZE_URL": f"{self.url}{pages.LIST_SIZE_INDEX_PATH}/",
            "OPIOIDS_ODS_URL": f"{self.url}{pages.ODS_PATH}",
        }

    # -- controls -------------------------------------------------------------------------

    def set_fault(self, kind: str, **params: Any) -> FaultSpec:
        """Inject a fault (see :mod:`demo.sample_portal.faults`); returns the live spec."""
        return self.fault_registry.add(make_spec(kind, **params))

    def clear_faults(self) -> None:
        self.fault_registry.clear()

    @property
    def faults(self) -> list[FaultSpec]:
        return self.fault_registry.all()

    def republish(self, month: str) -> dict[str, Any]:
        """Re-publish ``month``: a newer ``last_modified`` and a small data change, persisted."""
        store = self._require_store()
        revision = store.republish(month)
        resources = [
            r
            for r in (
                store.find(gen.resource_name(month)),
                store.find(gen.resource_name(month, snomed=False)),
            )
            if r
        ]
        return {
            "month": month,
            "revision": revision,
            "resources": [store.metadata(r, self.url) for r in resources],
        }

    def publish(self, month: str) -> dict[str, Any]:
        """Publish a month held back with ``withheld``: it appears in ``package_show``."""
        store = self._require_store()
        released = store.release(month)
        resource = store.find(gen.resource_name(month))
        assert resource is not None
        return {
            "month": month,
            "newly_published": released,
            "resource": store.metadata(resource, self.url),
        }

    def _require_store(self) -> EpdStore:
        if self.store is None:
            raise RuntimeError("the sample portal is not running; call start() first")
        return self.store

    # -- signed zip URLs ------------------------------------------------------------------

    def sign_zip(self, name: str, issued: int, ttl: int) -> str:
        message = f"{name}:{issued}:{ttl}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def zip_url(self, base_url: str, resource: Resource) -> str:
        issued = int(time.time())
        ttl = max(0, int(self.zip_url_ttl_seconds))
        stamp = datetime.fromtimestamp(issued, UTC).strftime("%Y%m%dT%H%M%SZ")
        return (
            f"{base_url}/zip/{resource.name}.zip?X-Goog-Algorithm=GOOG4-RSA-SHA256"
            f"&X-Goog-Date={stamp}&X-Goog-Expires={ttl}"
            f"&X-Goog-Signature={self.sign_zip(resource.name, issued, ttl)}"
        )

    # -- shards ---------------------------------------------------------------------------

    def store_shards(self, query_id: str, shard_set: _ShardSet) -> None:
        now = time.monotonic()
        with self._shards_lock:
            for key in [
                k for k, v in self._shards.items() if now - v.created > self.shard_ttl_seconds
            ]:
                del self._shards[key]
            self._shards[query_id] = shard_set

    def shard_set(self, query_id: str) -> _ShardSet | None:
        with self._shards_lock:
            found = self._shards.get(query_id)
        if found and time.monotonic() - found.created > self.shard_ttl_seconds:
            return None
        return found


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    portal: SamplePortal


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _http_date(stamp: str | None) -> str | None:
    if not stamp:
        return None
    return format_datetime(datetime.fromisoformat(stamp).replace(tzinfo=UTC), usegmt=True)


def _parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(start, end) of a single byte range; None to ignore the header; False if unsatisfiable."""
    if not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if first == "":
            length = int(last)
            if length <= 0:
                return False
            return max(0, size - length), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return False
    return start, min(end, size - 1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "SamplePortal/1"

    # -- plumbing -------------------------------------------------------------------------

    @property
    def portal(self) -> SamplePortal:
        return self.server.portal

    @property
    def store(self) -> EpdStore:
        return self.portal._require_store()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        if self.portal.verbose:
            super().log_message(format, *args)

    def base_url(self) -> str:
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.portal.url

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        self._method = method
        self._fault: FaultSpec | None = None
        self._sent = False
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            if path.startswith("/_sample/"):
                self._control(path, query)
                return
            endpoint, month, resource, action = self._route(path, query)
            if method not in ("GET", "HEAD") and not (
                method == "POST" and endpoint in API_ENDPOINTS
            ):
                self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"method not allowed\n", "text/plain")
                return
            self._fault = self.portal.fault_registry.take(
                endpoint, month=month, resource=resource, path=path
            )
            if self._fault is not None and self._transport_fault(self._fault, endpoint):
                return
            action()
        except _Abort:
            return
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a bug in the portal: say so rather than hang the client
            log.exception("sample portal failed on %s %s", method, self.path)
            if not self._sent:
                self._send_json(
                    500, {"success": False, "error": {"message": f"sample portal error: {exc}"}}
                )

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self._sent = True
        if self._method != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        body = _json_bytes(obj)
        if self._fault is not None and self._fault.kind == "malformed_json":
            body = body[: max(1, len(body) // 2)]  # a response cut off mid-document
        self._send(status, body, "application/json;charset=utf-8", headers)

    def _help(self, action: str) -> str:
        return f"{self.base_url()}{API_PREFIX}help_show?name={action}"

    def _ckan_error(self, status: int, action: str, message: str, kind: str, **extra: Any) -> None:
        error = {"message": message, "__type": kind, **extra}
        self._send_json(status, {"help": self._help(action), "success": False, "error": error})

    def _ckan_ok(self, action: str, result: Any) -> None:
        self._send_json(200, {"help": self._help(action), "success": True, "result": result})

    def _not_found(self) -> None:
        self._send(404, b"Not Found\n", "text/plain; charset=utf-8")

    # -- faults acting on the whole exchange ----------------------------------------------

    def _transport_fault(self, fault: FaultSpec, endpoint: str) -> bool:
        """Apply a fault that replaces the response; False leaves it to the endpoint."""
        if fault.kind == "status":
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            message = fault.message or (
                f"Rate limit exceeded; try again in {fault.retry_after or 1} seconds"
                if fault.status == 429
                else f"{fault.status} {HTTPStatus(fault.status).phrase} (injected fault)"
            )
            if endpoint in API_ENDPOINTS:
                body = {"success": False, "error": {"message": message, "__type": "Server Error"}}
                self._send_json(fault.status, body, headers)
            else:
                self._send(
                    fault.status, (message + "\n").encode(), "text/plain; charset=utf-8", headers
                )
            return True
        if fault.kind == "reset":
            self._reset()
        if fault.kind == "hang":
            self.portal._stopping.wait(fault.seconds)
            self._reset()
        return False

    def _reset(self) -> None:
        """Drop the connection with a TCP reset and no response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # The socket closes (with RST) once its file objects are closed too; stand-ins
            # keep the stdlib's end-of-request flush and close from touching it again.
            self.rfile.close()
            self.wfile.close()
            self.connection.close()
        except OSError:
            pass
        self.rfile, self.wfile = io.BytesIO(), io.BytesIO()
        raise _Abort

    # -- routing --------------------------------------------------------------------------

    def _route(
        self, path: str, query: dict[str, str]
    ) -> tuple[str, str | None, str | None, Callable[[], None]]:
        """(endpoint, month, resource name, handler) for a request path."""
        if path == "/":
            return "root", None, None, self._root
        if path.startswith(API_PREFIX):
            return self._route_api(path[len(API_PREFIX) :].strip("/"), query)
        parts = path.strip("/").split("/")
        if (
            len(parts) == 6
            and parts[0] == "dataset"
            and parts[2] == "resource"
            and parts[4] == "download"
        ):
            resource = self.store.find(parts[3])
            if resource is None or resource.package_id != parts[1]:
                return "csv", None, None, self._not_found
            return "csv", resource.month, resource.name, lambda: self._csv(resource)
        if len(parts) == 2 and parts[0] == "zip" and parts[1].endswith(".zip"):
            resource = self.store.find(parts[1][:-4])
            if resource is None:
                return "zip", None, None, self._not_found
            return "zip", resource.month, resource.name, lambda: self._zip(resource, query)
        if len(parts) == 3 and parts[0] == "gc":
            shard_set = self.portal.shard_set(parts[1])
            if shard_set is None:
                return "gc", None, None, self._gcs_missing
            return (
                "gc",
                shard_set.month,
                shard_set.resource,
                lambda: self._shard(shard_set, parts[2]),
            )
        index = pages.LIST_SIZE_INDEX_PATH
        if path.rstrip("/") == index:
            return "list_size_index", None, None, self._list_size_index
        if path.startswith(index + "/"):
            slug = path[len(index) + 1 :].strip("/")
            month = next((m for m in self._months() if gen.month_slug(m) == slug), None)
            if month is None:
                return "list_size_page", None, None, self._not_found
            return "list_size_page", month, None, lambda: self._list_size_month(month)
        if path in self.portal._list_size_files:
            month, local = self.portal._list_size_files[path]
            return "list_size_file", month, None, lambda: self._list_size_file(path, local)
        if path == pages.ODS_PATH:
            return "ods", None, None, self._ods
        return "other", None, None, self._not_found

    def _route_api(
        self, action: str, query: dict[str, str]
    ) -> tuple[str, str | None, str | None, Callable[[], None]]:
        params: dict[str, Any] = dict(query)
        if self._method == "POST":  # CKAN also takes an action's parameters as a JSON body
            try:
                body = self._json_body()
            except ValueError:
                body = None
            if isinstance(body, dict):
                params.update(body)
        key = {
            "resource_show": "id",
            "datastore_search": "resource_id",
            "datastore_search_sql": "resource_id",
        }
        resource = (
            self.store.find(str(params.get(key.get(action, ""), ""))) if action in key else None
        )
        handlers: dict[str, Callable[[], None]] = {
            "package_show": lambda: self._package_show(params),
            "resource_show": lambda: self._resource_show(params, resource),
            "datastore_search": lambda: self._datastore_search(params, resource),
            "datastore_search_sql": lambda: self._datastore_search_sql(params, resource),
        }
        handler = handlers.get(action)
        if handler is None:
            return (
                "api_other",
                None,
                None,
                lambda: self._ckan_error(
                    400, action, f"Bad request - Action name not known: {action}", "Bad Request"
                ),
            )
        return (
            action,
            resource.month if resource else None,
            resource.name if resource else None,
            handler,
        )

    def _months(self) -> tuple[str, ...]:
        assert self.portal.manifest is not None
        historic = self.portal.manifest.facts.get("historic_months", ())
        return tuple(sorted({*self.portal.manifest.months, *historic}))

    def _links(self) -> dict[str, dict[str, str]]:
        assert self.portal.manifest is not None
        return self.portal.manifest.facts["list_size_files"]

    def _json_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw.strip() else None

    # -- CKAN -----------------------------------------------------------------------------

    def _package_show(self, params: dict[str, Any]) -> None:
        dataset = str(params.get("id", ""))
        if dataset not in (SNOMED_DATASET, RETIRED_DATASET):
            self._ckan_error(404, "package_show", "Not found", "Not Found Error")
            return
        self._ckan_ok("package_show", self.store.package(dataset, self.base_url()))

    def _resource_show(self, params: dict[str, Any], resource: Resource | None) -> None:
        if resource is None or params.get("id") != resource.id:
            self._ckan_error(
                404, "resource_show", "Not found: Resource was not found.", "Not Found Error"
            )
            return
        result = self.store.metadata(resource, self.base_url())
        if not (self._fault and self._fault.kind == "missing_zip_url"):
            result["zip_url"] = self.portal.zip_url(self.base_url(), resource)
        self._ckan_ok("resource_show", result)

    def _served(self, resource: Resource) -> Served:
        served = self.store.served(resource)
        if served.faults:
            self.portal.fault_registry.note_fired(served.faults)
        return served

    def _datastore_search(self, params: dict[str, Any], resource: Resource | None) -> None:
        action = "datastore_search"
        resource_id = str(params.get("resource_id", ""))
        if resource is None:
            self._ckan_error(
                404,
                action,
                f'Not found: Resource "{resource_id}" was not found.',
                "Not Found Error",
            )
            return
        try:
            limit = int(params.get("limit", 100))
            offset = int(params.get("offset", 0))
            if limit < 0 or offset < 0:
                raise ValueError
        except (TypeError, ValueError):
            self._ckan_error(
                409, action, "limit and offset must be non-negative integers", "Validation Error"
            )
            return
        filters = params.get("filters") or {}
        try:
            if isinstance(filters, str):
                filters = json.loads(filters)
        except ValueError:
            self._ckan_error(409, action, "filters: not a JSON object", "Validation Error")
            return
        if not isinstance(filters, dict) or not all(isinstance(v, list) for v in filters.values()):
            self._ckan_error(
                409,
                action,
                "filters must be a JSON object whose values are lists",
                "Validation Error",
            )
            return
        fields_param = params.get("fields")
        fields = (
            [f.strip() for f in str(fields_param).split(",") if f.strip()] if fields_param else None
        )
        served = self._served(resource)
        try:
            records, total = self.store.search(
                served,
                filters=filters,
                limit=min(limit, self.portal.row_cap),
                offset=offset,
                fields=fields,
            )
        except KeyError as exc:
            self._ckan_error(
                409, action, f"field {exc.args[0]!r} not in the table", "Validation Error"
            )
            return
        link = f"{API_PREFIX}datastore_search?resource_id={resource.name}"
        self._ckan_ok(
            action,
            {
                "include_total": True,
                "resource_id": resource.name,
                "fields": self.store.fields(served),
                "records_format": "objects",
                "records": records,
                "_links": {
                    "start": link,
                    "next": f"{API_PREFIX}datastore_search?offset={offset + limit}&resource_id={resource.name}",
                },
                "total": total,
            },
        )

    def _datastore_search_sql(self, params: dict[str, Any], resource: Resource | None) -> None:
        action = "datastore_search_sql"
        resource_id = str(params.get("resource_id", ""))
        sql = str(params.get("sql", ""))
        if not sql.strip() or not resource_id:
            self._ckan_error(409, action, "resource_id and sql are required", "Validation Error")
            return
        try:
            _, identifiers = translate_sql(sql)
        except SqlError as exc:
            self._sql_failure(str(exc))
            return
        if not identifiers or identifiers[0] != resource_id:
            found = identifiers[0] if identifiers else "none"
            self._ckan_error(
                409,
                action,
                f"The first table in the query (`{found}`) must be the resource_id {resource_id!r}",
                "Validation Error",
            )
            return
        if resource is None:
            self._ckan_error(
                404,
                action,
                f'Not found: Resource "{resource_id}" was not found.',
                "Not Found Error",
            )
            return
        if self._fault and self._fault.kind == "inner_failure":
            self._sql_failure(
                self._fault.message or "Query failed: resources exceeded during query execution"
            )
            return
        served = self._served(resource)
        try:
            columns, rows = self.store.run_sql(
                served, sql, timeout_seconds=self.portal.sql_timeout_seconds
            )
        except (duckdb.Error, SqlError) as exc:
            self._sql_failure(str(exc).splitlines()[0])
            return
        if len(rows) <= self.portal.row_cap:
            records = [
                {c: json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows
            ]
            inner: dict[str, Any] = {"records": records, "fields": []}
        else:
            inner = {
                "records_truncated": "true",
                "gc_urls": self._make_shards(served, sql, columns, rows),
                "fields": [],
            }
        self._ckan_ok(action, {"help": INNER_SQL_HELP, "success": "true", "result": inner})

    def _sql_failure(self, message: str) -> None:
        """A query-level failure: HTTP 200, outer success true, inner success the string "false"."""
        inner = {
            "help": INNER_SQL_HELP,
            "success": "false",
            "error": {"message": message, "__type": "Query Error"},
            "result": None,
        }
        self._ckan_ok("datastore_search_sql", inner)

    def _make_shards(
        self, served: Served, sql: str, columns: list[str], rows: list[tuple[Any, ...]]
    ) -> list[dict[str, str]]:
        """Write the result as gzipped CSV shards, BigQuery-export style, and link them."""
        name = served.resource.name
        query_id = hashlib.sha1(f"{name}\n{served.key}\n{sql}".encode()).hexdigest()[:20]
        files: dict[str, bytes] = {}
        size = self.portal.shard_rows
        for i, start in enumerate(range(0, len(rows), size)):
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([csv_value(v) for v in row] for row in rows[start : start + size])
            files[f"`{name}`-{i:012d}.csv.gz"] = gzip.compress(buf.getvalue().encode(), mtime=0)
        self.portal.store_shards(
            query_id, _ShardSet(time.monotonic(), name, served.resource.month, files)
        )
        return [{"url": f"{self.base_url()}/gc/{query_id}/{quote(f, safe='')}"} for f in files]

    def _shard(self, shard_set: _ShardSet, filename: str) -> None:
        data = shard_set.files.get(filename)
        if data is None:
            self._gcs_missing()
            return
        if self._fault and self._fault.kind == "corrupt_shard":
            data = data[:10] + bytes(b ^ 0x5A for b in data[10:])
        elif self._fault and self._fault.kind == "truncated_shard":
            data = data[: len(data) // 2]
        etag = '"' + hashlib.md5(data).hexdigest() + '"'  # noqa: S324 (an ETag, as GCS uses)
        self._send_blob(data, "application/octet-stream", etag)

    def _gcs_missing(self) -> None:
        body = (
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code>"
            "<Message>The specified key does not exist.</Message></Error>"
        )
        self._send(404, body.encode(), "application/xml; charset=UTF-8")

    # -- downloads ------------------------------------------------------------------------

    def _csv(self, resource: Resource) -> None:
        served = self._served(resource)
        self._send_blob(
            served.path,
            "text/csv",
            '"' + hashlib.sha1(served.key.encode()).hexdigest() + '"',
            {
                "Content-Disposition": f'attachment; filename="{resource.filename}"',
                **self._last_modified_header(resource),
            },
        )

    def _zip(self, resource: Resource, query: dict[str, str]) -> None:
        try:
            stamp = datetime.strptime(query["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            issued, ttl = int(stamp.timestamp()), int(query["X-Goog-Expires"])
            valid = hmac.compare_digest(
                query["X-Goog-Signature"], self.portal.sign_zip(resource.name, issued, ttl)
            )
        except (KeyError, ValueError):
            valid, issued, ttl = False, 0, 0
        if not valid:
            self._gcs_denied(
                "SignatureDoesNotMatch", "The request signature we calculated does not match."
            )
            return
        if time.time() >= issued + ttl:
            self._gcs_denied(
                "ExpiredToken",
                f"The provided token has expired. Request signature expired at: {datetime.fromtimestamp(issued + ttl, UTC).isoformat()}",
            )
            return
        served = self._served(resource)
        path = self.store.zip_path(served)
        self._send_blob(
            path,
            "application/zip",
            '"' + hashlib.sha1(path.name.encode()).hexdigest() + '"',
            {
                "Content-Disposition": f'attachment; filename="{resource.name}.zip"',
                **self._last_modified_header(resource),
            },
        )

    def _gcs_denied(self, code: str, message: str) -> None:
        body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        self._send(403, body.encode(), "application/xml; charset=UTF-8")

    def _last_modified_header(self, resource: Resource) -> dict[str, str]:
        stamp = _http_date(self.store.last_modified(resource) or self.store.created(resource))
        return {"Last-Modified": stamp} if stamp else {}

    def _send_blob(
        self,
        source: Path | bytes,
        content_type: str,
        etag: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send a file or bytes, honouring a single ``Range`` (206) so clients can resume."""
        size = source.stat().st_size if isinstance(source, Path) else len(source)
        extra = {"Accept-Ranges": "bytes", "ETag": etag, **(headers or {})}
        start, end, status = 0, size - 1, 200
        requested = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if requested and (if_range is None or if_range == etag):
            parsed = _parse_range(requested, size)
            if parsed is False:
                self._send(416, b"", content_type, {**extra, "Content-Range": f"bytes */{size}"})
                return
            if parsed:
                start, end = parsed
                status = 206
                extra["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(0, end - start + 1)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self._sent = True
        if self._method == "HEAD" or length == 0:
            return
        if isinstance(source, bytes):
            self.wfile.write(source[start : end + 1])
            return
        with source.open("rb") as fh:
            fh.seek(start)
            remaining = length
            while remaining:
                chunk = fh.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)

    # -- list sizes, ODS, front page ------------------------------------------------------

    def _html(self, body: bytes) -> None:
        self._send(200, body, "text/html; charset=utf-8")

    def _root(self) -> None:
        assert self.portal.manifest is not None
        self._html(pages.front_page(self.base_url(), self.portal.manifest.months))

    def _list_size_index(self) -> None:
        self._html(pages.list_size_index(self._months()))

    def _list_size_month(self, month: str) -> None:
        self._html(pages.list_size_month(month, self._links()[month], self.base_url()))

    def _list_size_file(self, path: str, local: Path) -> None:
        kind = "application/zip" if local.suffix == ".zip" else "text/csv"
        self._send_blob(local, kind, '"' + hashlib.sha1(path.encode()).hexdigest() + '"')

    def _ods(self) -> None:
        local = self.portal.data_dir / "ods" / "epraccur.zip"
        self._send_blob(local, "application/zip", '"' + hashlib.sha1(b"epraccur").hexdigest() + '"')

    # -- test controls --------------------------------------------------------------------

    def _control(self, path: str, query: dict[str, str]) -> None:
        portal = self.portal
        if path == "/_sample/faults":
            if self._method == "GET":
                self._send_json(200, {"faults": [f.to_dict() for f in portal.faults]})
            elif self._method == "DELETE":
                self._send_json(200, {"cleared": portal.fault_registry.clear()})
            elif self._method == "POST":
                try:
                    body = self._json_body()
                    specs = (
                        body.get("faults") if isinstance(body, dict) and "faults" in body else body
                    )
                    specs = specs if isinstance(specs, list) else [specs]
                    added = [portal.fault_registry.add(FaultSpec.from_dict(s)) for s in specs]
                except (FaultError, TypeError, ValueError, AttributeError) as exc:
                    self._send_json(400, {"error": str(exc)})
                    return
                self._send_json(201, {"faults": [f.to_dict() for f in added]})
            else:
                self._send_json(405, {"error": "use GET, POST or DELETE"})
        elif path == "/_sample/republish" and self._method == "POST":
            month = query.get("month", "")
            try:
                self._send_json(200, portal.republish(month))
            except KeyError as exc:
                self._send_json(404, {"error": str(exc.args[0])})
        elif path == "/_sample/publish" and self._method == "POST":
            try:
                self._send_json(200, portal.publish(query.get("month", "")))
            except KeyError as exc:
                self._send_json(404, {"error": str(exc.args[0])})
        elif path == "/_sample/manifest" and self._method in ("GET", "HEAD"):
            assert portal.manifest is not None
            self._send_json(200, json.loads(portal.manifest.to_json()))
        else:
            self._send_json(404, {"error": f"no control endpoint {path}"})


def serve_forever(
    data_dir: Path, port: int = 8765, *, verbose: bool = True, withheld: tuple[str, ...] = ()
) -> None:
    """Run the sample portal in the foreground until interrupted (for the CLI).

    Prints the base URL and the environment variables that point the pipeline at it.
    """
    portal = SamplePortal(Path(data_dir), port=port, verbose=verbose, withheld=withheld)
    portal.start()
    print(f"Sample portal serving {Path(data_dir).resolve()} at {portal.url}", flush=True)
    for key, value in portal.env().items():
        print(f"  export {key}={value}", flush=True)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        portal.stop()
        print("Sample portal stopped.", file=sys.stderr, flush=True)
