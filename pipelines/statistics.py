"""Windows, roll-ups and statistics over every month in the warehouse, in DuckDB SQL.

Everything is computed by the statements in ``sql/statistics/`` (the definitions, and why
they live in SQL: ``docs/adr/0013-statistics-in-duckdb-sql-incremental-by-month.md``);
this module only decides *what* to recompute and runs the statements in order, passing
the method's parameters as bind parameters.

Incremental refresh. Every statistic belongs either to one cross-section (a period and a
month: ranks, deciles, the national rate, over-dispersion, funnel limits) or to one
practice's monthly series (SPC). Each month's inputs have a fingerprint; a refresh
compares them with the fingerprints the stored statistics were computed from, and for
the months that were added, changed or removed rewrites only:

* the cross-sections that contain such a month: its 1-month values, the 3- and 12-month
  windows ending in the 2 and 11 months after it, and the cross-sections 12 months after
  each of those (their change refers back to them);
* the SPC of every practice series with a point in such a month.

Cross-sections are rewritten in passes of about a year (``CROSS_SECTIONS_PER_PASS``),
oldest first, so a rebuild of five years sorts and joins a year's values at a time within
DuckDB's memory limit rather than all of them at once through the temporary directory.

Anything that affects every month at once (organisations, comparator definitions, the
parameters, these SQL files) changes a global fingerprint, and the statistics are then
rebuilt in full, by the same statements over every month. The two paths therefore give
identical rows (``tests/unit/test_statistics_incremental.py``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import duckdb

from pipelines.config import SQL_DIR
from pipelines.warehouse import query_frame, run_template, sql, sql_body

#: Two-sided normal quantiles for the 95% and 99.8% funnel limits.
Z95: float = 1.959964
Z998: float = 3.090232
#: XmR scaling constant (3 / d2 with d2 = 1.128 for moving ranges of two points).
XMR_CONSTANT: float = 2.66
#: Winsorising percentiles of the over-dispersion z-scores (as fractions).
WINSOR_LOWER: float = 0.10
WINSOR_UPPER: float = 0.90
#: Minimum non-null monthly points for a series to get SPC limits (one year). The run and
#: trend lengths (7 points) are fixed in sql/statistics/spc_points.sql.
SPC_MIN_POINTS: int = 12
#: Deviations from the mean within this fraction of |mean| count as "on the mean".
SIDE_TOLERANCE: float = 1e-9
#: Points per funnel curve.
FUNNEL_POINTS: int = 60

#: Statements run for the cross-sections in ``stat_target`` once ``cell_values`` holds
#: their values.
CROSS_SECTION_STEPS: tuple[str, ...] = (
    "statistics/insert_values",
    "statistics/insert_groups",
    "statistics/insert_deciles",
)
#: Statements run for the practice series in ``spc_target`` once their values are stored.
SPC_STEPS: tuple[str, ...] = (
    "statistics/delete_spc",
    "statistics/spc_points",
    "statistics/insert_spc",
)
#: Cross-sections (period x month) rewritten per pass: a year of all three periods. A pass
#: holds the values of its cross-sections and sorts them for ranks and the 12-month
#: lookup, so a full rebuild of years of history works through them about a year at a
#: time within DuckDB's memory limit, instead of sorting every month at once through the
#: temporary directory; a monthly refresh (32 cross-sections) is one pass. Passes go in
#: month order, so a change always finds the cross-section 12 months earlier up to date.
CROSS_SECTIONS_PER_PASS: int = 36
#: The published shapes (views; the extract is built from them).
PUBLISHED_VIEWS: tuple[str, ...] = (
    "practice_statistics",
    "national_deciles",
    "organisation_statistics",
    "organisation_deciles",
    "funnel_curves",
)
#: Tables earlier versions stored under the published names, and their input table.
_LEGACY_TABLES: tuple[str, ...] = (*PUBLISHED_VIEWS, "comparator_values")

_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")


def method_parameters(*, min_list_size: int, spc_min_points: int = SPC_MIN_POINTS) -> dict:
    """Every bind parameter the statistics statements use."""
    return {
        "min_list_size": min_list_size,
        "min_points": spc_min_points,
        "z95": Z95,
        "z998": Z998,
        "xmr_constant": XMR_CONSTANT,
        "winsor_lower": WINSOR_LOWER,
        "winsor_upper": WINSOR_UPPER,
        "side_tolerance": SIDE_TOLERANCE,
        "funnel_points": FUNNEL_POINTS,
    }


def execute(con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any]) -> None:
    """Run every statement of ``sql/<name>.sql``, each with the parameters it names."""
    for statement in sql_body(name).split(";\n"):
        if not statement.strip(" ;\n"):
            continue
        used = {key: params[key] for key in set(_PARAMETER.findall(statement))}
        con.execute(statement, used or None)


def _drop_legacy_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop tables an earlier version kept where the published views now live."""
    present = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name IN ?",
            [list(_LEGACY_TABLES)],
        ).fetchall()
    }
    for table in _LEGACY_TABLES:
        if table in present:
            run_template(
                con, "statistics/drop_legacy_table", {"table": table}, {"table": _LEGACY_TABLES}
            )


