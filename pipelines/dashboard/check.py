"""Checks a freshly built site before it may replace the published one.

A site that fails any of these is not swapped in (the previous site stays as it was):
every page was written, carries its data as valid JSON and links only to files that
exist inside the site (or to the publication's files beside it), the downloads among them
(the workbooks, written by a process of their own, are checked once it has finished); no
page loads a script or style from anywhere but the site (so it works offline); there is
exactly one copy of the charting library; no page or data file is larger than
``MAX_PAGE_BYTES``.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

MAX_PAGE_BYTES = 2 * 1024 * 1024
LIBRARY = "plotly.min.js"
_REF = re.compile(r'(?:href|src)="([^"#?]*)(?:[#?][^"]*)?"')
_EXTERNAL_ASSET = re.compile(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(?:https?:)?//', re.I)
_PAGE_DATA_START = '<script type="application/json" id="page-data">'
_SCRIPT_END = "</script>"


class SiteCheckFailed(RuntimeError):
    """The built site is not fit to publish; the message lists what is wrong."""


@dataclass(frozen=True)
class SiteReport:
    files: int
    bytes: int
    largest_page_bytes: int


def check_site(root: Path, pages: list[str], pending: Collection[str] = ()) -> SiteReport:
    """Check the site at ``root``. ``pending`` are files another process is still writing
    (the workbooks): links to them count as present here, and :func:`check_pending`
    checks them once they are written and adds them to the report."""
    problems: list[str] = []
    sizes: dict[str, int] = {}
    libraries = []
    waiting = set(pending)
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel in waiting:
                continue
            sizes[rel] = path.stat().st_size
            if name.startswith("plotly") and name.endswith(".js"):
                libraries.append(rel)
    if libraries != [f"assets/{LIBRARY}"]:
        problems.append(f"expected one charting library at assets/{LIBRARY}, found {libraries}")
    too_big = [
        rel
        for rel, size in sizes.items()
        if size > MAX_PAGE_BYTES and rel.endswith((".html", ".js")) and not rel.endswith(LIBRARY)
    ]
    if too_big:
        problems.append(f"{len(too_big)} files over {MAX_PAGE_BYTES:,} bytes, e.g. {too_big[:3]}")
    missing = [rel for rel in pages if rel not in sizes]
    problems.extend(f"page {rel} was not written" for rel in missing[:20])
    written = [rel for rel in pages if rel in sizes]
    problems.extend(_check_pages(root, written, sizes.keys() | waiting))
    national = root / "data" / "national.js"
    try:
        text = national.read_text()
        json.loads(text[text.index("=") + 1 :].rstrip().rstrip(";"))
    except (OSError, ValueError) as exc:
        problems.append(f"data/national.js is not valid: {exc}")
    if problems:
        raise SiteCheckFailed("the dashboard failed its checks: " + "; ".join(problems[:20]))
    page_sizes = [sizes[p] for p in pages if p in sizes]
    return SiteReport(
        files=len(sizes), bytes=sum(sizes.values()), largest_page_bytes=max(page_sizes, default=0)
    )


def check_pending(root: Path, pending: Collection[str], report: SiteReport) -> SiteReport:
    """The files :func:`check_site` was told were still being written: each must now
    exist and not be empty; the report then counts them."""
    sizes = {rel: (root / rel).stat().st_size for rel in pending if (root / rel).is_file()}
    problems = [f"{rel} is linked but was not written" for rel in pending if rel not in sizes]
    problems += [f"{rel} is empty" for rel, size in sizes.items() if size == 0]
    if problems:
        raise SiteCheckFailed("the dashboard failed its checks: " + "; ".join(problems[:20]))
    return SiteReport(
        files=report.files + len(sizes),
        bytes=report.bytes + sum(sizes.values()),
        largest_page_bytes=report.largest_page_bytes,
    )


def _check_pages(root: Path, pages: list[str], files: Collection[str]) -> list[str]:
    """Problems of ``pages``, stopping after about 20."""
    problems: list[str] = []
    for rel in pages:
        problems.extend(_check_page(root, rel, files))
        if len(problems) > 20:
            break
    return problems


def _check_page(root: Path, rel: str, files: Collection[str]) -> list[str]:
    text = (root / rel).read_text(encoding="utf-8")
    problems = []
    # The page's data (JSON, inert inside its script element) is parsed; the rest, its
    # HTML, is what is searched for outside assets and broken links.
    start = text.find(_PAGE_DATA_START)
    end = text.find(_SCRIPT_END, start) if start >= 0 else -1
    if start < 0 or end < 0:
        problems.append(f"{rel} has no page data")
        html = text
    else:
        data = text[start + len(_PAGE_DATA_START) : end]
        html = text[:start] + text[end:]
        try:
            json.loads(data.replace("<\\/", "</"))
        except ValueError as exc:
            problems.append(f"{rel} has invalid page data: {exc}")
    if _EXTERNAL_ASSET.search(html):
        problems.append(f"{rel} loads a script or style from outside the site")
    base = posixpath.dirname(rel)
    for target in set(_REF.findall(html)):
        if not target or re.match(r"^[a-z]+:", target):
            continue  # links out (mailto:, https:) are allowed; assets were checked above
        resolved = posixpath.normpath(posixpath.join(base, target))
        if resolved == ".." or resolved.startswith("../"):
            continue  # the publication's own files beside the site (../files/)
        if resolved not in files and not (root / resolved).is_dir():
            problems.append(f"{rel} links to {target}, which does not exist")
    return problems
