"""A national-scale smoke run: 6,500 practices x 60 months x 4 comparator keys.

Asserts only that the functions run and return sensible shapes; the timings are printed
(``pytest -s``) for information, never asserted, because shared machines vary.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import polars as pl

from pipelines.stats import DECILES, national_deciles, practice_statistics

PRACTICES = 6_500
MONTHS = 60
KEYS = [
    # comparator_id, variant, window, kind, scale
    ("opioid_items", "standard", "1m", "rate", 1000.0),
    ("opioid_items", "standard", "12m", "rate", 1000.0),
    ("opioid_ome_daily", "standard", "1m", "rate", 1000.0),
    ("high_dose_share", "90mg", "1m", "proportion", 100.0),
]


def _synthetic_values() -> pl.DataFrame:
    rng = np.random.default_rng(2024)
    months = pl.date_range(dt.date(2020, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True)
    codes = np.array([f"P{p:05d}" for p in range(PRACTICES)])
    list_size = rng.integers(300, 25_000, PRACTICES)
    propensity = rng.gamma(6, 1 / 6, PRACTICES)
    base = pl.DataFrame(
        {
            "org_code": np.repeat(codes, MONTHS),
            "month": np.tile(months.to_numpy(), PRACTICES),
            "list_size": np.repeat(list_size, MONTHS),
        }
    )
    n = base.height
    size = np.repeat(list_size, MONTHS).astype(float)
    trend = np.repeat(propensity, MONTHS) * np.tile(np.linspace(1.1, 0.9, MONTHS), PRACTICES)
    frames = []
    for comparator, variant, window, kind, scale in KEYS:
        if kind == "rate":
            den = size * (12 if window == "12m" else 1)
            num = rng.poisson(den * 0.01 * trend).astype(float)
        else:
            den = rng.poisson(size * 0.004).astype(float)  # some zero denominators
            num = rng.binomial(den.astype(np.int64), np.minimum(0.9, 0.2 * trend)).astype(float)
        value = np.where(den > 0, scale * num / np.where(den > 0, den, 1.0), np.nan)
        frames.append(
            base.with_columns(
                org_level=pl.lit("practice"),
                comparator_id=pl.lit(comparator),
                variant=pl.lit(variant),
                denominator_type=pl.lit("patients" if kind == "rate" else "long_acting_items"),
                window=pl.lit(window),
                numerator=pl.Series(num),
                denominator=pl.Series(den),
                value=pl.Series(value, nan_to_null=True),
                scale=pl.lit(scale),
                kind=pl.lit(kind),
                direction=pl.lit("lower_is_better"),
            )
        )
    values = pl.concat(frames)
    assert values.height == n * len(KEYS)
    return values


def test_national_scale_run() -> None:
    values = _synthetic_values()
    started = time.perf_counter()
    stats = practice_statistics(values)
    stats_seconds = time.perf_counter() - started
    started = time.perf_counter()
    deciles = national_deciles(values)
    decile_seconds = time.perf_counter() - started
    print(
        f"\n{values.height:,} rows: practice_statistics {stats_seconds:.2f}s, "
        f"national_deciles {decile_seconds:.2f}s"
    )
    assert stats.height == values.height
    assert deciles.height == MONTHS * len(KEYS) * len(DECILES)
    eligible = stats.filter(pl.col("eligible"))
    assert eligible["percentile_rank"].null_count() == 0
    assert eligible["od_funnel_flag"].null_count() == 0
    monthly = stats.filter(pl.col("window") == "1m")
    assert monthly["spc_signal"].null_count() < monthly.height
    assert stats.filter(pl.col("window") == "12m")["spc_signal"].null_count() == PRACTICES * MONTHS
