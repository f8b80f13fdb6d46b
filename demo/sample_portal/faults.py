"""Faults the sample portal can inject, described as data.

Tests choose a fault by kind and where it applies (endpoint, month, resource, path), and
optionally how many times it may fire. Two families:

* transport faults act on one HTTP exchange: an error status (with ``Retry-After`` for
  429), a connection reset, a hang longer than the client's timeout, a malformed JSON
  body, an inner ``success: "false"`` from the SQL action, a ``resource_show`` without
  ``zip_url``, and a corrupt or short gzip shard;
* data faults change one month's table, and every endpoint serves the changed table
  (package metadata, datastore, SQL, shards, CSV and zip downloads agree), because a real
  bad publication is bad everywhere.

A spec's ``fired`` count says how often it acted; ``times`` (``None`` = until cleared)
bounds it, so "fail twice, then succeed" is one spec.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from demo.sample_portal.generator import format_number

TRANSPORT_KINDS = frozenset(
    {
        "status", "reset", "hang", "malformed_json", "inner_failure", "missing_zip_url",
        "corrupt_shard", "truncated_shard",
    }
)  # fmt: skip
DATA_KINDS = frozenset(
    {
        "rename_column", "drop_column", "extra_column", "negative_items",
        "non_numeric_quantity", "duplicate_rows", "empty_month", "scale_items",
    }
)  # fmt: skip
KINDS = TRANSPORT_KINDS | DATA_KINDS

API_ENDPOINTS = frozenset(
    {"package_show", "resource_show", "datastore_search", "datastore_search_sql"}
)
ENDPOINTS = API_ENDPOINTS | {
    "csv", "zip", "gc", "list_size_index", "list_size_page", "list_size_file", "ods", "root",
}  # fmt: skip
# Faults that only make sense on some endpoints; a spec without an endpoint gets these.
_IMPLIED_ENDPOINT = {
    "inner_failure": "datastore_search_sql",
    "missing_zip_url": "resource_show",
    "corrupt_shard": "gc",
    "truncated_shard": "gc",
}
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_HANG_SECONDS = 300.0


class FaultError(ValueError):
    """A fault spec that cannot be applied (unknown kind, bad parameter)."""


@dataclass
class FaultSpec:
    """One injected fault; fields beyond the matching ones are parameters of some kinds."""

    kind: str
    endpoint: str | None = None
    month: str | None = None  # "YYYY-MM"
    resource: str | None = None  # e.g. "EPD_SNOMED_202501"
    path: str | None = None  # substring of the request path
    times: int | None = None  # None: until cleared
    status: int = 503  # status
    retry_after: int | None = None  # status (429 defaults to 1)
    seconds: float = 10.0  # hang
    message: str | None = None  # status, inner_failure
    column: str | None = None  # rename/drop/extra column
    new_name: str | None = None  # rename_column
    value: str | None = None  # extra_column, non_numeric_quantity
    rows: int | None = None  # negative_items, non_numeric_quantity (1), duplicate_rows (10)
    factor: float = 0.4  # scale_items
    id: int = 0
    fired: int = 0

    @property
    def is_data(self) -> bool:
        return self.kind in DATA_KINDS

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaultSpec:
        names = {f.name for f in fields(cls)} - {"id", "fired"}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise FaultError(f"unknown fault field(s): {', '.join(unknown)}")
        if "kind" not in raw:
            raise FaultError("a fault needs a 'kind'")
        return cls(**raw).validated()

    def validated(self) -> FaultSpec:
        """Check the kind and parameters, and fill kind-specific defaults."""
        if self.kind not in KINDS:
            raise FaultError(f"unknown fault kind {self.kind!r}; known: {', '.join(sorted(KINDS))}")
        if self.endpoint is None and self.kind in _IMPLIED_ENDPOINT:
            self.endpoint = _IMPLIED_ENDPOINT[self.kind]
        if self.endpoint is not None and self.endpoint not in ENDPOINTS:
            raise FaultError(
                f"unknown endpoint {self.endpoint!r}; known: {', '.join(sorted(ENDPOINTS))}"
            )
        if self.is_data and self.endpoint is not None:
            raise FaultError(
                "data faults apply to every endpoint: give month/resource, not endpoint"
            )
        if self.kind == "malformed_json" and self.endpoint not in (None, *API_ENDPOINTS):
            raise FaultError("malformed_json applies to the CKAN API endpoints only")
        if self.kind == "status":
            if not 400 <= self.status <= 599:
                raise FaultError(f"status must be an HTTP error status, not {self.status}")
            if self.status == 429 and self.retry_after is None:
                self.retry_after = 1
        if self.kind == "hang":
            self.seconds = min(max(0.0, float(self.seconds)), MAX_HANG_SECONDS)
        if self.month is not None and (len(self.month) != 7 or self.month[4] != "-"):
            raise FaultError(f"month must be YYYY-MM, not {self.month!r}")
        if self.times is not None and self.times < 1:
            raise FaultError("times must be at least 1 (or omitted for 'until cleared')")
        if self.kind == "scale_items" and self.factor < 0:
            raise FaultError("scale_items needs a factor >= 0")
        defaults = {
            "rename_column": ("ITEMS", "NUMBER_OF_ITEMS", None),
            "drop_column": ("TOTAL_QUANTITY", None, None),
            "extra_column": ("EXTRA_FLAG", None, "Y"),
            "non_numeric_quantity": (None, None, "N/A"),
            "inner_failure": (None, None, None),
        }
        if self.kind in defaults:
            column, new_name, value = defaults[self.kind]
            self.column = self.column or column
            self.new_name = self.new_name or new_name
            self.value = self.value if self.value is not None else value
        if self.rows is None:
            self.rows = 10 if self.kind == "duplicate_rows" else 1
        return self


class FaultRegistry:
    """The active faults, thread-safe; request handlers take transport faults from it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[FaultSpec] = []
        self._next_id = 1

    def add(self, spec: FaultSpec) -> FaultSpec:
        spec.validated()
        with self._lock:
            spec.id = self._next_id
            self._next_id += 1
            self._faults.append(spec)
        return spec

    def clear(self) -> int:
        with self._lock:
            n = len(self._faults)
            self._faults.clear()
            return n

    def all(self) -> list[FaultSpec]:
        with self._lock:
            return list(self._faults)

    def take(
        self, endpoint: str, *, month: str | None, resource: str | None, path: str
    ) -> FaultSpec | None:
        """The first transport fault matching this request, counted as fired."""
        with self._lock:
            for spec in self._faults:
                if spec.is_data or spec.exhausted:
                    continue
                if spec.kind == "malformed_json" and endpoint not in API_ENDPOINTS:
                    continue
                if _matches(spec, endpoint, month, resource, path):
                    spec.fired += 1
                    return spec
        return None

    def data_faults(self, resource: str, month: str) -> list[FaultSpec]:
        """Data faults currently applying to ``resource`` (not yet counted as fired)."""
        with self._lock:
            return [
                s
                for s in self._faults
                if s.is_data
                and not s.exhausted
                and (s.month is None or s.month == month)
                and (s.resource is None or s.resource == resource)
            ]

    def note_fired(self, specs: Sequence[FaultSpec]) -> None:
        """Count one use of faulted data (each request that served it)."""
        with self._lock:
            for spec in specs:
                spec.fired += 1


