"""Statistical process control: XmR charts with the NHS "Making Data Count" rules.

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

from pipelines.stats._common import XMR_CONSTANT

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Rule names in the order they appear in ``spc_rules``.
RULES: tuple[str, ...] = ("outside_limits", "run_of_7", "trend_of_7", "two_of_three_near_limit")

#: Default minimum number of non-null points for a series to get SPC limits.
SPC_MIN_POINTS: int = 12
RUN_LENGTH: int = 7
TREND_POINTS: int = 7

#: Deviations from the mean smaller than this fraction of |mean| count as "on the mean".
#: The mean of a constant series is not always bit-identical to its values (0.1 twelve
#: times sums to 1.2000000000000002), and without a tolerance a flat series would be
#: read as a run of 7 above the mean.
SIDE_TOLERANCE: float = 1e-9


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


SPC_COLUMNS: tuple[str, ...] = (
    "spc_mean",
    "spc_ucl",
    "spc_lcl",
    "spc_special_cause",
    "spc_rules",
    "spc_signal",
)

#: Labels of the signal codes (index = code).
SIGNAL_LABELS: tuple[str, ...] = ("common_cause", "improvement", "concern", "neither")

#: ``spc_rules`` text for each combination of rules, indexed by a 4-bit code
#: (bit i set when ``RULES[i]`` fired).
RULE_COMBINATIONS: tuple[str, ...] = tuple(
    ",".join(rule for bit, rule in enumerate(RULES) if code >> bit & 1) for code in range(16)
)


def _shift(x: np.ndarray, by: int, fill: object) -> np.ndarray:
    """``x`` moved down ``by`` places (up for negative ``by``), padded with ``fill``."""
    out = np.empty_like(x)
    if by > 0:
        out[:by] = fill
        out[by:] = x[:-by]
    elif by < 0:
        out[by:] = fill
        out[:by] = x[-by:]
    else:
        out[:] = x
    return out


def _run_lengths(breaks: BoolArray) -> npt.NDArray[np.int64]:
    """Length of the run each element belongs to; a run starts wherever ``breaks``."""
    run = np.cumsum(breaks) - 1
    return np.bincount(run)[run]


def grouped_xmr(
    y: FloatArray,
    series: npt.NDArray[np.int64],
    better: FloatArray,
    min_points: int = SPC_MIN_POINTS,
    run_length: int = RUN_LENGTH,
    trend_points: int = TREND_POINTS,
) -> dict[str, np.ndarray]:
    """XmR for many series at once, laid end to end in one sorted array.

    ``y`` holds the (non-NaN) points of every series, grouped by ``series`` id and in time
    order within each; ``better`` is -1 where lower is better, +1 where higher is better,
    0 for no direction. "The previous point of the same series" is simply the previous
    element when its series id matches, so every per-series window becomes a whole-array
    shift, and every run (of sides, of moves) a segment of a cumulative sum that starts
    again at each series boundary. This is the vectorised twin of :func:`xmr`, which the
    tests hold it to.

    Returns arrays aligned with ``y``: ``keep`` (series long enough), ``spc_mean``,
    ``spc_ucl``, ``spc_lcl``, ``spc_special_cause``, ``rule_code`` (index into
    :data:`RULE_COMBINATIONS`) and ``signal_code`` (index into :data:`SIGNAL_LABELS`).
    """
    n = y.size
    start = np.ones(n, dtype=bool)
    start[1:] = series[1:] != series[:-1]
    segment = np.cumsum(start) - 1
    counts = np.bincount(segment)
    keep = counts[segment] >= max(min_points, 2)
    same_prev = ~start
    same_next = _shift(same_prev, -1, False)
    same_prev2 = same_prev & _shift(same_prev, 1, False)

    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (np.bincount(segment, weights=y) / counts)[segment]
        step = y - _shift(y, 1, np.nan)
        moving_range = np.where(same_prev, np.abs(step), 0.0)
        mr_bar = (np.bincount(segment, weights=moving_range) / (counts - 1))[segment]
    half = XMR_CONSTANT * mr_bar
    deviation = y - mean
    deviation[np.abs(deviation) <= SIDE_TOLERANCE * np.abs(mean)] = 0.0
    side = np.sign(deviation)

    outside = (deviation > half) | (deviation < -half)
    run = (side != 0) & (_run_lengths(start | (side != _shift(side, 1, np.nan))) >= run_length)

    move = np.where(same_prev, np.sign(step), 0.0)
    move_len = _run_lengths(start | (move != _shift(move, 1, np.nan)))
    trend_move = (move != 0) & (move_len >= trend_points - 1)
    trend_next = _shift(trend_move, -1, False) & same_next
    trend = trend_move | trend_next
    trend_side = np.where(trend_move, move, np.where(trend_next, _shift(move, -1, 0.0), 0.0))

    two_of_three = np.zeros(n, dtype=bool)
    for near in (deviation > 2.0 / 3.0 * half, deviation < -2.0 / 3.0 * half):
        count = near.astype(np.int64)
        # Near-limit points in the full 3-point window ending at each element.
        window = np.where(same_prev2, count + _shift(count, 1, 0) + _shift(count, 2, 0), 0)
        hit = window >= 2
        # A near point is flagged if a qualifying window ends at it or at one of the next
        # two points; a window ending two places on only qualifies inside the same series.
        two_of_three |= near & (hit | _shift(hit, -1, False) | _shift(hit, -2, False))

    rule_code = (
        outside.astype(np.int64)
        | run.astype(np.int64) << 1
        | trend.astype(np.int64) << 2
        | two_of_three.astype(np.int64) << 3
    )
    special = rule_code > 0
    effective_side = np.where(side != 0, side, trend_side)
    signal_code = np.where(
        ~special,
        0,
        np.where(better == 0, 3, np.where(effective_side * better > 0, 1, 2)),
    )
    return {
        "keep": keep,
        "spc_mean": mean,
        "spc_ucl": mean + half,
        "spc_lcl": mean - half,
        "spc_special_cause": special,
        "rule_code": rule_code,
        "signal_code": signal_code,
    }
