"""The reference (oracle) functions the SQL is tested against, against independent
computations.

Percentiles are checked against numpy's own ``method="linear"``, ranks against
``scipy.stats.rankdata``, and funnel / over-dispersion numbers are worked out by hand from
the formulas in the comments (the literals were derived on paper, not by running the code).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import rankdata

from tests.oracles.stats_reference import (
    Z95,
    Z998,
    funnel_curve,
    funnel_limits,
    overdispersion,
    percent_rank,
    percentile_cont,
)

# --- percentile_cont -------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 10, 101, 1000])
def test_percentile_cont_matches_numpy_linear(size: int) -> None:
    rng = np.random.default_rng(size)
    x = rng.gamma(2.0, 3.0, size)
    qs = np.linspace(0, 1, 21)
    expected = np.percentile(x, qs * 100, method="linear")
    np.testing.assert_allclose(percentile_cont(x, qs), expected, rtol=1e-12, atol=1e-12)


def test_percentile_cont_hand_example_and_ties() -> None:
    # Sorted [1, 2, 2, 4]; position (n-1) q = 3 * 0.5 = 1.5 -> 2 + 0.5 * (2 - 2) = 2.
    assert percentile_cont([4, 2, 1, 2], 0.5) == 2.0
    # q = 0.9 -> position 2.7 -> 2 + 0.7 * (4 - 2) = 3.4
    assert percentile_cont([4, 2, 1, 2], 0.9) == pytest.approx(3.4)


def test_percentile_cont_ignores_nan_and_handles_empty() -> None:
    assert percentile_cont([np.nan, 3.0, 1.0], 0.5) == 2.0
    assert math.isnan(percentile_cont([], 0.5))
    assert math.isnan(percentile_cont([np.nan], 0.1))
    with pytest.raises(ValueError):
        percentile_cont([1.0], 1.5)


# --- percent_rank ----------------------------------------------------------------------


def _scipy_percent_rank(x: np.ndarray) -> np.ndarray:
    """PERCENT_RANK * 100 from scipy's 'min' ranks (ties share the lowest rank)."""
    n = x.size
    if n == 1:
        return np.zeros(1)
    return (rankdata(x, method="min") - 1) / (n - 1) * 100


@pytest.mark.parametrize("seed", range(5))
def test_percent_rank_matches_scipy_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 20, 200).astype(float)  # plenty of ties
    np.testing.assert_allclose(percent_rank(x), _scipy_percent_rank(x), rtol=1e-12)


def test_percent_rank_hand_example() -> None:
    # values 5, 1, 5, 3 -> min ranks 3, 1, 3, 2 -> (r - 1) / 3 * 100
    np.testing.assert_allclose(percent_rank([5, 1, 5, 3]), [200 / 3, 0, 200 / 3, 100 / 3])


def test_percent_rank_single_value_all_equal_and_nan() -> None:
    np.testing.assert_array_equal(percent_rank([7.0]), [0.0])
    np.testing.assert_array_equal(percent_rank([2.0, 2.0, 2.0]), [0.0, 0.0, 0.0])
    result = percent_rank([np.nan, 1.0, 2.0])
    assert math.isnan(result[0])
    np.testing.assert_array_equal(result[1:], [0.0, 100.0])
    assert percent_rank([]).size == 0


# --- funnel_limits ---------------------------------------------------------------------


def test_funnel_limits_rate_hand_worked() -> None:
    # theta = (10 + 20 + 30) / (1000 + 2000 + 3000) = 0.01 per patient (10 per 1,000).
    limits = funnel_limits([10, 20, 30], [1000, 2000, 3000], "rate", 1000)
    assert limits.theta == pytest.approx(0.01)
    assert limits.national_rate == pytest.approx(10.0)
    # n = 1000: s = sqrt(0.01 / 1000) = 0.00316227766
    s = math.sqrt(0.01 / 1000)
    assert limits.se[0] == pytest.approx(0.00316227766)
    # 95%: 0.01 +/- 1.959964 * 0.00316227766 = 0.01 +/- 0.00619795 -> 3.80205, 16.19795 per 1,000
    assert limits.lower_95[0] == pytest.approx(3.80205, abs=1e-5)
    assert limits.upper_95[0] == pytest.approx(16.19795, abs=1e-5)
    # 99.8%: 0.01 +/- 3.090232 * 0.00316227766 = 0.01 +/- 0.00977217 -> 0.22783, 19.77217
    assert limits.lower_998[0] == pytest.approx(0.22783, abs=1e-5)
    assert limits.upper_998[0] == pytest.approx(19.77217, abs=1e-5)
    assert limits.upper_998[0] == pytest.approx(1000 * (0.01 + Z998 * s))
    # n = 3000 uses its own s: sqrt(0.01 / 3000)
    assert limits.upper_95[2] == pytest.approx(1000 * (0.01 + Z95 * math.sqrt(0.01 / 3000)))
    # every y equals theta here, so every z is 0
    np.testing.assert_allclose(limits.z, 0.0, atol=1e-9)


