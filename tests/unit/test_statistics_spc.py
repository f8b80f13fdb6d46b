"""XmR / SPC rules on hand-constructed series, and the SQL against the reference xmr.

Each series below was designed on paper so that exactly one rule fires; the comments give
the arithmetic (mean, mean moving range, limits) that makes it so.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from tests.oracles.stats_reference import RULES, xmr
from tests.stats_sql import practice_statistics

# 11 points alternating 9 / 13, then 30.
# mean = (6 * 9 + 5 * 13 + 30) / 12 = 149 / 12 = 12.4167
# MR = 10 moves of 4 and one of 21 -> mean(MR) = 61 / 11 = 5.545; UCL = 12.42 + 14.75 = 27.17
OUTSIDE = [9, 13, 9, 13, 9, 13, 9, 13, 9, 13, 9, 30]

# 5 points alternating 10 / 11, then 7 alternating 12 / 13.
# mean = (52 + 87) / 12 = 11.583: the first five are all below, the last seven all above.
# mean(MR) = (4 * 1 + 2 + 6 * 1) / 11 = 1.0909; 2/3 of the way = 1.93 (no point that far);
# the longest rising stretch is 2 moves.
RUN = [10, 11, 10, 11, 10, 12, 13, 12, 13, 12, 13, 12]

# Points 3..9 rise 8, 9, ..., 14: seven points, six rises. mean = 131 / 12 = 10.917;
# sides change at least every 4 points; mean(MR) = 24 / 11 = 2.18, 2/3 of the way = 3.87
# and no point is that far from the mean.
TREND = [12, 8, 12, 8, 9, 10, 11, 12, 13, 14, 10, 12]

# 20 points alternating 10 / 11 with 15 at positions 10 and 12. mean = 220 / 20 = 11
# exactly (so every 11 lies on the mean and breaks runs); mean(MR) = (15 + 4 * 4) / 19 =
# 1.6316, UCL = 11 + 4.34 = 15.34, 2/3 of the way = 11 + 2.89: both 15s are beyond it.
TWO_OF_THREE = [10, 11] * 5 + [15, 11, 15, 11] + [10, 11] * 3

# Alternating 10 / 12: mean 11, deviations +/-1, limits +/-5.32. Nothing fires.
QUIET = [10, 12] * 6


def _only(result, rule: str) -> np.ndarray:
    for other in RULES:
        if other != rule:
            assert not getattr(result, other).any(), f"{other} fired unexpectedly"
    return np.flatnonzero(getattr(result, rule))


def test_quiet_series_fires_nothing() -> None:
    result = xmr(QUIET, direction="lower_is_better")
    assert result.mean == pytest.approx(11.0)
    assert result.mr_bar == pytest.approx(2.0)
    assert result.ucl == pytest.approx(11 + 2.66 * 2)
    assert result.lcl == pytest.approx(11 - 2.66 * 2)
    assert not result.special_cause.any()
    assert set(result.rules) == {""}
    assert set(result.signal) == {"common_cause"}


def test_outside_limits_only() -> None:
    result = xmr(OUTSIDE, direction="lower_is_better")
    assert result.mean == pytest.approx(149 / 12)
    assert result.mr_bar == pytest.approx(61 / 11)
    assert result.ucl == pytest.approx(149 / 12 + 2.66 * 61 / 11)
    np.testing.assert_array_equal(_only(result, "outside_limits"), [11])
    assert result.rules[11] == "outside_limits"
    assert result.signal[11] == "concern"  # above the mean, lower is better
    assert result.signal[0] == "common_cause"


def test_run_of_seven_only() -> None:
    result = xmr(RUN, direction="lower_is_better")
    np.testing.assert_array_equal(_only(result, "run_of_7"), [5, 6, 7, 8, 9, 10, 11])
    assert all(result.signal[i] == "concern" for i in range(5, 12))
    # the same run below the mean is an improvement when lower is better
    mirrored = xmr([-v for v in RUN], direction="lower_is_better")
    np.testing.assert_array_equal(_only(mirrored, "run_of_7"), [5, 6, 7, 8, 9, 10, 11])
    assert mirrored.signal[5] == "improvement"


def test_run_of_six_does_not_fire_and_point_on_mean_breaks_run() -> None:
    # 6 above, 1 exactly on the mean, 6 above, 6 below, 1 on the mean, 6 below:
    # sum = 78 + 11 + 78 + 54 + 11 + 54 = 286 over 26 points, a mean of exactly 11.
    # (The points are far from the mean relative to the moving range, so other rules do
    # fire; only the runs matter here.)
    series = [13] * 6 + [11] + [13] * 6 + [9] * 6 + [11] + [9] * 6
    assert np.mean(series) == 11.0
    result = xmr(series)
    assert not result.run_of_7.any()
    # without the points on the mean the runs are 12 long and fire
    assert xmr([13] * 12 + [9] * 12).run_of_7.all()


def test_trend_of_seven_points_only() -> None:
    result = xmr(TREND, direction="lower_is_better")
    np.testing.assert_array_equal(_only(result, "trend_of_7"), [3, 4, 5, 6, 7, 8, 9])
    assert result.rules[3] == "trend_of_7"
    # classified by the side of the mean each point is on
    assert result.signal[3] == "improvement"  # 8 is below the mean
    assert result.signal[9] == "concern"  # 14 is above it


def test_trend_of_six_points_does_not_fire() -> None:
    # 8, 9, 10, 11, 12, 13: six points, five rises
    series = [12, 8, 12, 8, 9, 10, 11, 12, 13, 10, 12, 10]
    assert not xmr(series).trend_of_7.any()


def test_flat_step_breaks_a_trend() -> None:
    series = [12, 8, 12, 8, 9, 10, 10, 11, 12, 13, 10, 12]  # a repeat in the middle
    assert not xmr(series).trend_of_7.any()


def test_two_of_three_near_limit_only() -> None:
    result = xmr(TWO_OF_THREE, direction="none")
    assert result.mean == pytest.approx(11.0)
    assert result.mr_bar == pytest.approx(31 / 19)
    np.testing.assert_array_equal(_only(result, "two_of_three_near_limit"), [10, 12])
    assert result.signal[10] == "neither"  # no direction: special cause is neither
    assert result.signal[11] == "common_cause"


def test_one_near_point_in_three_does_not_fire() -> None:
    series = [10, 11] * 5 + [15, 11, 10, 11] + [10, 11] * 3
    assert not xmr(series).two_of_three_near_limit.any()


def test_several_rules_at_one_point() -> None:
    # A level shift: 8 low points then 8 high ones well away -> runs, and points near limits
    series = [10, 10.5] * 4 + [14, 14.5] * 4
    result = xmr(series, direction="lower_is_better")
    assert result.run_of_7.all()
    assert "run_of_7" in result.rules[0]
    assert result.signal[0] == "improvement" and result.signal[-1] == "concern"


def test_constant_series_fires_nothing() -> None:
    result = xmr([0.1] * 12)  # the mean is not bit-identical to 0.1
    assert result.mr_bar == 0.0
    assert not result.special_cause.any()


def test_xmr_skips_nan_and_handles_tiny_series() -> None:
    with_gap = xmr([*OUTSIDE[:5], np.nan, *OUTSIDE[5:]])
    assert with_gap.outside_limits[12]
    assert with_gap.rules[5] == "" and with_gap.signal[5] == ""
    single = xmr([5.0])
    assert np.isnan(single.ucl) and not single.special_cause.any()


# --- the frame version ------------------------------------------------------------------

MONTHS = pl.date_range(dt.date(2022, 1, 1), dt.date(2023, 12, 1), "1mo", eager=True)


def _series_frame(series: dict[str, list[float | None]], direction: str) -> pl.DataFrame:
    rows = []
    for code, values in series.items():
        for month, value in zip(MONTHS, values, strict=False):
            rows.append(
                {
                    "org_code": code,
                    "month": month,
                    "numerator": value,
                    "denominator": None if value is None else 1000.0,
                    "value": value,
                }
            )
    return pl.DataFrame(rows).with_columns(
        org_level=pl.lit("practice"),
        comparator_id=pl.lit("opioid_items"),
        variant=pl.lit("standard"),
        denominator_type=pl.lit("patients"),
        window=pl.lit("1m"),
        scale=pl.lit(1000.0),
        kind=pl.lit("rate"),
        direction=pl.lit(direction),
        list_size=pl.lit(5000, dtype=pl.Int64),
    )


def _frame_result(out: pl.DataFrame, code: str) -> pl.DataFrame:
    return out.filter(pl.col("org_code") == code).sort("month")


@pytest.mark.parametrize(
    ("series", "rule", "points"),
    [
        (OUTSIDE, "outside_limits", [11]),
        (RUN, "run_of_7", [5, 6, 7, 8, 9, 10, 11]),
        (TREND, "trend_of_7", [3, 4, 5, 6, 7, 8, 9]),
        (TWO_OF_THREE, "two_of_three_near_limit", [10, 12]),
        (QUIET, None, []),
    ],
)
def test_frame_spc_matches_hand_series(
    series: list[float], rule: str | None, points: list[int]
) -> None:
    out = practice_statistics(_series_frame({"P1": series}, "lower_is_better"))
    got = _frame_result(out, "P1")
    flagged = np.flatnonzero(got["spc_special_cause"].to_numpy())
    np.testing.assert_array_equal(flagged, points)
    rules = got["spc_rules"].to_list()
    assert all(rules[i] == rule for i in points)
    assert all(rules[i] == "" for i in range(len(series)) if i not in points)
    assert got["spc_mean"][0] == pytest.approx(np.mean(series))
    mr_bar = np.mean(np.abs(np.diff(series)))
    assert got["spc_ucl"][0] == pytest.approx(np.mean(series) + 2.66 * mr_bar)
    assert got["spc_lcl"][0] == pytest.approx(np.mean(series) - 2.66 * mr_bar)


def test_frame_spc_direction_none_reports_neither() -> None:
    out = practice_statistics(_series_frame({"P1": OUTSIDE}, "none"))
    signals = _frame_result(out, "P1")["spc_signal"].to_list()
    assert signals[11] == "neither"
    assert set(signals[:11]) == {"common_cause"}


def test_frame_spc_needs_minimum_points() -> None:
    frame = _series_frame({"SHORT": OUTSIDE[:11], "LONG": OUTSIDE}, "lower_is_better")
    out = practice_statistics(frame)
    short = _frame_result(out, "SHORT")
    for column in (
        "spc_mean",
        "spc_ucl",
        "spc_lcl",
        "spc_special_cause",
        "spc_rules",
        "spc_signal",
    ):
        assert short[column].null_count() == 11, column
    assert _frame_result(out, "LONG")["spc_mean"].null_count() == 0
    # the minimum is configurable
    relaxed = practice_statistics(frame, spc_min_points=11)
    assert _frame_result(relaxed, "SHORT")["spc_mean"].null_count() == 0


def test_frame_spc_only_on_monthly_window() -> None:
    monthly = _series_frame({"P1": OUTSIDE}, "lower_is_better")
    rolling = monthly.with_columns(window=pl.lit("3m"))
    out = practice_statistics(pl.concat([monthly, rolling]))
    assert out.filter(pl.col("window") == "3m")["spc_mean"].null_count() == len(OUTSIDE)
    assert out.filter(pl.col("window") == "1m")["spc_mean"].null_count() == 0


def test_frame_spc_skips_null_months_like_the_helper() -> None:
    values: list[float | None] = [*OUTSIDE[:4], None, *OUTSIDE[4:]]
    out = practice_statistics(_series_frame({"P1": values}, "lower_is_better"))
    got = _frame_result(out, "P1")
    assert got["spc_mean"][4] is None  # the null month itself has no SPC fields
    helper = xmr([np.nan if v is None else v for v in values], direction="lower_is_better")
    assert got["spc_ucl"][0] == pytest.approx(helper.ucl)
    np.testing.assert_array_equal(
        got["spc_special_cause"].fill_null(False).to_numpy(), helper.special_cause
    )


@pytest.mark.parametrize("direction", ["lower_is_better", "higher_is_better", "none"])
def test_frame_spc_agrees_with_helper_on_random_series(direction: str) -> None:
    rng = np.random.default_rng(7)
    series: dict[str, list[float | None]] = {}
    for p in range(150):
        base = rng.gamma(4, 5)
        walk = base + np.cumsum(rng.normal(0, 1, 24)) * rng.choice([0.2, 1.0, 3.0])
        values: list[float | None] = list(np.round(walk, rng.choice([0, 1, 3])))
        for gap in rng.choice(24, size=rng.integers(0, 4), replace=False):
            values[gap] = None
        if p % 10 == 0:
            values[5:12] = [values[4]] * 7  # flat stretches and ties
        series[f"P{p:03d}"] = values
    out = practice_statistics(_series_frame(series, direction))
    for code, values in series.items():
        got = _frame_result(out, code)
        arr = np.array([np.nan if v is None else v for v in values], dtype=float)
        if np.count_nonzero(~np.isnan(arr)) < 12:
            assert got["spc_mean"].null_count() == len(values)
            continue
        helper = xmr(arr, direction=direction)
        present = ~np.isnan(arr)
        assert got["spc_mean"].to_numpy()[present] == pytest.approx(
            np.full(present.sum(), helper.mean)
        )
        assert got["spc_ucl"].to_numpy()[present] == pytest.approx(
            np.full(present.sum(), helper.ucl)
        )
        np.testing.assert_array_equal(
            got["spc_special_cause"].to_numpy()[present],
            helper.special_cause[present],
            err_msg=code,
        )
        assert [r for r, ok in zip(got["spc_rules"].to_list(), present, strict=True) if ok] == [
            r for r, ok in zip(helper.rules, present, strict=True) if ok
        ], code
        assert [s for s, ok in zip(got["spc_signal"].to_list(), present, strict=True) if ok] == [
            s for s, ok in zip(helper.signal, present, strict=True) if ok
        ], code
