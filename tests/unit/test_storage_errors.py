"""A data directory that cannot be written (read-only, full) is reported in one line,
naming the folder and why, before anything runs."""

from __future__ import annotations

import errno
import os

import pytest

from pipelines.files import StorageError, ensure_writable_dir

READ_ONLY = "/sys/opioids-test"  # sysfs: read-only even for root


def test_a_read_only_folder_is_named_with_the_reason():
    with pytest.raises(StorageError, match=f"the data directory {READ_ONLY} is not writable"):
        ensure_writable_dir(READ_ONLY, "data directory")


def test_a_full_disk_is_named(tmp_path, monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("pipelines.files.os.write", full)
    with pytest.raises(StorageError, match="is on a full disk"):
        ensure_writable_dir(tmp_path / "data", "data directory")
    assert list((tmp_path / "data").iterdir()) == []  # the probe is not left behind


def test_refresh_into_a_read_only_data_dir_says_so_in_one_line(monkeypatch, capsys):
    from pipelines.cli import main

    monkeypatch.setenv("OPIOIDS_DATA_DIR", READ_ONLY)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    code = main(["refresh", "--from", "2025-01", "--to", "2025-01"])
    err = capsys.readouterr().err
    assert code != 0
    assert f"{READ_ONLY} is not writable" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2


def test_ui_on_a_read_only_data_dir_says_so_in_one_line(monkeypatch, capsys):
    from pipelines.cli import main

    monkeypatch.setenv("OPIOIDS_DATA_DIR", READ_ONLY)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["ui", "--port", "3999"]) != 0
    err = capsys.readouterr().err
    assert f"{READ_ONLY} is not writable" in err and "Traceback" not in err
