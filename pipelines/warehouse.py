"""The DuckDB warehouse: SQL from files, bind parameters, idempotent partition writes.

DuckDB allows one writing process per file. Assets that write here share the Dagster pool
``warehouse`` (limit 1 in ``dagster.yaml``), and each partition write is one transaction
that deletes the month and inserts it again, so a re-run gives identical rows and a failed
write leaves the previous month intact.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.config import SQL_DIR

WAREHOUSE_POOL = "warehouse"


@cache
def sql(name: str) -> str:
    """The text of ``sql/<name>.sql``; every statement the pipeline runs lives there."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no SQL file {path}")
    return path.read_text()


def sql_body(name: str) -> str:
    """A SQL file without its comment lines (for templates whose braces are filled in)."""
    return "\n".join(line for line in sql(name).splitlines() if not line.lstrip().startswith("--"))


def run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Run one statement from a SQL file with bind parameters, never string formatting."""
    return con.execute(sql(name), params)


def query_frame(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """The result of a SQL file as a Polars frame (through Arrow, without copying rows)."""
    return con.sql(sql(name), params=params).pl()


def run_each(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> None:
    """Run every statement of a file with the same named parameters (our files end each
    statement with a semicolon at the end of a line)."""
    for statement in (s.strip() for s in sql_body(name).split(";\n")):
        if statement.strip(" ;\n"):
            con.execute(statement, params)


def run_template(
    con: duckdb.DuckDBPyConnection,
    name: str,
    identifiers: Mapping[str, str],
    allowed: Mapping[str, Collection[str]],
    params: Mapping[str, Any] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Run a SQL file whose braces stand for identifiers (table names, COPY formats).

    Identifiers cannot be bind parameters, so each must be one of a fixed allowlist given
    by the caller; values still go through bind parameters.
    """
    for key, value in identifiers.items():
        if value not in allowed.get(key, ()):
            raise ValueError(f"identifier {key}={value!r} is not allowed in {name}")
    return con.execute(sql_body(name).format(**identifiers), params)


def comment_on_column(con: duckdb.DuckDBPyConnection, table: str, column: str, text: str) -> None:
    """Comment a column whose name is only known from the data (a PIVOT's output).

    ``COMMENT ON`` accepts no bind parameters, so the table and column must exist in this
    database (checked with a bound query) and the text is passed as a quoted literal.
    """
    exists = run(con, "publish/column_exists", {"table": table, "column": column}).fetchall()
    if exists[0][0] != 1:
        raise ValueError(f"no column {table}.{column} to comment")
    literal = "'" + text.replace("'", "''") + "'"
    statement = sql_body("publish/comment_column")
    con.execute(statement.format(table=f'"{table}"', column=f'"{column}"', comment=literal))


def run_script(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Run a parameter-free file of several statements (schema definitions)."""
    con.execute(sql(name))


def memory_config(memory_limit: str | None, temp_directory: Path | None) -> dict[str, str]:
    """DuckDB connection settings bounding its memory: beyond ``memory_limit`` work spills
    to ``temp_directory`` (created if missing). Empty values leave DuckDB's defaults."""
    config: dict[str, str] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_directory is not None:
        temp_directory.mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(temp_directory)
    return config


@contextmanager
def connect(
    path: Path,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    temp_directory: Path | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse (its schema ensured when writable).

    ``memory_limit`` and ``temp_directory`` (from settings: ``duckdb_memory_limit``,
    ``duckdb_temp_dir``) bound DuckDB's memory: work beyond the limit spills to disk.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    config = memory_config(memory_limit, temp_directory)
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    try:
        if not read_only:
            run_script(con, "warehouse/schema")
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
