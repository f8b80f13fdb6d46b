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


FUNNEL_POINTS = 60


def funnel_curves(practice_stats: pl.DataFrame) -> pl.DataFrame:
    """Plain and over-dispersed funnel limits across the range of denominators, per month,
    comparator and period, so a dashboard can draw the funnel without recomputing it."""
    keys = ["month", "comparator_id", "variant", "denominator_type", "window"]
    groups = (
        practice_stats.filter(pl.col("eligible"))
        .group_by(keys, maintain_order=True)
        .agg(
            pl.col("national_rate").first(),
            pl.col("tau2").first(),
            pl.col("kind").first(),
            pl.col("scale").first(),
            pl.col("denominator").min().alias("n_min"),
            pl.col("denominator").max().alias("n_max"),
        )
        .filter(pl.col("national_rate").is_not_null() & (pl.col("n_min") > 0))
    )
    curves = [
        stats.funnel_curve(
            g["national_rate"], g["kind"], g["scale"], g["n_min"], g["n_max"],
            points=FUNNEL_POINTS, tau2=g["tau2"],
        ).with_columns(*[pl.lit(g[k]).alias(k) for k in keys])
        for g in groups.iter_rows(named=True)
    ]  # fmt: skip
    if not curves:
        return pl.DataFrame()
    out = pl.concat(curves, how="vertical")
    return out.select(keys + [c for c in out.columns if c not in keys])


def compute_statistics(con: duckdb.DuckDBPyConnection, *, min_list_size: int) -> dict[str, int]:
    """Rebuild ``comparator_values`` and the statistics tables; return row counts."""
    run_script(con, "warehouse/comparator_values")
    values = _values_frame(con)
    practices = values.filter(pl.col("org_level") == "practice")
    organisations = values.filter(pl.col("org_level") != "practice")

    practice_stats = stats.practice_statistics(practices, min_list_size=min_list_size)
    deciles = stats.national_deciles(practices, min_list_size=min_list_size)
    # Ranks and change for PCN, sub-ICB and ICB; regions and England keep their values
    # (there are too few of them to rank), so every level is published.
    ranked = stats.organisation_statistics(organisations)
    keys = [
        "org_level",
        "org_code",
        "month",
        "comparator_id",
        "variant",
        "denominator_type",
        "window",
    ]
    org_stats = organisations.join(
        ranked.select(keys + [c for c in ranked.columns if c not in organisations.columns]),
        on=keys,
        how="left",
    )
    org_deciles = stats.organisation_deciles(organisations)

    tables = {
        "practice_statistics": practice_stats.rename({"window": "period"}),
        "national_deciles": deciles.rename({"window": "period"}),
        "organisation_statistics": org_stats.rename({"window": "period"}),
        "organisation_deciles": org_deciles.rename({"window": "period"}),
        "funnel_curves": funnel_curves(practice_stats).rename({"window": "period"}),
    }
    for name, frame in tables.items():
        con.register("stats_frame", frame.to_arrow())
        run(con, f"warehouse/store_{name}")
        con.unregister("stats_frame")
    return {
        "comparator_values": values.height,
        "practice_rows": practice_stats.height,
        "organisation_rows": org_stats.height,
        "organisation_decile_rows": org_deciles.height,
        "decile_rows": deciles.height,
        "months": values.get_column("month").n_unique(),
    }
