"""Windows, roll-ups and statistics over every month in the warehouse.

SQL does the sums (windows and organisation roll-ups) where DuckDB is at its best; the
statistics that need per-group percentiles, iteration over series or winsorising (funnel
over-dispersion, SPC) run in :mod:`pipelines.stats` on Polars frames. The results go back
into the warehouse as plain tables that the publication copies.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines import stats
from pipelines.warehouse import query_frame, run, run_script


def _values_frame(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    frame = query_frame(con, "warehouse/select_comparator_values")
    # The statistics library speaks of the rolling window as ``window``; SQL cannot.
    return frame.rename({"period": "window"})


def compute_statistics(con: duckdb.DuckDBPyConnection, *, min_list_size: int) -> dict[str, int]:
    """Rebuild ``comparator_values`` and the statistics tables; return row counts."""
    run_script(con, "warehouse/comparator_values")
    values = _values_frame(con)
    practices = values.filter(pl.col("org_level") == "practice")
    organisations = values.filter(pl.col("org_level") != "practice")

    practice_stats = stats.practice_statistics(practices, min_list_size=min_list_size)
    deciles = stats.national_deciles(practices, min_list_size=min_list_size)
    org_stats = stats.organisation_statistics(organisations)

    tables = {
        "practice_statistics": practice_stats.rename({"window": "period"}),
        "national_deciles": deciles.rename({"window": "period"}),
        "organisation_statistics": org_stats.rename({"window": "period"}),
    }
    for name, frame in tables.items():
        con.register("stats_frame", frame.to_arrow())
        run(con, f"warehouse/store_{name}")
        con.unregister("stats_frame")
    return {
        "comparator_values": values.height,
        "practice_rows": practice_stats.height,
        "organisation_rows": org_stats.height,
        "decile_rows": deciles.height,
        "months": values.get_column("month").n_unique(),
    }
