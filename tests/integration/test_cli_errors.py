"""Expected failures through the real command: a few lines, no traceback, non-zero exit;
the full story stays in the Dagster run and `--verbose` shows it on the terminal."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
OPIOIDS = str(Path(sys.executable).parent / "opioids")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    url = f"http://127.0.0.1:{_closed_port()}"
    env = dict(
        os.environ,
        OPIOIDS_DATA_DIR=str(tmp_path / "data"),
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
        OPIOIDS_PORTAL_URL=url,
        OPIOIDS_LIST_SIZE_URL=f"{url}/list-sizes/",
        OPIOIDS_ODS_URL=f"{url}/epraccur.zip",
        OPIOIDS_HTTP_MAX_ATTEMPTS="1",
    )
    return subprocess.run([OPIOIDS, *args], env=env, capture_output=True, text=True, timeout=300)


def test_an_unreachable_source_is_told_in_a_few_lines(tmp_path: Path) -> None:
    done = _run(["refresh", "--from", "2025-01", "--to", "2025-01"], tmp_path)
    assert done.returncode == 1
    err = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert 1 <= len(err) <= 3, done.stderr
    assert err[0].startswith("error: practices and organisations failed")
    assert "127.0.0.1" in err[0]  # says where
    assert "previous publication" in err[-1]


def test_verbose_shows_the_run_log(tmp_path: Path) -> None:
    done = _run(["--verbose", "refresh", "--from", "2025-01", "--to", "2025-01"], tmp_path)
    assert done.returncode == 1
    assert "STEP_FAILURE" in done.stderr + done.stdout
