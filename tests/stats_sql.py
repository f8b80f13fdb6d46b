"""The product's statistics SQL run on a hand-made values frame, for the statistics tests.

The pipeline computes values (windows, roll-ups) and then the statistics over them in one
refresh. The tests want to choose the values themselves (ties, zero denominators, null
months, tiny groups), so this module fills the statistics stage's value table
(``cell_values``) straight from a long frame - one row per organisation, month, comparator
key and window, with ``numerator``, ``denominator``, ``value``, ``scale``, ``kind``,
``direction`` and ``list_size`` - and runs the rest of the product's statements
(:func:`pipelines.statistics.compute_cells`) on it in an in-memory DuckDB. The results
come back from the published views, in the published shapes (``period`` renamed
``window`` to match the frames).
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.statistics import SPC_MIN_POINTS, compute_cells, execute, method_parameters

ORGANISATION_LEVELS = ("pcn", "sub_icb", "icb")
IDENTITY = ["org_level", "org_code", "month", "comparator_id", "variant", "denominator_type"]
PRACTICE_STAT_COLUMNS = (
    "eligible", "small_practice", "percentile_rank", "national_rate", "funnel_lower_95",
    "funnel_upper_95", "funnel_lower_998", "funnel_upper_998", "od_lower_95", "od_upper_95",
    "od_lower_998", "od_upper_998", "funnel_flag", "od_funnel_flag", "z_score", "phi", "tau2",
    "value_12m_ago", "change_abs", "change_rel", "spc_mean", "spc_ucl", "spc_lcl",
    "spc_special_cause", "spc_rules", "spc_signal",
)  # fmt: skip
ORGANISATION_STAT_COLUMNS = (
    "percentile_rank", "n_organisations", "value_12m_ago", "change_abs", "change_rel",
)  # fmt: skip

_LOAD = """
CREATE TEMP TABLE frame_rows AS
SELECT *, CASE WHEN isfinite(value) THEN value END AS clean_value,
  CAST(rtrim("window", 'm') AS UTINYINT) AS window_months
FROM frame;
INSERT INTO stat_keys
SELECT row_number() OVER (ORDER BY comparator_id, variant, denominator_type)::INTEGER,
  comparator_id, variant, denominator_type, any_value(scale), any_value(kind),
  any_value(direction)
FROM frame_rows GROUP BY comparator_id, variant, denominator_type;
INSERT INTO stat_orgs
SELECT row_number() OVER (ORDER BY org_level, org_code)::INTEGER, org_level, org_code,
  NULL, NULL, NULL, NULL
FROM (SELECT DISTINCT org_level, org_code FROM frame_rows);
CREATE OR REPLACE TEMP TABLE cell_values AS
SELECT f.org_level, o.org_id, k.key_id, f.window_months, f.month, f.numerator, f.denominator,
  (CASE WHEN f.denominator IS NOT NULL THEN f.window_months ELSE 0 END)::BIGINT
    AS months_in_window,
  f.clean_value AS value, f.list_size
FROM frame_rows AS f
JOIN stat_orgs AS o USING (org_level, org_code)
JOIN stat_keys AS k USING (comparator_id, variant, denominator_type);
CREATE OR REPLACE TEMP TABLE stat_target AS
SELECT DISTINCT window_months, month FROM cell_values;
CREATE OR REPLACE TEMP TABLE spc_target AS
SELECT DISTINCT org_id, key_id FROM cell_values
WHERE org_level = 'practice' AND window_months = 1;
"""


def run_statistics(
    values: pl.DataFrame, *, min_list_size: int = 1000, spc_min_points: int = SPC_MIN_POINTS
) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding the statistics of ``values`` (views included)."""
    params = method_parameters(min_list_size=min_list_size, spc_min_points=spc_min_points)
    con = duckdb.connect()
    execute(con, "statistics/schema", params)
    execute(con, "statistics/method", params)
    frame = values.with_columns(
        pl.col("numerator", "denominator", "value", "scale").cast(pl.Float64),
        pl.col("list_size").cast(pl.Int64),
    )
    con.register("frame", frame.to_arrow())
    for statement in _LOAD.split(";\n"):
        if statement.strip():
            con.execute(statement)
    con.unregister("frame")
    compute_cells(con, params)
    return con


def _view(con: duckdb.DuckDBPyConnection, view: str) -> pl.DataFrame:
    frame = con.sql(f"SELECT * FROM {view}").pl()  # noqa: S608 - fixed view names
    return frame.rename({"period": "window"})


def _in_input_order(values: pl.DataFrame, stats: pl.DataFrame, columns: tuple) -> pl.DataFrame:
    keyed = values.with_row_index("_row")
    joined = keyed.join(
        stats.select(*IDENTITY, "window", *columns), on=[*IDENTITY, "window"], how="left"
    )
    return joined.sort("_row").drop("_row")


def practice_statistics(
    values: pl.DataFrame, min_list_size: int = 1000, spc_min_points: int = SPC_MIN_POINTS
) -> pl.DataFrame:
    """The practice rows of ``values`` (input order) with every practice statistic."""
    practices = values.filter(pl.col("org_level") == "practice")
    con = run_statistics(practices, min_list_size=min_list_size, spc_min_points=spc_min_points)
    return _in_input_order(practices, _view(con, "practice_statistics"), PRACTICE_STAT_COLUMNS)


def organisation_statistics(values: pl.DataFrame) -> pl.DataFrame:
    """The PCN, sub-ICB and ICB rows of ``values`` (input order) with ranks and change."""
    organisations = values.filter(pl.col("org_level").is_in(ORGANISATION_LEVELS))
    con = run_statistics(organisations)
    return _in_input_order(
        organisations, _view(con, "organisation_statistics"), ORGANISATION_STAT_COLUMNS
    )


def national_deciles(values: pl.DataFrame, min_list_size: int = 1000) -> pl.DataFrame:
    practices = values.filter(pl.col("org_level") == "practice")
    con = run_statistics(practices, min_list_size=min_list_size)
    keys = ["comparator_id", "variant", "denominator_type", "window", "month", "percentile"]
    return _view(con, "national_deciles").sort(keys)


def organisation_deciles(values: pl.DataFrame) -> pl.DataFrame:
    organisations = values.filter(pl.col("org_level").is_in(ORGANISATION_LEVELS))
    con = run_statistics(organisations)
    keys = ["org_level", "comparator_id", "variant", "denominator_type", "window", "month"]
    return _view(con, "organisation_deciles").sort([*keys, "percentile"])


def funnel_curves(values: pl.DataFrame, min_list_size: int = 1000) -> pl.DataFrame:
    practices = values.filter(pl.col("org_level") == "practice")
    con = run_statistics(practices, min_list_size=min_list_size)
    keys = ["comparator_id", "variant", "denominator_type", "window", "month", "n"]
    return _view(con, "funnel_curves").sort(keys)
