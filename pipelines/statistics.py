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
from pipelines.warehouse import query_frame, run_script, run_template

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


STATISTICS_TABLES = (
    "practice_statistics",
    "national_deciles",
    "organisation_statistics",
    "organisation_deciles",
    "funnel_curves",
)
_KEY = ["org_level", "org_code", "month", "comparator_id", "variant", "denominator_type", "window"]


def statistics_for_key(values: pl.DataFrame, *, min_list_size: int) -> dict[str, pl.DataFrame]:
    """Every statistic for one comparator, variant and denominator (all periods)."""
    practices = values.filter(pl.col("org_level") == "practice")
    organisations = values.filter(pl.col("org_level") != "practice")
    practice_stats = stats.practice_statistics(practices, min_list_size=min_list_size)
    # Ranks and change for PCN, sub-ICB and ICB; regions and England keep their values
    # (there are too few of them to rank), so every level is published.
    ranked = stats.organisation_statistics(organisations)
    org_stats = organisations.join(
        ranked.select(_KEY + [c for c in ranked.columns if c not in organisations.columns]),
        on=_KEY,
        how="left",
    )
    tables = {
        "practice_statistics": practice_stats,
        "national_deciles": stats.national_deciles(practices, min_list_size=min_list_size),
        "organisation_statistics": org_stats,
        "organisation_deciles": stats.organisation_deciles(organisations),
        "funnel_curves": funnel_curves(practice_stats),
    }
    return {
        name: frame.rename({"window": "period"}) for name, frame in tables.items() if frame.width
    }


def compute_statistics(con: duckdb.DuckDBPyConnection, *, min_list_size: int) -> dict[str, int]:
    """Rebuild ``comparator_values`` and the statistics tables; return row counts.

    Statistics are computed one comparator key (comparator, variant, denominator) at a
    time: every statistic is defined within a key, so the result is the same as computing
    them together, and memory holds one key's values rather than all of them (at national
    scale, tens of millions of rows).
    """
    run_script(con, "warehouse/comparator_values")
    keys = query_frame(con, "warehouse/comparator_keys")
    counts = dict.fromkeys(STATISTICS_TABLES, 0)
    created: set[str] = set()
    months = 0
    for key in keys.iter_rows(named=True):
        values = query_frame(con, "warehouse/select_comparator_values", key).rename(
            {"period": "window"}
        )
        months = max(months, values.get_column("month").n_unique())
        for name, frame in statistics_for_key(values, min_list_size=min_list_size).items():
            con.register("stats_frame", frame.to_arrow())
            statement = (
                "warehouse/append_statistics" if name in created else "warehouse/store_statistics"
            )
            run_template(con, statement, {"table": name}, {"table": STATISTICS_TABLES})
            con.unregister("stats_frame")
            created.add(name)
            counts[name] += frame.height
    missing = set(STATISTICS_TABLES) - created
    if missing:
        raise RuntimeError(f"no statistics rows for {sorted(missing)}: is the warehouse empty?")
    return {"comparator_keys": keys.height, "months": months, **counts}
