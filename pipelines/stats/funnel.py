"""Funnel-plot limits and Spiegelhalter over-dispersion.

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from pipelines.stats._common import KINDS, Z95, Z998
from pipelines.stats.ranks import grouped_quantiles, percentile_cont

FloatArray = npt.NDArray[np.float64]

#: (suffix, z) for the two limit levels, in output order.
LEVELS: tuple[tuple[str, float], ...] = (("95", Z95), ("998", Z998))

#: Winsorising percentiles for the over-dispersion estimate (as fractions).
WINSOR_LOWER: float = 0.10
WINSOR_UPPER: float = 0.90


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
    :func:`~pipelines.stats.practice_statistics` (per 1,000 or percent) - so it can be
    passed straight through; it is divided by ``scale`` internally. Denominators are
    spaced geometrically between ``n_min`` and ``n_max`` because list sizes span orders of
    magnitude and the curves change fastest at small n.

    Returns ``n, funnel_lower_95, funnel_upper_95, funnel_lower_998, funnel_upper_998``
    and, when ``tau2`` (per-unit, as reported by ``practice_statistics``) is given, the
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


#: Labels of the funnel flag codes (index = code; -1 = null).
FLAG_LABELS: tuple[str, ...] = ("high", "low", "within")


def grouped_funnel(
    num: FloatArray,
    den: FloatArray,
    value: FloatArray,
    scale: FloatArray,
    proportion: npt.NDArray[np.bool_],
    eligible: npt.NDArray[np.bool_],
    group: npt.NDArray[np.int64],
    n_groups: int,
) -> dict[str, np.ndarray]:
    """Funnel and over-dispersion statistics for every group at once (numpy arrays).

    The vectorised twin of :func:`funnel_limits` / :func:`overdispersion`: group sums are
    ``bincount`` over the dense group id and the winsorising percentiles come from
    :func:`~pipelines.stats.ranks.grouped_quantiles`. Group-level results (national
    rate, phi, tau2) are repeated on every row of the group; limits are given for every
    row with a positive denominator (so small practices can still be drawn on the plot);
    z-scores and flags only for eligible rows. Flags are integer codes into
    :data:`FLAG_LABELS` (-1 for none).
    """
    has_den = den > 0  # False for NaN
    num_sum = np.bincount(group, weights=np.where(eligible, num, 0.0), minlength=n_groups)
    den_sum = np.bincount(group, weights=np.where(eligible, den, 0.0), minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta_group = np.where(den_sum > 0, num_sum / den_sum, np.nan)
        theta = theta_group[group]
        safe_den = np.where(has_den, den, np.nan)
        # Most blocks hold a single kind: skip the branch that no row needs.
        if not proportion.any():
            variance = theta / safe_den
        elif proportion.all():
            variance = theta * (1.0 - theta) / safe_den
        else:
            variance = np.where(proportion, theta * (1.0 - theta), theta) / safe_den
        variance[~(variance >= 0)] = np.nan  # a proportion above 1 has no binomial variance
        se = np.sqrt(variance)
        valid = eligible & (se > 0)
        z = np.where(valid, (num / safe_den - theta) / se, np.nan)

    bounds, n_z = grouped_quantiles(z, group, n_groups, (WINSOR_LOWER, WINSOR_UPPER))
    winsorised = np.clip(z, bounds[group, 0], bounds[group, 1])
    with np.errstate(divide="ignore"):
        weights = np.where(valid, 1.0 / variance, 0.0)
    sum_sq = np.bincount(
        group, weights=np.where(valid, winsorised * winsorised, 0.0), minlength=n_groups
    )
    sum_w = np.bincount(group, weights=weights, minlength=n_groups)
    sum_w2 = np.bincount(group, weights=weights * weights, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi_group = np.where(n_z > 0, sum_sq / n_z, np.nan)
        spread = np.where(sum_w > 0, sum_w - sum_w2 / sum_w, 0.0)
        over = (n_z * phi_group > n_z - 1) & (spread > 0)
        tau2_group = np.where(over, (n_z * phi_group - (n_z - 1)) / spread, 0.0)
    tau2 = tau2_group[group]

    scaled_theta = scale * theta
    out: dict[str, np.ndarray] = {
        "national_rate": scaled_theta,
        "z_score": z,
        "phi": phi_group[group],
        "tau2": tau2,
    }
    capped = bool(proportion.any())
    for prefix, scaled_sd in (
        ("funnel", scale * se),
        ("od", scale * np.sqrt(variance + tau2)),
    ):
        for suffix, zq in LEVELS:
            half_width = zq * scaled_sd
            lower = scaled_theta - half_width
            np.maximum(lower, 0.0, out=lower)
            upper = scaled_theta + half_width
            if capped:
                upper = np.where(proportion, np.minimum(upper, scale), upper)
            out[f"{prefix}_lower_{suffix}"] = lower
            out[f"{prefix}_upper_{suffix}"] = upper
    for prefix, name in (("funnel", "funnel_flag"), ("od", "od_funnel_flag")):
        upper = out[f"{prefix}_upper_998"]
        code = np.where(eligible & ~np.isnan(upper), 2, -1)
        code[eligible & (value > upper)] = 0
        code[eligible & (value < out[f"{prefix}_lower_998"])] = 1
        out[name] = code
    return out
