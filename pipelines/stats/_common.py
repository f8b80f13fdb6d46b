"""Shared constants, column names and input checks for the comparator statistics.

Every frame function in this package takes the same long ``values`` frame (one row per
organisation x month x comparator key) and the same notion of an *eligible* practice.
Keeping both here means the deciles, the percentile ranks and the funnel limits can never
disagree about which practices they were computed over.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Columns that together identify one comparator series definition (besides the month).
KEY_COLUMNS: tuple[str, ...] = ("comparator_id", "variant", "denominator_type", "window")

#: The cross-sectional group: one month of one comparator key.
GROUP_COLUMNS: tuple[str, ...] = ("month", *KEY_COLUMNS)

#: Two-sided normal quantiles for the 95% and 99.8% funnel limits.
Z95: float = 1.959964
Z998: float = 3.090232

#: XmR scaling constant (3 / d2 with d2 = 1.128 for moving ranges of two points).
XMR_CONSTANT: float = 2.66

#: Deciles reported by the decile functions (as percentiles).
DECILES: tuple[int, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90)

KINDS: frozenset[str] = frozenset({"rate", "proportion"})

#: The input contract: column name -> the dtype it is coerced to.
INPUT_SCHEMA: dict[str, pl.DataType] = {
    "org_level": pl.String(),
    "org_code": pl.String(),
    "month": pl.Date(),
    "comparator_id": pl.String(),
    "variant": pl.String(),
    "denominator_type": pl.String(),
    "window": pl.String(),
    "numerator": pl.Float64(),
    "denominator": pl.Float64(),
    "value": pl.Float64(),
    "scale": pl.Float64(),
    "kind": pl.String(),
    "direction": pl.String(),
    "list_size": pl.Int64(),
}

#: Columns that identify a row; a null in any of them makes the row unplaceable.
IDENTITY_COLUMNS: tuple[str, ...] = ("org_level", "org_code", "month", *KEY_COLUMNS)


def prepare(values: pl.DataFrame, org_levels: tuple[str, ...]) -> pl.DataFrame:
    """Check the input contract, coerce dtypes and keep the requested organisation levels.

    Coercion is cheap (a no-op when the dtypes already match) and protects the arithmetic
    from integer numerators or a ``list_size`` read back as float. A non-finite ``value``
    (NaN or infinity) breaks the contract; rather than let it poison group sums it is
    treated as missing, exactly like a zero denominator. Row order is preserved.
    """
    missing = [c for c in INPUT_SCHEMA if c not in values.columns]
    if missing:
        raise ValueError(f"values is missing required columns: {', '.join(missing)}")
    level = values.get_column("org_level")
    keep = level.is_in(list(org_levels))
    frame = values if keep.all() else values.filter(keep)
    frame = frame.with_columns(
        [pl.col(name).cast(dtype) for name, dtype in INPUT_SCHEMA.items()]
    ).with_columns(
        pl.when(pl.col("value").is_finite()).then(pl.col("value")).alias("value"),
    )
    checks = frame.select(
        *[pl.col(c).null_count().alias(c) for c in IDENTITY_COLUMNS],
        pl.col("kind").drop_nulls().unique().implode().alias("_kinds"),
    ).row(0, named=True)
    nulls = [c for c in IDENTITY_COLUMNS if checks[c]]
    if nulls:
        raise ValueError(f"values has nulls in identifying columns: {', '.join(nulls)}")
    kinds = set(checks["_kinds"])
    if not kinds <= KINDS:
        raise ValueError(
            f"unknown kind(s) {sorted(kinds - KINDS)}; expected one of {sorted(KINDS)}"
        )
    return frame


def eligible_expr(min_list_size: int) -> pl.Expr:
    """The practices that are ranked, put in deciles and used for funnel statistics.

    A practice-month counts when it has a usable value (non-null, positive denominator)
    and its all-ages list size is at least ``min_list_size``. Small practices are noisy and
    are flagged rather than ranked; a null list size is unknown, so it is not eligible.
    """
    return (
        pl.col("value").is_not_null()
        & (pl.col("denominator") > 0).fill_null(False)
        & pl.col("numerator").is_not_null()
        & (pl.col("list_size") >= min_list_size).fill_null(False)
    )


def month_numbers(frame: pl.DataFrame) -> IntArray:
    """Months since January 1970 for each row, so "12 months earlier" is subtraction.

    Done in numpy (dates -> ``datetime64[M]``), which is far cheaper than extracting year
    and month with date functions.
    """
    days = frame.get_column("month").to_numpy()
    return days.astype("datetime64[M]").astype(np.int64)


def block_arrays(frame: pl.DataFrame, exprs: dict[str, pl.Expr]) -> dict[str, np.ndarray]:
    """Evaluate several expressions in one pass and return them as numpy arrays.

    One ``select`` lets polars evaluate the expressions together (and in parallel) rather
    than paying a query per column. Float nulls become NaN; other expressions must not
    produce nulls. The month number of each row is added as ``"month"``.
    """
    result = frame.select([expr.alias(name) for name, expr in exprs.items()])
    arrays = {name: result.get_column(name).to_numpy() for name in exprs}
    arrays["month"] = month_numbers(frame)
    return arrays


def member_codes() -> pl.Expr:
    """Dense integer codes 0..k-1 (order of first appearance) for ``org_code``."""
    return (
        pl.col("org_code").cast(pl.Categorical(pl.Categories.random())).to_physical().cast(pl.Int64)
    )


def float_series(name: str, data: FloatArray) -> pl.Series:
    """A Float64 column from a numpy array, NaN -> null (published frames never hold NaN)."""
    return pl.Series(name, data, dtype=pl.Float64, nan_to_null=True)


def label_series(name: str, codes: IntArray, labels: tuple[str, ...]) -> pl.Series:
    """A string column from integer codes into ``labels``; negative codes become null."""
    lookup = pl.Series(name, [*labels, None], dtype=pl.String)
    return lookup.gather(pl.Series(np.where(codes < 0, len(labels), codes).astype(np.uint32)))


def bool_series(name: str, data: BoolArray, valid: BoolArray) -> pl.Series:
    """A nullable Boolean column: ``data`` where ``valid``, null elsewhere."""
    return pl.Series(name, np.where(valid, data.astype(np.float64), np.nan), nan_to_null=True).cast(
        pl.Boolean
    )