def _matches(
    spec: FaultSpec, endpoint: str, month: str | None, resource: str | None, path: str
) -> bool:
    if spec.endpoint is not None and spec.endpoint != endpoint:
        return False
    if spec.month is not None and spec.month != month:
        return False
    if spec.resource is not None and spec.resource != resource:
        return False
    return spec.path is None or spec.path in path


def make_spec(kind: str, **params: Any) -> FaultSpec:
    """Build a validated spec from keyword parameters (``SamplePortal.set_fault`` uses this)."""
    return FaultSpec.from_dict({"kind": kind, **params})


def data_signature(specs: Sequence[FaultSpec]) -> str:
    """A short stable name for a set of data faults, used to cache the faulted files."""
    if not specs:
        return ""
    keep = ("kind", "column", "new_name", "value", "rows", "factor")
    payload = json.dumps([{k: getattr(s, k) for k in keep} for s in specs], sort_keys=True)
    return hashlib.sha1(payload.encode()).hexdigest()[:12]


# -- data faults: transformations of one month's table ------------------------------------


def _opioid_rows(header: list[str], rows: list[list[str]], n: int) -> list[int]:
    """Indexes of the first ``n`` identified-practice rows in BNF section 0407."""
    code_col = next(
        (header.index(c) for c in ("BNF_CODE", "BNF_PRESENTATION_CODE") if c in header), None
    )
    practice_col = header.index("PRACTICE_CODE") if "PRACTICE_CODE" in header else None
    picked = []
    for i, row in enumerate(rows):
        if code_col is not None and not row[code_col].startswith("0407"):
            continue
        if practice_col is not None and row[practice_col] == "-":
            continue
        picked.append(i)
        if len(picked) >= n:
            break
    return picked


