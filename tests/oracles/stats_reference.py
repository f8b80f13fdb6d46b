"""Reference implementations of the comparator statistics, kept as test oracles.

The product computes every statistic in DuckDB SQL (``sql/statistics/``). These numpy
functions work on one group or one series at a time and are written straight from the
definitions, independently of the SQL, so the tests can hold the SQL to them:

* :func:`percentile_cont` and :func:`percent_rank` - deciles and percentile ranks;
* :func:`funnel_limits`, :func:`overdispersion` and :func:`funnel_curve` - funnel plots;
* :func:`xmr` - XmR charts with the four special-cause rules.

The constants are written out here too rather than imported from the product, so a
changed product constant shows up as a failing comparison.

Funnel plots
------------
Funnel-plot limits and Spiegelhalter over-dispersion.

A funnel plot compares each practice with the national figure while allowing for the
fact that small denominators are noisy: the control limits widen as the denominator
shrinks. The limits use the normal approximation

* rates (per 1,000):    theta +/- z * sqrt(theta / n)          (Poisson variance)
* proportions (percent): p +/- z * sqrt(p * (1 - p) / n)       (binomial variance)

with theta (or p) = sum(numerator) / sum(denominator) over the eligible practices of the
month and comparator key, n the practice's own denominator, and everything on the
per-unit scale before multiplying by ``scale`` (1000 or 100). The lower limit is floored at
0 and a proportion's upper limit is capped at ``scale``: neither bound can be crossed by a
real value, so truncating them changes no flag and keeps the plotted curves honest.

Prescribing rates vary between practices far more than Poisson noise alone explains (list
demography, care homes, local services), so plain limits flag a large share of practices.
The over-dispersion adjustment (Spiegelhalter 2005, as used by NHS funnel tools) widens
the limits by an additive between-practice variance tau^2:

1. z_i = (y_i - theta) / s_i, with y_i and s_i on the per-unit scale;
2. winsorise z at its 10th and 90th percentiles (values below the 10th percentile are set
   to it, above the 90th likewise), so a few extreme practices do not inflate the
   estimate. The percentiles use linear interpolation (``PERCENTILE_CONT``, numpy
   ``method="linear"``), the same definition as the published deciles;
3. phi = mean(winsorised z^2);
4. if n * phi > n - 1, tau^2 = (n * phi - (n - 1)) / (sum w - sum w^2 / sum w) with
   w_i = 1 / s_i^2; otherwise tau^2 = 0 (no evidence of over-dispersion);
5. adjusted limits theta +/- z * sqrt(s_i^2 + tau^2).

Units with s_i = 0 (theta of 0, or a proportion of exactly 0 or 1) have no defined
z-score and are left out of phi and tau^2; if no unit has a z-score, phi is undefined
(null / NaN) and tau^2 is 0, so the adjusted limits equal the plain ones.

SPC
---
Statistical process control: XmR charts with the NHS "Making Data Count" rules.

For one practice's monthly series y_1..y_n (a single comparator key, window "1m"):

* centre line = mean(y); moving range MR_i = |y_i - y_(i-1)|; limits = mean +/- 2.66 x
  mean(MR). The limits are not truncated at 0: a rate below 0 cannot occur, so a
  negative lower limit simply cannot be crossed.
* Special-cause rules, each flagging every point that forms the pattern:

  - ``outside_limits``: a point strictly above the upper or below the lower limit;
  - ``run_of_7``: 7 or more consecutive points strictly on the same side of the mean; a
    point exactly on the mean ends a run. All points of the run are flagged, including
    the first six (the run is judged with hindsight over the whole series);
  - ``trend_of_7``: 7 or more consecutive *points* each higher (or each lower) than the
    one before, i.e. 6 or more consecutive moves in one direction. This is the Making
    Data Count convention (a trend is counted in points, like a run); an unchanged value
    ends a trend. All points of the trend are flagged;
  - ``two_of_three_near_limit``: in some window of 3 consecutive points, at least 2 lie
    strictly beyond 2/3 of the way from the mean to the same limit (outside mean +/- 2/3
    x 2.66 x mean(MR) on one side, points beyond the limit included). The two (or three)
    points on that side are flagged; the remaining point of the window can lie anywhere.
    (Some tools additionally require all three points on the same side of the mean; the
    classic rule used here does not.)

* Classification of a special-cause point uses the comparator's direction and the side of
  the mean the point is on (for a trend point lying exactly on the mean, the direction of
  the trend): for ``lower_is_better`` above the mean is ``"concern"`` and below is
  ``"improvement"`` (reversed for ``higher_is_better``). A comparator with direction
  ``"none"`` has no better side, so its special causes are reported as ``"neither"``.
  Points with no special cause are ``"common_cause"``.

Missing (null) months are skipped: the remaining points are treated as consecutive.
Series with fewer than ``min_points`` non-null points (default 12, one year of monthly
data - fewer points give mean(MR) too unstable to set limits on) get null SPC fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

Z95: float = 1.959964
Z998: float = 3.090232
XMR_CONSTANT: float = 2.66
DECILES: tuple[int, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90)
KINDS: frozenset[str] = frozenset({"rate", "proportion"})
#: Winsorising percentiles for the over-dispersion estimate (as fractions).
WINSOR_LOWER: float = 0.10
WINSOR_UPPER: float = 0.90
#: Deviations from the mean smaller than this fraction of |mean| count as "on the mean".
#: The mean of a constant series is not always bit-identical to its values (0.1 twelve
#: times sums to 1.2000000000000002), and without a tolerance a flat series would be
#: read as a run of 7 above the mean.
SIDE_TOLERANCE: float = 1e-9
#: Rule names in the order they appear in ``spc_rules``.
RULES: tuple[str, ...] = ("outside_limits", "run_of_7", "trend_of_7", "two_of_three_near_limit")
SPC_MIN_POINTS: int = 12
RUN_LENGTH: int = 7
TREND_POINTS: int = 7


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


#: (suffix, z) for the two limit levels, in output order.
LEVELS: tuple[tuple[str, float], ...] = (("95", Z95), ("998", Z998))


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")


def _variance_per_unit(theta: float, n: FloatArray, kind: str) -> FloatArray:
    """Sampling variance of y = numerator / denominator around theta for denominator n."""
    _check_kind(kind)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "rate":
            return theta / n
        return theta * (1.0 - theta) / n


def _bounds(
    centre: float, spread: FloatArray, kind: str, scale: float
) -> tuple[FloatArray, FloatArray]:
    """Scale a per-unit centre +/- spread to published units, flooring and capping."""
    lower = np.maximum(centre - spread, 0.0)
    upper = centre + spread
    if kind == "proportion":
        upper = np.minimum(upper, 1.0)
    return scale * lower, scale * upper


@dataclass(frozen=True)
class FunnelLimits:
    """Funnel statistics for one month x comparator key (numpy arrays, NaN = missing).

    ``theta`` is per unit (a proportion, or a rate per patient); ``national_rate`` and
    every limit are in published units (``scale`` x per unit) like ``value``.
    """

    theta: float
    national_rate: float
    value: FloatArray
    se: FloatArray
    z: FloatArray
    lower_95: FloatArray
    upper_95: FloatArray
    lower_998: FloatArray
    upper_998: FloatArray


def _usable(num: FloatArray, den: FloatArray) -> npt.NDArray[np.bool_]:
    return np.isfinite(num) & np.isfinite(den) & (den > 0)


def _theta(num: FloatArray, den: FloatArray, usable: npt.NDArray[np.bool_]) -> float:
    total = den[usable].sum()
    return float(num[usable].sum() / total) if total > 0 else float("nan")


def funnel_limits(
    num: npt.ArrayLike,
    den: npt.ArrayLike,
    kind: str,
    scale: float,
    tau2: float = 0.0,
) -> FunnelLimits:
    """Plain (``tau2 = 0``) or over-dispersion adjusted funnel limits for one group.

    Every unit with a positive, finite denominator contributes to theta; pass only the
    eligible practices. Units with a zero, negative or missing denominator get NaN
    throughout (never infinity). ``z`` is the plain z-score (y - theta) / s, NaN where
    s = 0.
    """
    _check_kind(kind)
    numerator = np.asarray(num, dtype=np.float64)
    denominator = np.asarray(den, dtype=np.float64)
    usable = _usable(numerator, denominator)
    theta = _theta(numerator, denominator, usable)
    safe_den = np.where(usable, denominator, np.nan)
    variance = _variance_per_unit(theta, safe_den, kind)
    se = np.sqrt(np.where(variance >= 0, variance, np.nan))
    y = numerator / safe_den
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (y - theta) / se, np.nan)
    spread_base = np.sqrt(se**2 + tau2)
    limits: dict[str, FloatArray] = {}
    for suffix, zq in LEVELS:
        lower, upper = _bounds(theta, zq * spread_base, kind, scale)
        limits[f"lower_{suffix}"] = lower
        limits[f"upper_{suffix}"] = upper
    return FunnelLimits(
        theta=theta,
        national_rate=scale * theta,
        value=scale * y,
        se=se,
        z=z,
        **limits,
    )


def overdispersion(num: npt.ArrayLike, den: npt.ArrayLike, kind: str) -> tuple[float, float]:
    """Spiegelhalter's over-dispersion (phi, tau2) for one group of units.

    See the module docstring for the method. Returns ``(nan, 0.0)`` when no unit has a
    defined z-score, and ``tau2 = 0.0`` whenever ``n * phi <= n - 1``; ``tau2`` is on the
    per-unit variance scale (add it to s_i^2 before taking the square root).
    """
    limits = funnel_limits(num, den, kind, scale=1.0)
    valid = np.isfinite(limits.z)
    z = limits.z[valid]
    n = z.size
    if n == 0:
        return float("nan"), 0.0
    low, high = percentile_cont(z, [WINSOR_LOWER, WINSOR_UPPER])
    phi = float(np.mean(np.clip(z, low, high) ** 2))
    weights = 1.0 / limits.se[valid] ** 2
    spread = weights.sum() - (weights**2).sum() / weights.sum()
    if n * phi > n - 1 and spread > 0:
        return phi, float((n * phi - (n - 1)) / spread)
    return phi, 0.0


def funnel_curve(
    theta: float,
    kind: str,
    scale: float,
    n_min: float,
    n_max: float,
    points: int = 100,
    tau2: float | None = None,
) -> pl.DataFrame:
    """Limit curves for drawing a funnel plot.

    ``theta`` is the national figure in published units - the ``national_rate`` column of
    the published ``practice_statistics`` (per 1,000 or percent) - so it can be
    passed straight through; it is divided by ``scale`` internally. Denominators are
    spaced geometrically between ``n_min`` and ``n_max`` because list sizes span orders of
    magnitude and the curves change fastest at small n.

    Returns ``n, funnel_lower_95, funnel_upper_95, funnel_lower_998, funnel_upper_998``
    and, when ``tau2`` (per-unit, as published in ``practice_statistics``) is given, the
    matching ``od_*`` columns too.
    """
    _check_kind(kind)
    if not 0 < n_min <= n_max:
        raise ValueError("need 0 < n_min <= n_max")
    if points < 2:
        raise ValueError("points must be at least 2")
    if scale <= 0:
        raise ValueError("scale must be positive")
    centre = theta / scale
    n = np.geomspace(n_min, n_max, points)
    variance = _variance_per_unit(centre, n, kind)
    columns: dict[str, FloatArray] = {"n": n}
    adjustments = [("funnel", 0.0)]
    if tau2 is not None:
        adjustments.append(("od", tau2))
    for prefix, extra in adjustments:
        spread = np.sqrt(np.maximum(variance, 0.0) + extra)
        for suffix, zq in LEVELS:
            lower, upper = _bounds(centre, zq * spread, kind, scale)
            columns[f"{prefix}_lower_{suffix}"] = lower
            columns[f"{prefix}_upper_{suffix}"] = upper
    return pl.DataFrame(columns)


def _classify(special: bool, side: float, direction: str) -> str:
    """Improvement / concern / neither / common_cause for one point."""
    if not special:
        return "common_cause"
    if direction == "lower_is_better":
        return "concern" if side > 0 else "improvement"
    if direction == "higher_is_better":
        return "improvement" if side > 0 else "concern"
    return "neither"


@dataclass(frozen=True)
class XmrResult:
    """XmR statistics for one series. Arrays align with the input; NaN inputs get False.

    ``rules[i]`` is the comma-separated list of rules that fired at point i ("" for none)
    and ``signal[i]`` its classification ("" where the input was NaN).
    """

    mean: float
    mr_bar: float
    ucl: float
    lcl: float
    outside_limits: BoolArray
    run_of_7: BoolArray
    trend_of_7: BoolArray
    two_of_three_near_limit: BoolArray
    special_cause: BoolArray
    rules: list[str] = field(default_factory=list)
    signal: list[str] = field(default_factory=list)


def _runs(labels: npt.NDArray[np.int64]) -> list[tuple[int, int, int]]:
    """(start, stop, label) for each maximal block of equal consecutive labels."""
    blocks: list[tuple[int, int, int]] = []
    start = 0
    for i in range(1, labels.size + 1):
        if i == labels.size or labels[i] != labels[start]:
            blocks.append((start, i, int(labels[start])))
            start = i
    return blocks


def xmr(
    values: npt.ArrayLike,
    direction: str = "none",
    run_length: int = RUN_LENGTH,
    trend_points: int = TREND_POINTS,
) -> XmrResult:
    """XmR chart and the four special-cause rules for a single series.

    A straightforward point-by-point implementation kept deliberately independent of the
    vectorised frame version, so each can check the other. NaNs are dropped (the other
    points are treated as consecutive); with fewer than 2 points the limits are NaN and no
    rule fires. Applying a minimum series length is left to the caller.
    """
    raw = np.asarray(values, dtype=np.float64).ravel()
    present = ~np.isnan(raw)
    y = raw[present]
    n = y.size
    flags = {rule: np.zeros(n, dtype=bool) for rule in RULES}
    side = np.zeros(n, dtype=np.int64)
    trend_side = np.zeros(n, dtype=np.int64)
    if n >= 2:
        mean = float(y.mean())
        mr_bar = float(np.abs(np.diff(y)).mean())
        half = XMR_CONSTANT * mr_bar
        ucl, lcl = mean + half, mean - half
        deviation = y - mean
        deviation[np.abs(deviation) <= SIDE_TOLERANCE * abs(mean)] = 0.0
        near_hi = deviation > 2.0 / 3.0 * half
        near_lo = deviation < -2.0 / 3.0 * half
        side = np.sign(deviation).astype(np.int64)
        flags["outside_limits"] = (deviation > half) | (deviation < -half)
        for start, stop, label in _runs(side):
            if label != 0 and stop - start >= run_length:
                flags["run_of_7"][start:stop] = True
        # moves[j] is the direction from point j to point j + 1.
        moves = np.sign(np.diff(y)).astype(np.int64)
        for start, stop, label in _runs(moves):
            if label != 0 and stop - start >= trend_points - 1:
                flags["trend_of_7"][start : stop + 1] = True
                # A point ending one trend and starting another takes the earlier one.
                block = trend_side[start : stop + 1]
                block[block == 0] = label
        for near in (near_hi, near_lo):
            for first in range(n - 2):
                window = near[first : first + 3]
                if window.sum() >= 2:
                    flags["two_of_three_near_limit"][first : first + 3] |= window
    else:
        mean = float(y.mean()) if n else float("nan")
        mr_bar = ucl = lcl = float("nan")
    special = np.zeros(n, dtype=bool)
    for rule in RULES:
        special |= flags[rule]
    effective_side = np.where(side != 0, side, trend_side)
    rules_out = [""] * raw.size
    signal_out = [""] * raw.size
    positions = np.flatnonzero(present)
    for k, pos in enumerate(positions):
        rules_out[pos] = ",".join(rule for rule in RULES if flags[rule][k])
        signal_out[pos] = _classify(bool(special[k]), float(effective_side[k]), direction)

    def expand(mask: BoolArray) -> BoolArray:
        full = np.zeros(raw.size, dtype=bool)
        full[present] = mask
        return full

    return XmrResult(
        mean=mean,
        mr_bar=mr_bar,
        ucl=ucl,
        lcl=lcl,
        outside_limits=expand(flags["outside_limits"]),
        run_of_7=expand(flags["run_of_7"]),
        trend_of_7=expand(flags["trend_of_7"]),
        two_of_three_near_limit=expand(flags["two_of_three_near_limit"]),
        special_cause=expand(special),
        rules=rules_out,
        signal=signal_out,
    )
