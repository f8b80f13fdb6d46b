"""Percentiles and percentile ranks: national deciles and ranks across organisations.

Two definitions are used throughout, chosen to match what SQL engines (and therefore any
reader re-checking the published numbers in SQL) compute:

* deciles use ``PERCENTILE_CONT`` - linear interpolation between order statistics at
  position ``(n - 1) * q`` (numpy's ``method="linear"``, polars' ``"linear"``);
* ranks use ``PERCENT_RANK`` x 100 - ``(rank - 1) / (n - 1)`` with tied values sharing the
  lowest rank, and 0 when there is only one value.

The numpy helpers :func:`percentile_cont` and :func:`percent_rank` work on one group and
are written out from the definitions; the grouped versions do the same for every group at
once with polars (which sorts each group in parallel).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from pipelines.stats._common import (
    DECILES,
    KEY_COLUMNS,
    FloatArray,
    IntArray,
    block_arrays,
    eligible_expr,
    prepare,
)
from pipelines.stats._index import BlockIndex, split_by_key

ORGANISATION_LEVELS: tuple[str, ...] = ("pcn", "sub_icb", "icb")


def percentile_cont(x: npt.ArrayLike, q: float | npt.ArrayLike) -> float | FloatArray:
    """``PERCENTILE_CONT(q)`` of ``x``: linear interpolation at position ``(n - 1) * q``.

    ``q`` is a fraction in [0, 1] (as in SQL), not a percentage. NaNs in ``x`` are ignored
    (SQL ignores NULLs); an empty input gives NaN. Returns a float for scalar ``q`` and an
    array for array ``q``.
    """
    data = np.asarray(x, dtype=np.float64).ravel()
    data = np.sort(data[~np.isnan(data)])
    qs = np.asarray(q, dtype=np.float64)
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError("q must be within [0, 1]")
    if data.size == 0:
        result = np.full(qs.shape, np.nan)
    else:
        position = (data.size - 1) * qs
        lower = np.floor(position).astype(np.int64)
        upper = np.minimum(lower + 1, data.size - 1)
        fraction = position - lower
        result = data[lower] + fraction * (data[upper] - data[lower])
    return float(result) if np.ndim(result) == 0 else result


def percent_rank(x: npt.ArrayLike) -> FloatArray:
    """``PERCENT_RANK() * 100`` for each element of ``x`` (NaN stays NaN).

    The rank of a value is one plus the number of strictly smaller values, so ties share
    the lowest rank; with n non-NaN values the result is ``(rank - 1) / (n - 1) * 100``,
    and a lone value ranks 0.
    """
    data = np.asarray(x, dtype=np.float64).ravel()
    present = ~np.isnan(data)
    ordered = np.sort(data[present])
    result = np.full(data.shape, np.nan)
    n = ordered.size
    if n == 0:
        return result
    smaller = np.searchsorted(ordered, data[present], side="left").astype(np.float64)
    result[present] = smaller / (n - 1) * 100.0 if n > 1 else 0.0
    return result


def _group_frame(values: FloatArray, group: IntArray) -> pl.DataFrame:
    return pl.DataFrame({"g": group, "v": pl.Series(values, dtype=pl.Float64, nan_to_null=True)})


def grouped_percent_rank(
    values: FloatArray, group: IntArray, n_groups: int
) -> tuple[FloatArray, FloatArray]:
    """:func:`percent_rank` within each group at once; NaN values are not ranked.

    Polars ranks every group in one call (``rank("min")`` gives tied values the lowest
    rank, as ``PERCENT_RANK`` does); the group sizes are a ``bincount``. Returns (percent
    rank, number of ranked values in the row's group).
    """
    present = ~np.isnan(values)
    rank = (
        _group_frame(values, group)
        .select(pl.col("v").rank("min").over("g"))
        .to_series()
        .to_numpy()
        .astype(np.float64)
    )
    counts = np.bincount(group[present], minlength=n_groups).astype(np.float64)
    n = counts[group]
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(n > 1, (rank - 1.0) / (n - 1.0) * 100.0, 0.0)
    result[~present] = np.nan
    return result, n


def grouped_quantiles(
    values: FloatArray, group: IntArray, n_groups: int, quantiles: tuple[float, ...]
) -> tuple[FloatArray, FloatArray]:
    """``PERCENTILE_CONT`` of the non-NaN values of each group, for several quantiles.

    Returns an (n_groups, len(quantiles)) array (NaN for empty groups) and the count per
    group.
    """
    table = (
        _group_frame(values, group)
        .drop_nulls("v")
        .group_by("g")
        .agg(
            pl.len().alias("n"),
            *[pl.col("v").quantile(q, "linear").alias(f"q{i}") for i, q in enumerate(quantiles)],
        )
    )
    out = np.full((n_groups, len(quantiles)), np.nan)
    counts = np.zeros(n_groups, dtype=np.float64)
    present = table.get_column("g").to_numpy()
    counts[present] = table.get_column("n").to_numpy()
    for i in range(len(quantiles)):
        out[present, i] = table.get_column(f"q{i}").to_numpy()
    return out, counts


def _deciles_long(
    frame: pl.DataFrame, key_columns: list[str], include: pl.Expr, count_name: str
) -> pl.DataFrame:
    """Deciles of ``value`` per key x month, long: one row per group x percentile.

    Works key by key (see :func:`~pipelines.stats._index.split_by_key`); within a key the
    group is the month.
    """
    by = ["month", *key_columns]
    # Only these columns are needed, and regrouping unordered input copies them.
    needed = [*by, "value", "numerator", "denominator", "list_size"]
    frame, bounds = split_by_key(frame.select(needed), key_columns)
    parts: list[pl.DataFrame] = []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        block = frame.slice(start, stop - start)
        a = block_arrays(block, {"include": include, "value": pl.col("value")})
        index = BlockIndex.build(None, a["month"])
        chosen = a["include"]
        values = np.where(chosen, a["value"], np.nan)
        group = index.group
        table, counts = grouped_quantiles(
            values, group, index.n_groups, tuple(p / 100 for p in DECILES)
        )
        present = np.flatnonzero(counts > 0)
        # Any row of a group can supply its key and month: they are what define it.
        some_row = np.full(index.n_groups, -1, dtype=np.int64)
        rows = np.flatnonzero(chosen)
        some_row[group[rows]] = rows
        repeat = np.repeat(some_row[present], len(DECILES))
        parts.append(
            block[repeat]
            .select(by)
            .with_columns(
                pl.Series("percentile", np.tile(np.array(DECILES, dtype=np.int32), present.size)),
                pl.Series("value", table[present].ravel(), dtype=pl.Float64),
                pl.Series(count_name, np.repeat(counts[present].astype(np.int64), len(DECILES))),
            )
        )
    if not parts:
        return (
            frame.select(by)
            .clear()
            .with_columns(
                pl.Series("percentile", [], dtype=pl.Int32),
                pl.Series("value", [], dtype=pl.Float64),
                pl.Series(count_name, [], dtype=pl.Int64),
            )
        )
    return pl.concat(parts).sort([*key_columns, "month", "percentile"])


def national_deciles(values: pl.DataFrame, min_list_size: int = 1000) -> pl.DataFrame:
    """National deciles across eligible practices, per month and comparator key.

    Eligibility is the same as for the percentile ranks and funnel statistics (non-null
    value, list size >= ``min_list_size``), so a practice's rank and the decile lines it is
    drawn against come from one population.

    Returns columns ``month, comparator_id, variant, denominator_type, window,
    percentile`` (10, 20, ..., 90, Int32), ``value`` (``PERCENTILE_CONT`` interpolation)
    and ``n_practices``, sorted by key, month and percentile. Groups with no eligible
    practice produce no rows.
    """
    frame = prepare(values, ("practice",))
    return _deciles_long(frame, list(KEY_COLUMNS), eligible_expr(min_list_size), "n_practices")


def organisation_deciles(
    values: pl.DataFrame, levels: tuple[str, ...] = ORGANISATION_LEVELS
) -> pl.DataFrame:
    """Deciles across organisations of one level (PCN, sub-ICB, ICB), per month and key.

    Organisations have no list-size threshold (they are aggregates of many practices), so
    every organisation with a non-null value counts. Returns ``month, org_level,
    comparator_id, variant, denominator_type, window, percentile, value,
    n_organisations``, sorted by level, key, month and percentile.
    """
    frame = prepare(values, levels)
    return _deciles_long(
        frame, ["org_level", *KEY_COLUMNS], pl.col("value").is_not_null(), "n_organisations"
    )