def test_funnel_limits_rate_lower_floored_at_zero() -> None:
    # theta = 2 / 200 = 0.01; n = 100: 0.01 - 3.090232 * sqrt(0.0001) = 0.01 - 0.0309 < 0
    limits = funnel_limits([1, 1], [100, 100], "rate", 1000)
    assert limits.lower_998[0] == 0.0
    assert limits.lower_95[0] == 0.0
    assert limits.upper_998[0] == pytest.approx(1000 * (0.01 + Z998 * 0.01))


def test_funnel_limits_proportion_hand_worked() -> None:
    # p = (20 + 30) / 200 = 0.25; n = 100: s = sqrt(0.25 * 0.75 / 100) = 0.0433013
    limits = funnel_limits([20, 30], [100, 100], "proportion", 100)
    assert limits.national_rate == pytest.approx(25.0)
    # 95%: 0.25 +/- 1.959964 * 0.0433013 = 0.25 +/- 0.0848689 -> 16.51311 %, 33.48689 %
    assert limits.lower_95[0] == pytest.approx(16.51311, abs=1e-4)
    assert limits.upper_95[0] == pytest.approx(33.48689, abs=1e-4)
    # z for the first unit: (0.20 - 0.25) / 0.0433013 = -1.1547
    assert limits.z[0] == pytest.approx(-1.1547005, abs=1e-6)


def test_funnel_limits_proportion_capped_at_scale() -> None:
    # p = 199 / 200 = 0.995; n = 100: 0.995 + 3.090232 * sqrt(0.995 * 0.005 / 100) = 1.0168 -> cap
    limits = funnel_limits([99, 100], [100, 100], "proportion", 100)
    assert limits.upper_998[0] == 100.0
    assert limits.lower_998[0] == pytest.approx(
        100 * (0.995 - Z998 * math.sqrt(0.995 * 0.005 / 100))
    )


def test_funnel_limits_zero_denominator_is_nan_never_inf() -> None:
    limits = funnel_limits([5, 3, 1], [100, 0, np.nan], "rate", 1000)
    for field in ("value", "se", "z", "lower_95", "upper_95", "lower_998", "upper_998"):
        arr = getattr(limits, field)
        assert not np.isinf(arr).any(), field
        assert np.isnan(arr[1]) and np.isnan(arr[2]), field
    assert limits.theta == pytest.approx(0.05)  # only the first unit counts


def test_funnel_limits_with_tau2_widens() -> None:
    # s^2 = 0.1 / 100 = 0.001; with tau2 = 0.00345: sqrt(0.00445) = 0.0667083
    limits = funnel_limits([10, 10], [100, 100], "rate", 1000, tau2=0.00345)
    assert limits.upper_998[0] == pytest.approx(1000 * (0.1 + Z998 * 0.0667083), abs=1e-3)
    assert limits.upper_998[0] == pytest.approx(306.144, abs=1e-3)


def test_funnel_limits_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError):
        funnel_limits([1], [1], "ratio", 1)


# --- overdispersion --------------------------------------------------------------------


def test_overdispersion_hand_worked() -> None:
    # Five units of n = 100 with 0, 5, 10, 15, 20 events: theta = 50 / 500 = 0.1,
    # s = sqrt(0.1 / 100) = sqrt(0.001), z = (y - 0.1) / s = -sqrt(10), -sqrt(10)/2, 0, +.., +..
    # Winsorising (linear percentiles, position 4 * 0.1 = 0.4):
    #   q10 = -sqrt(10) + 0.4 * (sqrt(10)/2) = -0.8 sqrt(10), so q10^2 = 6.4; q90 likewise.
    # Winsorised z^2 = 6.4, 2.5, 0, 2.5, 6.4 -> phi = 17.8 / 5 = 3.56.
    # n phi = 17.8 > n - 1 = 4; w = 1 / 0.001 = 1000 each:
    #   sum w - sum w^2 / sum w = 5000 - 5e6 / 5000 = 4000 -> tau2 = 13.8 / 4000 = 0.00345
    phi, tau2 = overdispersion([0, 5, 10, 15, 20], [100] * 5, "rate")
    assert phi == pytest.approx(3.56)
    assert tau2 == pytest.approx(0.00345)


