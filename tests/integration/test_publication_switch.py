"""One publication, one switch: the extract and its files become visible together, a
process killed between any two publication steps leaves the previous publication current
and whole, and the next publication sweeps what the crash left."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.publish import CURRENT, EXTRACT_NAME, FILES, RELEASES, publish
from pipelines.staging import sha256_file

pytestmark = pytest.mark.integration

CRASH = """
import os, sys
from pathlib import Path
import pipelines.publish as p
crash_at = sys.argv[3]
real = p._step
def step(name):
    real(name)
    if name == crash_at:
        os._exit(9)
p._step = step
p.publish(Path(sys.argv[1]), Path(sys.argv[2]), gate=lambda con: [])
"""


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


def test_a_crash_between_any_two_steps_leaves_one_whole_publication(outputs_extract, tmp_path):
    warehouse = _warehouse(outputs_extract)
    published = tmp_path / "published"
    # What an older version of the pipeline left: a real extract and a real files/.
    (published / FILES / "csv").mkdir(parents=True)
    (published / EXTRACT_NAME).write_bytes(b"old layout")

    publish(warehouse, published, gate=lambda con: [])
    assert (published / EXTRACT_NAME).is_symlink() and (published / FILES).is_symlink()
    first = _consistent(published)
    checksum = sha256_file(published / EXTRACT_NAME)

    for step in ("built", "exported", "renamed", "switched"):
        done = subprocess.run(
            [sys.executable, "-c", CRASH, str(warehouse), str(published), step],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 9, done.stderr
        release = _consistent(published)
        if step != "switched":
            assert release == first and sha256_file(published / EXTRACT_NAME) == checksum
        else:
            assert release != first  # the switch happened: the new one is whole

    publish(warehouse, published, gate=lambda con: [])
    latest = _consistent(published)
    releases = sorted(p.name for p in (published / RELEASES).iterdir())
    # The one before is kept (a reader may have it open); everything else is swept.
    assert len(releases) == 2 and latest.name in releases
    leftovers = [p.name for p in published.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert not any(name.startswith(".") for name in releases)


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
