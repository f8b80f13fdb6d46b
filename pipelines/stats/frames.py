"""Frame-level statistics for practices and for organisations (PCN, sub-ICB, ICB).

These are the functions the pipeline calls. The long ``values`` frame is split into one
block per comparator key (a loop over a few dozen keys); within a block every statistic
is a whole-array operation over all months and organisations at once - ``bincount`` over
integer group ids, shifts and cumulative sums along series laid end to end, one sort for
all the groups' ranks - never a Python loop over practices, months or series. Working a
key at a time keeps the arrays small enough to stay in processor cache, which matters more
than anything else at 60 months x 6,500 practices x ~30 keys.

Rows come back grouped by key and in input order within a key, with the statistics
appended; input already grouped by key keeps its order exactly.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.stats._common import (
    INPUT_SCHEMA,
    KEY_COLUMNS,
    block_arrays,
    bool_series,
    eligible_expr,
    float_series,
    label_series,
    member_codes,
    prepare,
)
from pipelines.stats._index import BlockIndex, split_by_key
from pipelines.stats.funnel import FLAG_LABELS, grouped_funnel
from pipelines.stats.ranks import ORGANISATION_LEVELS, grouped_percent_rank
from pipelines.stats.spc import (
    RULE_COMBINATIONS,
    RUN_LENGTH,
    SIGNAL_LABELS,
    SPC_COLUMNS,
    SPC_MIN_POINTS,
    TREND_POINTS,
    grouped_xmr,
)

#: Columns ``practice_statistics`` adds, in output order.
PRACTICE_STAT_COLUMNS: tuple[str, ...] = (
    "eligible",
    "small_practice",
    "percentile_rank",
    "national_rate",
    "funnel_lower_95",
    "funnel_upper_95",
    "funnel_lower_998",
    "funnel_upper_998",
    "od_lower_95",
    "od_upper_95",
    "od_lower_998",
    "od_upper_998",
    "funnel_flag",
    "od_funnel_flag",
    "z_score",
    "phi",
    "tau2",
    "value_12m_ago",
    "change_abs",
    "change_rel",
    *SPC_COLUMNS,
)

#: Columns ``organisation_statistics`` adds, in output order.
ORGANISATION_STAT_COLUMNS: tuple[str, ...] = (
    "percentile_rank",
    "n_organisations",
    "value_12m_ago",
    "change_abs",
    "change_rel",
)


def _change(value: np.ndarray, index: BlockIndex) -> dict[str, np.ndarray]:
    """Value 12 months earlier in the same series, and the change on it.

    Looked up by month (not by position), so gaps in a series are handled. ``change_rel``
    is a fraction (0.25 = 25% higher) and NaN (null) when there is no earlier value or it
    is 0, so it is never infinite.
    """
    earlier = index.row_months_earlier(12)
    ago = np.where(earlier >= 0, value[np.maximum(earlier, 0)], np.nan)
    change = value - ago
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(ago != 0, change / ago, np.nan)
    return {"value_12m_ago": ago, "change_abs": change, "change_rel": relative}


def _spc(
    value: np.ndarray,
    monthly: np.ndarray,
    direction: np.ndarray,
    index: BlockIndex,
    min_points: int,
) -> list[pl.Series]:
    """SPC columns for window "1m" rows, null elsewhere (see :mod:`pipelines.stats.spc`)."""
    n = value.size
    usable = monthly & ~np.isnan(value)
    rows = index.order[usable[index.order]]  # usable rows, by series then month
    result = grouped_xmr(
        value[rows],
        index.series[rows],
        direction[rows],
        min_points=min_points,
        run_length=RUN_LENGTH,
        trend_points=TREND_POINTS,
    )
    valid = np.zeros(n, dtype=bool)
    valid[rows] = result["keep"]
    columns: list[pl.Series] = []
    for name in ("spc_mean", "spc_ucl", "spc_lcl"):
        full = np.full(n, np.nan)
        full[rows] = np.where(result["keep"], result[name], np.nan)
        columns.append(float_series(name, full))
    special = np.zeros(n, dtype=bool)
    special[rows] = result["spc_special_cause"]
    columns.append(bool_series("spc_special_cause", special, valid))
    for name, key, labels in (
        ("spc_rules", "rule_code", RULE_COMBINATIONS),
        ("spc_signal", "signal_code", SIGNAL_LABELS),
    ):
        codes = np.full(n, -1, dtype=np.int64)
        codes[rows] = np.where(result["keep"], result[key], -1)
        columns.append(label_series(name, codes, labels))
    return columns


_DIRECTION_SIGN: pl.Expr = (
    pl.when(pl.col("direction") == "lower_is_better")
    .then(-1.0)
    .when(pl.col("direction") == "higher_is_better")
    .then(1.0)
    .otherwise(0.0)
)


def _practice_block(block: pl.DataFrame, min_list_size: int, spc_min_points: int) -> pl.DataFrame:
    """All practice statistics for the rows of one comparator key (any number of months)."""
    a = block_arrays(
        block,
        {
            "member": member_codes(),
            "eligible": eligible_expr(min_list_size),
            "value": pl.col("value"),
            "num": pl.col("numerator"),
            "den": pl.col("denominator"),
            "scale": pl.col("scale"),
            "proportion": (pl.col("kind") == "proportion").fill_null(False),
            "monthly": pl.col("window") == "1m",
            "direction": _DIRECTION_SIGN,
        },
    )
    index = BlockIndex.build(a["member"], a["month"])
    eligible = a["eligible"]
    value = a["value"]
    group = index.group  # with one key per block, the group is the month

    rank, _ = grouped_percent_rank(np.where(eligible, value, np.nan), group, index.n_groups)
    funnel = grouped_funnel(
        num=a["num"],
        den=a["den"],
        value=value,
        scale=a["scale"],
        proportion=a["proportion"],
        eligible=eligible,
        group=group,
        n_groups=index.n_groups,
    )
    columns: list[pl.Series] = [
        pl.Series("eligible", eligible, dtype=pl.Boolean),
        block.get_column("list_size").lt(min_list_size).alias("small_practice"),
        float_series("percentile_rank", rank),
        *[float_series(name, data) for name, data in funnel.items() if not name.endswith("_flag")],
        label_series("funnel_flag", funnel["funnel_flag"], FLAG_LABELS),
        label_series("od_funnel_flag", funnel["od_funnel_flag"], FLAG_LABELS),
        *[float_series(name, data) for name, data in _change(value, index).items()],
        *_spc(value, a["monthly"], a["direction"], index, spc_min_points),
    ]
    return pl.DataFrame(columns).select(PRACTICE_STAT_COLUMNS)


def _blocks(frame: pl.DataFrame, bounds: list[int]) -> list[pl.DataFrame]:
    """Zero-copy slices of ``frame`` between consecutive ``bounds`` (one empty if none)."""
    if len(bounds) < 2:
        return [frame.clear()]
    return [frame.slice(a, b - a) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def practice_statistics(
    values: pl.DataFrame,
    min_list_size: int = 1000,
    spc_min_points: int = SPC_MIN_POINTS,
) -> pl.DataFrame:
    """Ranks, funnel limits, change on a year earlier and SPC for every practice row.

    Only ``org_level == "practice"`` rows are used and returned, with these columns
    appended (``PRACTICE_STAT_COLUMNS``):

    * ``eligible`` - non-null value, positive denominator and ``list_size >=
      min_list_size``; ``small_practice`` - ``list_size < min_list_size`` (null when the
      list size is unknown).
    * ``percentile_rank`` - ``PERCENT_RANK`` x 100 among eligible practices of the same
      month and comparator key; null when not eligible.
    * ``national_rate`` - sum(numerator) / sum(denominator) over eligible practices x
      ``scale`` (same units as ``value``), on every row of the group.
    * ``funnel_*`` / ``od_*`` limits (95% and 99.8%, plain and over-dispersion adjusted)
      for every row with a positive denominator, eligible or not, so small practices can
      be drawn against the funnel; ``funnel_flag`` / ``od_funnel_flag`` ("high", "low",
      "within" against the 99.8% limits) and the plain ``z_score`` for eligible rows only;
      ``phi`` and ``tau2`` (per-unit variance) of the group on every row. See
      :mod:`pipelines.stats.funnel`.
    * ``value_12m_ago``, ``change_abs`` and ``change_rel`` (a fraction) against the same
      practice and key 12 months earlier, for any row with values.
    * ``spc_mean``, ``spc_ucl``, ``spc_lcl``, ``spc_special_cause``, ``spc_rules`` (comma
      list in the order of ``RULES``, "" when none fired) and ``spc_signal`` on window "1m"
      rows of series with at least ``spc_min_points`` non-null months; null otherwise.
      SPC ignores eligibility: it compares a practice only with its own history. See
      :mod:`pipelines.stats.spc`.

    Row order: rows are grouped by comparator key, in input order within a key, so input
    already grouped by key (e.g. one comparator after another) keeps its order exactly.

    Raises ``ValueError`` for missing columns, unknown ``kind`` values, nulls in the
    identifying columns or repeated (practice, month, key) rows.
    """
    frame = prepare(values, ("practice",))
    frame, bounds = split_by_key(frame, list(KEY_COLUMNS))
    stats = pl.concat(
        [_practice_block(block, min_list_size, spc_min_points) for block in _blocks(frame, bounds)],
        how="vertical",
        rechunk=False,
    )
    extra = [c for c in frame.columns if c not in INPUT_SCHEMA and c not in stats.columns]
    return frame.select(*INPUT_SCHEMA, *extra).hstack(stats)


def _organisation_block(block: pl.DataFrame) -> pl.DataFrame:
    """Ranks and change for the rows of one level x comparator key."""
    a = block_arrays(block, {"member": member_codes(), "value": pl.col("value")})
    index = BlockIndex.build(a["member"], a["month"])
    rank, ranked = grouped_percent_rank(a["value"], index.group, index.n_groups)
    return pl.DataFrame(
        [
            float_series("percentile_rank", rank),
            pl.Series("n_organisations", ranked.astype(np.int64), dtype=pl.Int64),
            *[float_series(name, data) for name, data in _change(a["value"], index).items()],
        ]
    )


def organisation_statistics(
    values: pl.DataFrame, levels: tuple[str, ...] = ORGANISATION_LEVELS
) -> pl.DataFrame:
    """Percentile ranks and change for PCNs, sub-ICB locations and ICBs.

    Each organisation is ranked (``PERCENT_RANK`` x 100) against the other organisations
    of the same level, month and comparator key that have a non-null value; there is no
    list-size threshold because every organisation pools many practices. Returns the
    rows of ``levels`` plus ``ORGANISATION_STAT_COLUMNS``: ``percentile_rank``,
    ``n_organisations`` (how many were ranked in the group), ``value_12m_ago``,
    ``change_abs`` and ``change_rel`` (a fraction). Rows are grouped by level and key,
    in input order within each (input already grouped that way keeps its order).
    """
    frame = prepare(values, levels)
    frame, bounds = split_by_key(frame, ["org_level", *KEY_COLUMNS])
    stats = pl.concat(
        [_organisation_block(block) for block in _blocks(frame, bounds)],
        how="vertical",
        rechunk=False,
    )
    extra = [c for c in frame.columns if c not in INPUT_SCHEMA and c not in stats.columns]
    return frame.select(*INPUT_SCHEMA, *extra).hstack(stats)