def test_overdispersion_no_excess_gives_zero_tau2() -> None:
    # z = (-1, 0, +1) scaled: 9, 10, 11 events in 1000 -> theta = 0.01, s = sqrt(1e-5),
    # z = -0.316, 0, 0.316; winsorised to +/-0.253 -> phi = 2 * 0.064 / 3 = 0.0427 < (n-1)/n
    phi, tau2 = overdispersion([9, 10, 11], [1000] * 3, "rate")
    assert phi == pytest.approx(2 * (0.8 * math.sqrt(0.1)) ** 2 / 3)
    assert tau2 == 0.0


def test_overdispersion_identical_values_phi_zero() -> None:
    # every practice at exactly 5% -> every z is 0
    phi, tau2 = overdispersion([5, 10, 15, 20], [100, 200, 300, 400], "rate")
    assert phi == pytest.approx(0.0, abs=1e-20)
    assert tau2 == 0.0


def test_overdispersion_single_unit_and_no_unit() -> None:
    phi, tau2 = overdispersion([7], [100], "rate")
    assert phi == pytest.approx(0.0, abs=1e-20)
    assert tau2 == 0.0
    phi, tau2 = overdispersion([0, 0], [100, 100], "rate")  # theta 0: s = 0, no z-scores
    assert math.isnan(phi)
    assert tau2 == 0.0


def test_overdispersion_proportion_matches_formula() -> None:
    num = np.array([5.0, 20.0, 45.0, 10.0, 30.0, 60.0])
    den = np.array([100.0, 100.0, 150.0, 50.0, 120.0, 200.0])
    p = num.sum() / den.sum()
    s = np.sqrt(p * (1 - p) / den)
    z = (num / den - p) / s
    lo, hi = np.percentile(z, [10, 90], method="linear")
    phi_expected = np.mean(np.clip(z, lo, hi) ** 2)
    w = 1 / s**2
    tau2_expected = max(0.0, (6 * phi_expected - 5) / (w.sum() - (w**2).sum() / w.sum()))
    phi, tau2 = overdispersion(num, den, "proportion")
    assert phi == pytest.approx(phi_expected)
    assert tau2 == pytest.approx(tau2_expected)
    assert tau2 > 0


# --- funnel_curve ----------------------------------------------------------------------


def test_funnel_curve_columns_and_values() -> None:
    curve = funnel_curve(theta=10.0, kind="rate", scale=1000, n_min=500, n_max=50_000, points=5)
    assert curve.columns == [
        "n",
        "funnel_lower_95",
        "funnel_upper_95",
        "funnel_lower_998",
        "funnel_upper_998",
    ]
    n = curve["n"].to_numpy()
    np.testing.assert_allclose(n, [500, 500 * 10**0.5, 5000, 5000 * 10**0.5, 50_000])
    theta = 0.01
    expected = 1000 * (theta + Z998 * np.sqrt(theta / n))
    np.testing.assert_allclose(curve["funnel_upper_998"].to_numpy(), expected)
    assert (curve["funnel_lower_998"] >= 0).all()
    # limits narrow as n grows
    assert (np.diff(curve["funnel_upper_95"].to_numpy()) < 0).all()


def test_funnel_curve_matches_funnel_limits_and_od() -> None:
    curve = funnel_curve(25.0, "proportion", 100, 50, 500, points=3, tau2=0.002)
    assert "od_upper_998" in curve.columns
    n = curve["n"].to_numpy()
    p = 0.25
    expected = 100 * np.minimum(p + Z998 * np.sqrt(p * (1 - p) / n + 0.002), 1.0)
    np.testing.assert_allclose(curve["od_upper_998"].to_numpy(), expected)
    # the plain curve at n = 50 agrees with funnel_limits for a unit of 50 at p = 0.25
    single = funnel_limits([12.5, 12.5], [50, 50], "proportion", 100)
    assert curve["funnel_upper_95"][0] == pytest.approx(single.upper_95[0])


def test_funnel_curve_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        funnel_curve(10, "rate", 1000, 0, 10)
    with pytest.raises(ValueError):
        funnel_curve(10, "rate", 1000, 10, 5)
    with pytest.raises(ValueError):
        funnel_curve(10, "nope", 1000, 1, 5)