def _fingerprint(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> str:
    """Global inputs, parameters, the SQL of this stage and the DuckDB version, hashed."""
    inputs = con.execute(sql("statistics/input_fingerprint")).fetchall()[0][0]
    digest = hashlib.sha256()
    digest.update(duckdb.__version__.encode())
    digest.update(repr(sorted(params.items())).encode())
    for path in sorted((SQL_DIR / "statistics").glob("*.sql")):
        digest.update(path.read_bytes())
    return f"{inputs}:{digest.hexdigest()}"


def _months(con: duckdb.DuckDBPyConnection, statement: str) -> list[date]:
    return [row[0] for row in con.execute(statement).fetchall()]


def _set_changed(con: duckdb.DuckDBPyConnection, months: Iterable[date]) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE stat_changed (month DATE)")
    con.executemany("INSERT INTO stat_changed VALUES (?)", [[m] for m in months])


def compute_cells(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> None:
    """Store the statistics of the cross-sections in ``stat_target`` and the series in
    ``spc_target`` from the values in ``cell_values`` (all temporary tables)."""
    for step in (*CROSS_SECTION_STEPS, *SPC_STEPS):
        execute(con, step, params)
    execute(con, "statistics/views", params)


def _rewrite_cross_sections(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> None:
    """Rewrite the cross-sections in ``stat_all_targets`` in passes of whole months,
    oldest first, each of at most ``CROSS_SECTIONS_PER_PASS`` cross-sections (or one
    month, if a month alone has more)."""
    per_month = con.execute(
        "SELECT month, count(*) FROM stat_all_targets GROUP BY month ORDER BY month"
    ).fetchall()
    passes: list[list[date]] = []
    size = 0
    for month, cells in per_month:
        if not passes or size + cells > CROSS_SECTIONS_PER_PASS:
            passes.append([])
            size = 0
        passes[-1].append(month)
        size += cells
    for months in passes:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE stat_target AS "
            "SELECT * FROM stat_all_targets WHERE month BETWEEN ? AND ?",
            [months[0], months[-1]],
        )
        for step in ("statistics/cell_values", "statistics/delete_cells", *CROSS_SECTION_STEPS):
            execute(con, step, params)


def compute_statistics(
    con: duckdb.DuckDBPyConnection,
    *,
    min_list_size: int,
    spc_min_points: int = SPC_MIN_POINTS,
    full: bool = False,
) -> dict[str, int]:
    """Bring the statistics up to date with the warehouse; return what was done.

    Recomputes only what changed months affect, or everything when ``full`` is set or a
    global input changed. Runs inside the caller's transaction, if any.
    """
    params = method_parameters(min_list_size=min_list_size, spc_min_points=spc_min_points)
    execute(con, "statistics/schema", params)
    _drop_legacy_tables(con)
    fingerprint = _fingerprint(con, params)
    stored = con.execute("SELECT max(fingerprint) FROM stat_state").fetchall()[0][0]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE stat_current_months AS "
        + sql("statistics/month_fingerprints")
    )
    rebuild = full or stored != fingerprint
    if rebuild:
        for step in ("statistics/reset", "statistics/keys", "statistics/orgs", "statistics/method"):
            execute(con, step, params)
        changed = _months(con, "SELECT month FROM stat_current_months ORDER BY month")
    else:
        execute(con, "statistics/add_practices", params)
        changed = _months(
            con,
            "SELECT month FROM stat_current_months FULL JOIN stat_months USING (month) "
            "WHERE stat_current_months.fingerprint IS DISTINCT FROM stat_months.fingerprint "
            "ORDER BY month",
        )
    if changed:
        _set_changed(con, changed)
        execute(con, "statistics/target_cells", params)
        execute(con, "statistics/spc_target", params)
        _rewrite_cross_sections(con, params)
        for step in (*SPC_STEPS, "statistics/views"):
            execute(con, step, params)
        execute(con, "statistics/store_state", {**params, "fingerprint": fingerprint})
    else:
        execute(con, "statistics/views", params)
    stored_rows = query_frame(con, "statistics/counts").row(0, named=True)
    counts = {
        "rebuilt": int(rebuild),
        "months_recomputed": len(changed),
        **{name: int(value or 0) for name, value in stored_rows.items()},
    }
    if not counts["practice_statistics"]:
        raise RuntimeError("no practice statistics: the warehouse holds no comparator months")
    return counts
