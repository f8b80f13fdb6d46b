"""The publication record: when a publication was made and from which source resources.

It is stored in the extract (``documents``, as ``publication.json``) and beside it under
``files/``, so the dashboard and anyone holding only the extract can say where every
month's numbers came from: the EPD resource (name, portal publication time, when it was
fetched and by which route), the list-size page, and the organisation file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RECORD_NAME = "publication.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def publication_record(staging_root: Path, *, ods_url: str, published_at: str | None = None) -> str:
    """The record as JSON text, from the provenance files staged with each month."""
    epd = []
    for path in sorted((staging_root / "epd").glob("*.provenance.json")):
        prov = _read(path)
        epd.append(
            {
                "month": prov.get("month") or path.name.split(".")[0],
                "dataset": prov.get("dataset"),
                "resource_name": prov.get("resource_name"),
                "resource_id": prov.get("resource_id"),
                "source_published_at": prov.get("last_modified") or prov.get("created"),
                "retrieved_at": prov.get("retrieved_at"),
                "route": prov.get("route"),
            }
        )
    list_sizes = []
    for path in sorted((staging_root / "list_sizes").glob("*.provenance.json")):
        prov = _read(path)
        list_sizes.append(
            {
                "month": prov.get("month") or path.name.split(".")[0],
                "page_url": prov.get("page_url"),
                "retrieved_at": prov.get("retrieved_at"),
            }
        )
    record = {
        "published_at": published_at or datetime.now(UTC).isoformat(timespec="seconds"),
        "sources": {
            "epd": epd,
            "list_sizes": list_sizes,
            "organisations": {"url": ods_url},
        },
    }
    return json.dumps(record, indent=2) + "\n"
