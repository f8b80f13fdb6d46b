"""Publication folders and the one switch that makes a publication current.

Each publication is a folder ``published/releases/<id>/`` holding the extract, its
Parquet and CSV copies under ``files/`` and the dashboard site under ``dashboard/``;
``published/current`` is a symbolic link to the folder of the current one. A publication
becomes visible in one step, the atomic rename of a new ``current`` link over the old, so
the extract, its files and its dashboard always come from the same publication. The paths
readers use are fixed links through ``current`` (``published/opioid_comparators.duckdb``,
``published/files``, ``published/dashboard``).

Every writer of ``published/`` (a publication, a dashboard rebuild) holds one file lock
from its sweep to its switch, so two writers never sweep each other's work in progress
nor switch back to an older publication. The kernel releases the lock when its holder
dies. If building fails, or the process dies at any step, the previous publication stays
current, byte for byte. The previous publication is kept after a switch (a reader may
still have it open) and removed, with any temporaries a crash left, when the next writer
starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock

log = logging.getLogger(__name__)

EXTRACT_NAME = "opioid_comparators.duckdb"
RELEASES = "releases"
CURRENT = "current"
FILES = "files"
DASHBOARD = "dashboard"
LOCK_NAME = ".publication.lock"
# What readers open, each a fixed link through ``current`` to the current publication's.
STABLE_NAMES = (EXTRACT_NAME, FILES, DASHBOARD)
# What a dashboard rebuild carries over, unchanged, from the current publication.
CARRIED_OVER = (EXTRACT_NAME, FILES)


class NoPublication(RuntimeError):
    """There is no current publication to build on."""


def step(name: str) -> None:
    """A named point between publication steps (tests inject crashes here)."""
    log.debug("publication step done: %s", name)


@contextlib.contextmanager
def building(published_dir: Path) -> Iterator[Path]:
    """A new, empty publication folder under a temporary name, with every other writer of
    ``published_dir`` held off: sweeps what earlier attempts left, then yields the folder.
    Whatever was not made current by :func:`make_current` is removed on the way out."""
    published_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(published_dir / LOCK_NAME)
    with lock:
        sweep(published_dir)
        release_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        folder = published_dir / RELEASES / f".{release_id}.tmp"
        folder.mkdir(parents=True)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def make_current(published_dir: Path, folder: Path) -> Path:
    """Flush ``folder`` (built inside :func:`building`), give it its final name and switch
    ``current`` to it; returns the publication's folder."""
    _sync_tree(folder)
    step("exported")
    release = folder.with_name(folder.name.removeprefix(".").removesuffix(".tmp"))
    os.rename(folder, release)
    step("renamed")
    _switch_current(published_dir, release)
    step("switched")
    _link_stable_names(published_dir)
    step("linked")
    return release


def republish(published_dir: Path, add_to_release: Callable[[Path], None]) -> Path:
    """A new publication with the current one's extract and files, unchanged (hard links
    where the file system allows, else copies), and whatever ``add_to_release`` writes into
    it (a rebuilt dashboard); switched in once. Returns its folder."""
    _base(published_dir)  # nothing to build on: say so before touching anything
    with building(published_dir) as folder:
        base = _base(published_dir)
        for name in CARRIED_OVER:
            source = base / name
            if source.is_dir():
                shutil.copytree(source, folder / name, copy_function=_link_or_copy)
            elif source.is_file():
                _link_or_copy(source, folder / name)
        add_to_release(folder)
        return make_current(published_dir, folder)


def _base(published_dir: Path) -> Path:
    """The folder holding the current extract and files: the current publication's, or
    ``published/`` itself in the layout before publication folders."""
    release = current_release(published_dir)
    legacy = published_dir / EXTRACT_NAME
    if release is None and legacy.is_file() and not legacy.is_symlink():
        return published_dir
    if release is None or not (release / EXTRACT_NAME).is_file():
        raise NoPublication(
            f"no published extract at {published_dir / EXTRACT_NAME}: run `opioids refresh` "
            "(or `opioids demo`) first"
        )
    return release


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def current_release(published_dir: Path) -> Path | None:
    """The folder of the current publication, or None before the first one."""
    link = published_dir / CURRENT
    if not link.is_symlink():
        return None
    target = (published_dir / os.readlink(link)).resolve()
    return target if target.is_dir() else None


def _switch_current(published_dir: Path, release: Path) -> None:
    """Point ``current`` at ``release`` in one atomic rename of a new link."""
    tmp = published_dir / f".link-{CURRENT}.{uuid.uuid4().hex[:8]}.tmp"
    os.symlink(os.path.relpath(release, published_dir), tmp)
    current = published_dir / CURRENT
    if current.is_dir() and not current.is_symlink():
        # A data directory copied without its links (``cp -r``) holds a real folder
        # here; a folder cannot be renamed over, so it is moved aside (swept next time).
        os.rename(current, published_dir / f".legacy-{CURRENT}.{uuid.uuid4().hex[:8]}.tmp")
    os.replace(tmp, current)
    _fsync_dir(published_dir)


def _link_stable_names(published_dir: Path) -> None:
    """The fixed paths readers open, as links through ``current`` (made once).

    A publication of an older version of the pipeline left a real extract, a real
    ``files/`` and a real ``dashboard/`` here: the extract is replaced by its link in one
    rename; a folder is moved aside first (a folder cannot be renamed over), and swept
    next time. A name the current publication lacks (a publication made without its
    dashboard) keeps its link, which then leads nowhere rather than to another
    publication's copy.
    """
    release = current_release(published_dir)
    for name in STABLE_NAMES:
        path = published_dir / name
        wanted = os.path.join(CURRENT, name)
        if release is None or not (release / name).exists():
            continue
        if path.is_symlink() and os.readlink(path) == wanted:
            continue
        if path.is_dir() and not path.is_symlink():
            os.rename(path, published_dir / f".legacy-{name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp = published_dir / f".link-{name}.{uuid.uuid4().hex[:8]}.tmp"
        os.symlink(wanted, tmp)
        os.replace(tmp, path)
    _fsync_dir(published_dir)


# Temporaries left in ``published/`` by a killed writer: link and legacy-folder renames,
# and the extract, file and dashboard folders of the layout before publication folders.
# Every writer holds the lock while it works, so whatever is here now is no one's.
_OWN_TEMPORARIES = (".link-", ".legacy-", f".{EXTRACT_NAME}.", ".files.", f".{DASHBOARD}.")


def sweep(published_dir: Path) -> list[Path]:
    """Remove every publication but the current one, and the temporaries of crashed or
    failed attempts (partial folders, links, extracts and their DuckDB WAL files).

    Called with the lock held (see :func:`building`)."""
    removed: list[Path] = []
    keep = current_release(published_dir)
    releases = published_dir / RELEASES
    candidates = list(releases.iterdir()) if releases.is_dir() else []
    candidates += [p for p in published_dir.iterdir() if p.name.startswith(_OWN_TEMPORARIES)]
    for path in candidates:
        if keep is not None and path.resolve() == keep:
            continue
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    if removed:
        log.info("swept %d earlier publication(s) and temporaries", len(removed))
    return removed


def _sync_tree(root: Path) -> None:
    """Flush every file and folder under ``root`` to disk before it is made visible."""
    for folder, _dirs, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name), "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(folder))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