def apply_data_faults(
    header: list[str], rows: list[list[str]], specs: Sequence[FaultSpec]
) -> tuple[list[str], list[list[str]]]:
    """Apply data faults in the order they were added; missing columns are left alone.

    ``rows`` are changed in place (callers pass freshly parsed rows; copying a month of
    rows first would double the cost of every faulted request).
    """
    header = list(header)
    for spec in specs:
        col = {name: i for i, name in enumerate(header)}
        kind = spec.kind
        if kind == "rename_column" and spec.column in col:
            header[col[spec.column]] = str(spec.new_name)
        elif kind == "drop_column" and spec.column in col:
            drop = col[spec.column]
            header.pop(drop)
            for row in rows:
                row.pop(drop)
        elif kind == "extra_column":
            header.append(str(spec.column))
            for row in rows:
                row.append(str(spec.value))
        elif kind == "negative_items" and "ITEMS" in col:
            for i in _opioid_rows(header, rows, spec.rows or 1):
                rows[i][col["ITEMS"]] = str(-abs(int(rows[i][col["ITEMS"]])))
        elif kind == "non_numeric_quantity" and "QUANTITY" in col:
            for i in _opioid_rows(header, rows, spec.rows or 1):
                rows[i][col["QUANTITY"]] = str(spec.value)
        elif kind == "duplicate_rows":
            dupes = set(_opioid_rows(header, rows, spec.rows or 1))
            out = []
            for i, row in enumerate(rows):
                out.append(row)
                if i in dupes:
                    out.append(list(row))
            rows = out
        elif kind == "empty_month":
            rows = []
        elif kind == "scale_items" and "ITEMS" in col:
            rows = _scale_items(header, rows, spec.factor)
    return header, rows


def _scale_items(header: list[str], rows: list[list[str]], factor: float) -> list[list[str]]:
    """Scale every row's ITEMS, rounding cumulatively so the total scales exactly.

    Rows left with no items are dropped (a publication with part of the data missing);
    quantities and costs follow the items.
    """
    col = {name: i for i, name in enumerate(header)}
    proportional = [col[c] for c in ("NIC", "ACTUAL_COST", "ADQUSAGE", "ADQ_USAGE") if c in col]
    out, wanted, emitted = [], 0.0, 0
    for row in rows:
        try:
            items = int(row[col["ITEMS"]])
        except ValueError:
            out.append(row)
            continue
        wanted += items * factor
        new = round(wanted) - emitted
        emitted += new
        if new <= 0 or items <= 0:
            continue
        ratio = new / items
        row[col["ITEMS"]] = str(new)
        if "TOTAL_QUANTITY" in col and "QUANTITY" in col:
            with contextlib.suppress(ValueError):  # a non-numeric QUANTITY stays as it is
                row[col["TOTAL_QUANTITY"]] = format_number(float(row[col["QUANTITY"]]) * new)
        for i in proportional:
            digits = 2 if header[i] == "NIC" else 5
            row[i] = format_number(round(float(row[i]) * ratio, digits))
        out.append(row)
    return out
