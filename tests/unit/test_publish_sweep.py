"""What the start of a publication sweeps: earlier publications and the temporaries of
killed writers, never the current publication; and no two writers work at once."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from filelock import FileLock

from pipelines.releases import CURRENT, LOCK_NAME, RELEASES, building, current_release, sweep


def test_sweep_keeps_the_current_publication_only(tmp_path: Path):
    published = tmp_path / "published"
    releases = published / RELEASES
    for name in ("20250101T000000Z-old", "20250201T000000Z-cur", ".20250301T000000Z-x.tmp"):
        (releases / name / "files").mkdir(parents=True)
    os.symlink(os.path.join(RELEASES, "20250201T000000Z-cur"), published / CURRENT)
    own = [
        ".link-current.ab12.tmp",
        ".opioid_comparators.duckdb.1234.tmp",
        ".opioid_comparators.duckdb.1234.tmp.wal",
        ".files.1234.tmp",
    ]
    for name in own:
        (published / name).write_text("x")
    (published / ".legacy-files.ab12.tmp").mkdir()
    (published / ".dashboard.0123456789ab.tmp").mkdir()  # a killed build, older layout
    (published / ".dashboard.old").mkdir()

    sweep(published)

    assert current_release(published) == (releases / "20250201T000000Z-cur").resolve()
    assert sorted(p.name for p in releases.iterdir()) == ["20250201T000000Z-cur"]
    left = sorted(p.name for p in published.iterdir())
    assert left == [CURRENT, RELEASES]


def test_a_writer_waits_while_another_holds_the_publication(tmp_path: Path):
    published = tmp_path / "published"
    published.mkdir()
    started = threading.Event()

    def second_writer() -> None:
        with building(published) as folder:
            assert folder.is_dir()
            started.set()

    with FileLock(published / LOCK_NAME):
        writer = threading.Thread(target=second_writer)
        writer.start()
        assert not started.wait(0.5)  # held off: it has not even swept yet
    writer.join(timeout=10)
    assert started.is_set()
    assert list((published / RELEASES).iterdir()) == []  # its unfinished folder is gone


def test_a_data_directory_copied_without_its_links_still_switches(tmp_path: Path):
    """``cp -r`` turns ``current`` into a real folder; the next switch still works."""
    from pipelines.releases import _switch_current

    published = tmp_path / "published"
    (published / CURRENT).mkdir(parents=True)  # a copy of the old publication
    release = published / RELEASES / "20250301T000000Z-new"
    release.mkdir(parents=True)
    _switch_current(published, release)
    assert current_release(published) == release.resolve()
    sweep(published)
    assert sorted(p.name for p in published.iterdir()) == [CURRENT, RELEASES]
