"""Comparator statistics: deciles, percentile ranks, funnel limits and SPC.

Frame functions (called by the pipeline, vectorised over all groups):

* :func:`practice_statistics` - per practice-month ranks, funnel limits and flags,
  over-dispersion, change on 12 months earlier and XmR/SPC signals;
* :func:`national_deciles` - deciles across eligible practices per month and key;
* :func:`organisation_statistics` / :func:`organisation_deciles` - ranks, change and
  deciles for PCNs, sub-ICB locations and ICBs;
* :func:`funnel_curve` - limit curves for drawing a funnel plot.

Pure numpy helpers for one group or one series, written straight from the definitions
and kept independent of the vectorised code so each checks the other:
:func:`percentile_cont`, :func:`percent_rank`, :func:`funnel_limits`,
:func:`overdispersion` and :func:`xmr`.

Choices, and why (details in each module):

* Eligible practice-month: non-null value, positive denominator, list size >=
  ``min_list_size`` (default 1,000; a null list size is not eligible). Deciles, ranks,
  the national rate and over-dispersion all use exactly this set.
* Deciles: ``PERCENTILE_CONT`` (linear, numpy ``"linear"``). Ranks: ``PERCENT_RANK`` x
  100, ties share the lowest rank, a lone practice ranks 0. Both match SQL, so readers can
  re-check published numbers in any SQL engine.
* Funnel limits: normal approximation, lower limit floored at 0, proportions capped at
  100%. Over-dispersion: Spiegelhalter, z winsorised at the 10th / 90th percentiles
  (linear interpolation, the same definition as the deciles); units with s = 0 are left
  out; with no z-scores phi is null and tau2 is 0. Flags use the 99.8% limits. Limits
  are given for small practices too (for plotting); flags and z only for eligible ones.
* Change: against the same practice and key exactly 12 months earlier (looked up by
  month, so gaps are safe); ``change_rel`` is a fraction, null on a zero or missing base.
* SPC (window "1m" only): XmR with centre = mean and limits mean +/- 2.66 mean(MR);
  rules ``outside_limits``, ``run_of_7`` (points on the mean break runs),
  ``trend_of_7`` (7 points = 6 consecutive moves, the Making Data Count convention; a
  repeat breaks it) and ``two_of_three_near_limit``; every point of a pattern is
  flagged. Signal by side of the mean: for lower-is-better, above = concern, below =
  improvement; direction "none" gives "neither". Null months are skipped; series with
  fewer than 12 non-null points (configurable) get null SPC fields.
* Outputs never hold NaN or infinity: anything undefined is null.
"""

from pipelines.stats._common import (
    DECILES,
    GROUP_COLUMNS,
    KEY_COLUMNS,
    XMR_CONSTANT,
    Z95,
    Z998,
    eligible_expr,
)
from pipelines.stats.frames import (
    ORGANISATION_STAT_COLUMNS,
    PRACTICE_STAT_COLUMNS,
    organisation_statistics,
    practice_statistics,
)
from pipelines.stats.funnel import (
    WINSOR_LOWER,
    WINSOR_UPPER,
    FunnelLimits,
    funnel_curve,
    funnel_limits,
    overdispersion,
)
from pipelines.stats.ranks import (
    ORGANISATION_LEVELS,
    national_deciles,
    organisation_deciles,
    percent_rank,
    percentile_cont,
)
from pipelines.stats.spc import RULES, SPC_MIN_POINTS, XmrResult, xmr

__all__ = [
    "DECILES",
    "GROUP_COLUMNS",
    "KEY_COLUMNS",
    "ORGANISATION_LEVELS",
    "ORGANISATION_STAT_COLUMNS",
    "PRACTICE_STAT_COLUMNS",
    "RULES",
    "SPC_MIN_POINTS",
    "WINSOR_LOWER",
    "WINSOR_UPPER",
    "XMR_CONSTANT",
    "Z95",
    "Z998",
    "FunnelLimits",
    "XmrResult",
    "eligible_expr",
    "funnel_curve",
    "funnel_limits",
    "national_deciles",
    "organisation_deciles",
    "organisation_statistics",
    "overdispersion",
    "percent_rank",
    "percentile_cont",
    "practice_statistics",
    "xmr",
]
