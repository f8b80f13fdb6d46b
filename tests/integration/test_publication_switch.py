"""One publication, one switch: the extract, its files and its dashboard become visible
together, a process SIGKILLed between any two publication steps (or while it builds the
dashboard) leaves the previous publication current and whole, byte for byte, and the next
publication sweeps what the crash left."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from pipelines.dashboard import ReleaseSite
from pipelines.publish import publish
from pipelines.releases import CURRENT, DASHBOARD, EXTRACT_NAME, FILES, LOCK_NAME, RELEASES
from pipelines.runner import build_definitions
from pipelines.staging import sha256_file
from tests.support import portal_settings

pytestmark = pytest.mark.integration

# Runs a publication (argv: warehouse, published/, step) or a dashboard rebuild (argv:
# "dashboard", published/, step) and SIGKILLs itself at the named step; "site" is inside
# the dashboard build, once every page is written, while the site is being checked.
CRASH = """
import os, signal, sys
from pathlib import Path
import pipelines.dashboard.check as check
import pipelines.releases as releases
from pipelines.dashboard import rebuild_dashboard
source, published, crash_at = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
def kill(*_args):
    os.kill(os.getpid(), signal.SIGKILL)
real = releases.step
def step(name):
    real(name)
    if name == crash_at:
        kill()
releases.step = step
check.check_site = kill if crash_at == "site" else check.check_site
if source == "dashboard":
    rebuild_dashboard(published)
else:
    from pipelines.publish import publish
    publish(Path(source), published, gate=lambda con: [])
"""


def _killed_at(source: str, published: Path, step: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CRASH, source, str(published), step],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


def _warehouse(extract: Path) -> Path:
    """The warehouse beside the shared extract (data/published/releases/<id>/extract)."""
    warehouse = Path(os.path.realpath(extract)).parents[3] / "warehouse.duckdb"
    assert warehouse.exists(), warehouse
    return warehouse


def _consistent(published: Path) -> Path:
    """The current publication's folder, after checking every reader path leads into it."""
    extract = (published / EXTRACT_NAME).resolve()
    files = (published / FILES).resolve()
    release = (published / CURRENT).resolve()
    assert extract.parent == release and files.parent == release
    assert (files / "csv" / "practices.csv").is_file()
    con = duckdb.connect(str(published / EXTRACT_NAME), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM practices").fetchone()[0] > 0
    finally:
        con.close()
    return release


def _readers_see(published: Path) -> dict[str, str]:
    """Every file a reader reaches through the fixed paths, with its digest."""
    seen = {}
    for name in (EXTRACT_NAME, FILES, DASHBOARD):
        root = published / name
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            seen[path.relative_to(published).as_posix()] = digest
    return seen


def _without_dashboard(seen: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in seen.items() if not k.startswith(f"{DASHBOARD}/")}


def test_a_kill_at_any_step_leaves_one_whole_publication(outputs_extract, portal, tmp_path):
    warehouse = _warehouse(outputs_extract)
    settings = portal_settings(tmp_path / "data", portal.url)
    published = settings.published_dir
    # What an older version of the pipeline left: a real extract, files/ and dashboard/.
    (published / FILES / "csv").mkdir(parents=True)
    (published / DASHBOARD).mkdir()
    (published / EXTRACT_NAME).write_bytes(b"old layout")

    publish(warehouse, published, gate=lambda con: [], add_to_release=ReleaseSite())
    assert all((published / name).is_symlink() for name in (EXTRACT_NAME, FILES, DASHBOARD))
    first = _consistent(published)
    extract_inode = (first / EXTRACT_NAME).stat().st_ino
    before = _readers_see(published)
    assert any(p.startswith(f"{DASHBOARD}/practice/") for p in before)

    # A publication killed once its extract is built (the steps after it are the same
    # for a publication and a dashboard rebuild, so the rebuild takes them from here); a
    # dashboard rebuild killed while its new site is checked, and once it is flushed and
    # renamed, just before the switch: readers see the previous publication, byte for byte.
    for source, step in (
        (str(warehouse), "built"),
        ("dashboard", "site"),
        ("dashboard", "renamed"),
    ):
        _killed_at(source, published, step)
        assert _consistent(published) == first, step
        assert _readers_see(published) == before, step

    # Killed after the switch, before anything else: the new publication is whole.
    _killed_at("dashboard", published, "switched")
    switched = _consistent(published)
    assert switched != first and (published / DASHBOARD).resolve() == switched / DASHBOARD
    assert _without_dashboard(_readers_see(published)) == _without_dashboard(before)

    # The next run (the Dagster dashboard asset on its own) recovers by itself: a new
    # publication with the same extract and files (the very same inodes: carried over, not
    # rebuilt) and a new site; the one before is kept (a reader may have it open);
    # everything else is swept.
    job = build_definitions(settings).resolve_job_def("dashboard_build")
    result = job.execute_in_process(instance=DagsterInstance.ephemeral())
    assert result.success
    (materialization,) = result.get_asset_materialization_events()
    assert materialization.asset_key == AssetKey(DASHBOARD)
    latest = _consistent(published)
    metadata = materialization.materialization.metadata
    assert metadata["site"].value == str(published / DASHBOARD) and metadata["pages"].value > 0
    assert (published / DASHBOARD).resolve() == latest / DASHBOARD
    assert (latest / EXTRACT_NAME).stat().st_ino == extract_inode
    assert _without_dashboard(_readers_see(published)) == _without_dashboard(before)
    releases = sorted(p.name for p in (published / RELEASES).iterdir())
    assert releases == sorted([switched.name, latest.name])
    assert [p.name for p in published.iterdir() if p.name.startswith(".")] == [LOCK_NAME]


def test_a_rejected_publication_changes_nothing(outputs_extract, tmp_path):
    warehouse = _warehouse(outputs_extract)
    published = tmp_path / "published"
    publish(warehouse, published, gate=lambda con: [])
    before = sorted(str(p) for p in published.rglob("*"))
    checksum = sha256_file(published / EXTRACT_NAME)

    from pipelines.validation import CheckOutcome

    def refuse(con):
        return [
            CheckOutcome(check="no_orphans", severity="critical", description="1", passed=False)
        ]

    result = publish(warehouse, published, gate=refuse)
    assert not result.published
    assert sorted(str(p) for p in published.rglob("*")) == before
    assert sha256_file(published / EXTRACT_NAME) == checksum
