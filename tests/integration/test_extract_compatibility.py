"""The published extract opens in DuckDB 1.x readers, not only the pipeline's own DuckDB.

The pipeline writes with a newer DuckDB than most analysts have; the extract is written in
an older storage format so that they can read it. Checked here with the DuckDB 1.5 command
line installed in the project environment (``duckdb-cli`` from the package index): it opens
the extract read-only, runs every worked query with the same parameters as
test_worked_queries.py, and returns the rows the pipeline's DuckDB returns. The README's
query is run verbatim through a shell.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.config import REPO_ROOT
from tests.integration.test_worked_queries import PARAMS, QUERIES

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).parent / "duckdb"


def cli(extract: Path, sql: str) -> list[dict]:
    """Run SQL in the DuckDB command line on the extract, read-only; rows as dicts."""
    done = subprocess.run(
        [str(CLI), "-readonly", "-json", str(extract), "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout or "[]")


def test_the_command_line_is_duckdb_1x() -> None:
    assert CLI.exists(), "make install puts the DuckDB command line in .venv/bin"
    version = subprocess.run([str(CLI), "-version"], capture_output=True, text=True, check=True)
    assert re.match(r"v1\.\d+\.\d+", version.stdout), version.stdout


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_worked_query_in_duckdb_1x_matches_the_pipelines_duckdb(outputs_extract, name) -> None:
    query = (QUERIES / f"{name}.sql").read_text().strip().rstrip(";")
    args = ", ".join(f"{k} := {_literal(v)}" for k, v in PARAMS[name].items())
    rows = cli(outputs_extract, f"PREPARE q AS {query};\nEXECUTE q({args});")
    con = duckdb.connect(str(outputs_extract), read_only=True)
    try:
        expected = con.sql(query, params=PARAMS[name]).fetchall()
        columns = [d[0] for d in con.sql(query, params=PARAMS[name]).description]
    finally:
        con.close()
    assert len(rows) == len(expected) > 0
    for got, want in zip(rows, expected, strict=True):
        assert list(got) == columns
        for column, value in zip(columns, want, strict=True):
            if isinstance(value, float):
                assert got[column] == pytest.approx(value, rel=1e-9, abs=1e-9), column
            elif isinstance(value, bool | int) or value is None:
                assert got[column] == value, column
            else:
                assert str(got[column]) == str(value), column


def test_column_comments_are_readable_from_duckdb_1x(outputs_extract) -> None:
    rows = cli(
        outputs_extract,
        "SELECT column_name, comment FROM duckdb_columns() "
        "WHERE table_name = 'practice_comparators' ORDER BY column_index",
    )
    assert rows and all(r["comment"] for r in rows)
    assert rows[0]["column_name"] == "practice_code"


def test_readme_query_runs_verbatim(outputs_extract) -> None:
    """Each ``.venv/bin/duckdb`` block of the README, as a user pastes it in the repo."""
    readme = (REPO_ROOT / "README.md").read_text()
    blocks = [
        b for b in re.findall(r"```sh\n(.*?)```", readme, re.S) if b.startswith(".venv/bin/duckdb")
    ]
    assert len(blocks) >= 2
    env = {**os.environ, "OPIOIDS_DATA_DIR": str(outputs_extract.parent.parent)}
    for block in blocks:
        done = subprocess.run(
            ["bash", "-c", block], cwd=REPO_ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert "Error" not in done.stdout and done.stdout.count("\n") > 5, done.stdout
