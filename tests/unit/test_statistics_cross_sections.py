"""Cross-sectional statistics in SQL: practice statistics, deciles, organisation ranks.

The product's statistics SQL runs on hand-made value frames (``tests/stats_sql.py``);
every statistic is recomputed here group by group with independent tools (numpy
percentiles, scipy ranks, the reference functions in ``tests/oracles``, the formulas
written out) and compared with the SQL's output.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from scipy.stats import rankdata

from tests.oracles.stats_reference import DECILES, Z95, Z998, funnel_limits, overdispersion
from tests.stats_sql import (
    ORGANISATION_STAT_COLUMNS,
    PRACTICE_STAT_COLUMNS,
    national_deciles,
    organisation_deciles,
    organisation_statistics,
    practice_statistics,
)

KEY = ["comparator_id", "variant", "denominator_type", "window"]
FLOAT_COLUMNS = [
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
    "z_score",
    "phi",
    "tau2",
    "value_12m_ago",
    "change_abs",
    "change_rel",
    "spc_mean",
    "spc_ucl",
    "spc_lcl",
]


def _row(
    code: str,
    month: dt.date,
    num: float | None,
    den: float | None,
    *,
    list_size: int | None = 5000,
    comparator: str = "opioid_items",
    variant: str = "standard",
    window: str = "1m",
    kind: str = "rate",
    scale: float = 1000.0,
    direction: str = "lower_is_better",
    level: str = "practice",
) -> dict[str, object]:
    value = None if num is None or not den else scale * num / den
    return {
        "org_level": level,
        "org_code": code,
        "month": month,
        "comparator_id": comparator,
        "variant": variant,
        "denominator_type": "patients",
        "window": window,
        "numerator": num,
        "denominator": den,
        "value": value,
        "scale": scale,
        "kind": kind,
        "direction": direction,
        "list_size": list_size if level == "practice" else None,
    }


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "org_level": pl.String,
            "org_code": pl.String,
            "month": pl.Date,
            "comparator_id": pl.String,
            "variant": pl.String,
            "denominator_type": pl.String,
            "window": pl.String,
            "numerator": pl.Float64,
            "denominator": pl.Float64,
            "value": pl.Float64,
            "scale": pl.Float64,
            "kind": pl.String,
            "direction": pl.String,
            "list_size": pl.Int64,
        },
    )


def _month(i: int) -> dt.date:
    return dt.date(2021 + i // 12, i % 12 + 1, 1)


def _synthetic(n_practices: int = 120, n_months: int = 26, seed: int = 3) -> pl.DataFrame:
    """Practices x months x three keys (a rate, a proportion, a 3-month window)."""
    rng = np.random.default_rng(seed)
    rows = []
    sizes = rng.integers(400, 20_000, n_practices)
    sizes[:3] = [999, 1000, 1001]  # around the threshold
    for p in range(n_practices):
        code = f"P{p:04d}"
        propensity = rng.gamma(6, 1 / 6)
        for m in range(n_months):
            month = _month(m)
            size = int(sizes[p])
            items = float(rng.poisson(size * 0.012 * propensity))
            if p == 5 and m in (3, 4):
                size_den: float | None = 0.0  # zero denominator -> no value
            elif p == 6 and m == 7:
                size_den = None
            else:
                size_den = float(size)
            rows.append(_row(code, month, items, size_den, list_size=size))
            long_acting = float(rng.poisson(size * 0.004) + 1)
            high = float(rng.binomial(int(long_acting), min(0.9, 0.2 * propensity)))
            rows.append(
                _row(
                    code,
                    month,
                    high,
                    long_acting,
                    list_size=size,
                    comparator="high_dose_share",
                    variant="90mg",
                    kind="proportion",
                    scale=100.0,
                )
            )
            rows.append(_row(code, month, items * 3, float(size) * 3, list_size=size, window="3m"))
    return _frame(rows)


@pytest.fixture(scope="module")
def synthetic() -> pl.DataFrame:
    return _synthetic()


@pytest.fixture(scope="module")
def stats(synthetic: pl.DataFrame) -> pl.DataFrame:
    return practice_statistics(synthetic)


def _groups(frame: pl.DataFrame) -> list[tuple[tuple, pl.DataFrame]]:
    return [
        (key, group.sort("org_code"))
        for key, group in frame.group_by(["month", *KEY], maintain_order=True)
    ]


# --- shape and contract ------------------------------------------------------------------


def test_columns_and_rows(synthetic: pl.DataFrame, stats: pl.DataFrame) -> None:
    assert stats.columns == [*synthetic.columns, *PRACTICE_STAT_COLUMNS]
    assert stats.height == synthetic.height
    # every input row found its statistics (eligible is never null on a stored row)
    assert stats["eligible"].null_count() == 0


def test_no_nan_or_infinity_anywhere(stats: pl.DataFrame) -> None:
    for column in FLOAT_COLUMNS:
        series = stats[column]
        assert series.dtype == pl.Float64, column
        assert not series.is_nan().any(), column
        assert not series.is_infinite().any(), column


def test_dtypes(stats: pl.DataFrame) -> None:
    assert stats["eligible"].dtype == pl.Boolean
    assert stats["small_practice"].dtype == pl.Boolean
    assert stats["spc_special_cause"].dtype == pl.Boolean
    for column in ("funnel_flag", "od_funnel_flag", "spc_rules", "spc_signal"):
        assert stats[column].dtype == pl.String


# --- eligibility, ranks -------------------------------------------------------------------


def test_eligibility_and_small_practices(stats: pl.DataFrame) -> None:
    by_code = {code: g for (code,), g in stats.group_by(["org_code"])}
    assert not by_code["P0000"]["eligible"].any()  # 999 < 1000
    assert by_code["P0000"]["small_practice"].all()
    assert by_code["P0001"]["eligible"].all()  # exactly 1000 is enough
    assert not by_code["P0001"]["small_practice"].any()
    small = by_code["P0000"]
    assert small["percentile_rank"].null_count() == small.height
    assert small["funnel_flag"].null_count() == small.height
    assert small["z_score"].null_count() == small.height
    # limits are still there, so a small practice can be drawn on the funnel plot
    assert small["funnel_upper_998"].null_count() == 0


def test_zero_and_null_denominators(stats: pl.DataFrame) -> None:
    zero = stats.filter((pl.col("org_code") == "P0005") & (pl.col("denominator") == 0))
    assert zero.height == 2
    assert zero["value"].null_count() == 2
    assert not zero["eligible"].any()
    for column in ("percentile_rank", "funnel_upper_95", "funnel_flag", "z_score", "spc_mean"):
        assert zero[column].null_count() == 2, column
    missing = stats.filter((pl.col("org_code") == "P0006") & pl.col("denominator").is_null())
    assert missing.height == 1 and not missing["eligible"].any()


def test_percentile_rank_matches_scipy(stats: pl.DataFrame) -> None:
    for _, group in _groups(stats):
        eligible = group.filter(pl.col("eligible"))
        x = eligible["value"].to_numpy()
        expected = (rankdata(x, method="min") - 1) / (len(x) - 1) * 100 if len(x) > 1 else [0.0]
        np.testing.assert_allclose(eligible["percentile_rank"].to_numpy(), expected, rtol=1e-12)


def test_percentile_rank_ties_single_practice() -> None:
    month = _month(0)
    rows = [
        _row("A", month, 10, 1000),
        _row("B", month, 20, 2000),  # same value as A
        _row("C", month, 5, 1000),
        _row("D", month, 30, 1000),
        _row("E", month, 1, 100, list_size=100),  # small: not ranked
        _row("S", month, 3, 1000, comparator="lonely"),  # the only practice of its key
    ]
    out = practice_statistics(_frame(rows)).sort("org_code")
    ranks = dict(zip(out["org_code"], out["percentile_rank"], strict=True))
    assert ranks["C"] == 0.0
    assert ranks["A"] == ranks["B"] == pytest.approx(100 / 3)  # tie shares lowest rank
    assert ranks["D"] == 100.0
    assert ranks["E"] is None
    assert ranks["S"] == 0.0


# --- funnel -----------------------------------------------------------------------------


def test_funnel_matches_helpers_per_group(stats: pl.DataFrame) -> None:
    for key, group in _groups(stats):
        eligible = group.filter(pl.col("eligible"))
        kind = group["kind"][0]
        scale = group["scale"][0]
        num = eligible["numerator"].to_numpy()
        den = eligible["denominator"].to_numpy()
        phi, tau2 = overdispersion(num, den, kind)
        plain = funnel_limits(num, den, kind, scale)
        adjusted = funnel_limits(num, den, kind, scale, tau2=tau2)
        assert eligible["phi"].to_numpy() == pytest.approx(np.full(len(num), phi)), key
        assert eligible["tau2"].to_numpy() == pytest.approx(np.full(len(num), tau2)), key
        assert group["national_rate"].to_numpy() == pytest.approx(
            np.full(group.height, plain.national_rate)
        )
        for level in ("95", "998"):
            for side in ("lower", "upper"):
                np.testing.assert_allclose(
                    eligible[f"funnel_{side}_{level}"].to_numpy(),
                    getattr(plain, f"{side}_{level}"),
                    rtol=1e-9,
                )
                np.testing.assert_allclose(
                    eligible[f"od_{side}_{level}"].to_numpy(),
                    getattr(adjusted, f"{side}_{level}"),
                    rtol=1e-9,
                )
        np.testing.assert_allclose(eligible["z_score"].to_numpy(), plain.z, rtol=1e-9)


def test_funnel_flags_follow_the_998_limits(stats: pl.DataFrame) -> None:
    eligible = stats.filter(pl.col("eligible"))
    for prefix, flag in (("funnel", "funnel_flag"), ("od", "od_funnel_flag")):
        expected = (
            pl.when(pl.col("value") > pl.col(f"{prefix}_upper_998"))
            .then(pl.lit("high"))
            .when(pl.col("value") < pl.col(f"{prefix}_lower_998"))
            .then(pl.lit("low"))
            .otherwise(pl.lit("within"))
        )
        assert (eligible[flag] == eligible.select(expected).to_series()).all()
    # the adjustment is why it exists: fewer practices flagged than with plain limits
    plain = (eligible["funnel_flag"] != "within").sum()
    adjusted = (eligible["od_funnel_flag"] != "within").sum()
    assert adjusted < plain
    # proportions never exceed 100%, limits never below 0
    props = stats.filter(pl.col("kind") == "proportion")
    assert (props["funnel_upper_998"] <= 100).all() and (props["od_upper_998"] <= 100).all()
    assert (stats["funnel_lower_998"].drop_nulls() >= 0).all()


def test_funnel_hand_worked_group() -> None:
    # Five practices of 100 patients with 0, 5, 10, 15, 20 items: theta = 0.1 per patient
    # (100 per 1,000), s = sqrt(0.001); phi = 3.56 and tau2 = 0.00345 (see the helper test).
    month = _month(0)
    rows = [_row(f"P{i}", month, float(5 * i), 100.0, list_size=2000) for i in range(5)]
    out = practice_statistics(_frame(rows)).sort("org_code")
    assert out["national_rate"].to_list() == pytest.approx([100.0] * 5)
    assert out["phi"][0] == pytest.approx(3.56)
    assert out["tau2"][0] == pytest.approx(0.00345)
    s = math.sqrt(0.001)
    assert out["funnel_upper_95"][0] == pytest.approx(1000 * (0.1 + Z95 * s))
    assert out["funnel_upper_998"][0] == pytest.approx(1000 * (0.1 + Z998 * s))  # 197.72
    assert out["od_upper_998"][0] == pytest.approx(306.144, abs=1e-3)
    assert out["od_lower_998"][0] == 0.0
    # z = -sqrt(10), -sqrt(10)/2, 0, ...: 0 and 200 per 1,000 are outside 99.8% plain limits
    assert out["z_score"].to_list() == pytest.approx(
        [-math.sqrt(10), -math.sqrt(10) / 2, 0, math.sqrt(10) / 2, math.sqrt(10)]
    )
    assert out["funnel_flag"].to_list() == ["low", "within", "within", "within", "high"]
    assert out["od_funnel_flag"].to_list() == ["within"] * 5


def test_identical_values_and_single_practice_phi() -> None:
    month = _month(0)
    rows = [_row(f"P{i}", month, 5.0 * i, 100.0 * i, list_size=5000) for i in range(1, 5)]
    rows.append(_row("ONE", month, 7.0, 1000.0, comparator="alone"))
    rows.append(_row("Z1", month, 0.0, 1000.0, comparator="zeros"))
    rows.append(_row("Z2", month, 0.0, 2000.0, comparator="zeros"))
    out = practice_statistics(_frame(rows))
    same = out.filter(pl.col("comparator_id") == "opioid_items")
    assert same["phi"].to_numpy() == pytest.approx(np.zeros(4), abs=1e-20)
    assert (same["tau2"] == 0).all()
    assert (same["funnel_flag"] == "within").all()
    alone = out.filter(pl.col("comparator_id") == "alone")
    assert alone["phi"][0] == pytest.approx(0.0, abs=1e-20)
    assert alone["tau2"][0] == 0.0
    assert alone["national_rate"][0] == pytest.approx(7.0)
    # all zero: theta = 0, no z-scores, phi undefined (null), limits collapse to 0
    zeros = out.filter(pl.col("comparator_id") == "zeros")
    assert zeros["phi"].null_count() == 2
    assert (zeros["tau2"] == 0).all()
    assert zeros["z_score"].null_count() == 2
    assert (zeros["funnel_upper_998"] == 0).all()
    assert (zeros["funnel_flag"] == "within").all()


# --- change on a year earlier ---------------------------------------------------------


def test_change_against_twelve_months_earlier() -> None:
    rows = []
    # A: months 0..13; B: month 12 only has a year-earlier value of 0; C: a gap at month 1
    for m in range(14):
        rows.append(_row("A", _month(m), 10.0 + m, 1000.0))
    rows.append(_row("B", _month(0), 0.0, 1000.0))
    rows.append(_row("B", _month(12), 5.0, 1000.0))
    for m in (0, 2, 13):
        rows.append(_row("C", _month(m), 4.0, 1000.0))
    out = practice_statistics(_frame(rows))
    a = out.filter(pl.col("org_code") == "A").sort("month")
    assert a["value_12m_ago"][:12].null_count() == 12
    assert a["value_12m_ago"][12] == pytest.approx(10.0)
    assert a["value_12m_ago"][13] == pytest.approx(11.0)
    assert a["change_abs"][12] == pytest.approx(12.0)  # 22 - 10
    assert a["change_rel"][12] == pytest.approx(1.2)
    b = out.filter(pl.col("org_code") == "B").sort("month")
    assert b["value_12m_ago"][1] == 0.0
    assert b["change_abs"][1] == pytest.approx(5.0)
    assert b["change_rel"][1] is None  # no relative change on a zero base
    c = out.filter(pl.col("org_code") == "C").sort("month")
    assert c["value_12m_ago"].to_list() == [None, None, None]  # month 13 <- month 1 is missing
    assert c["change_rel"].null_count() == 3


def test_change_matches_a_join(synthetic: pl.DataFrame, stats: pl.DataFrame) -> None:
    earlier = synthetic.select(
        "org_code", *KEY, pl.col("month").dt.offset_by("12mo"), pl.col("value").alias("expected")
    )
    joined = stats.join(earlier, on=["org_code", *KEY, "month"], how="left")
    both = joined.select(
        (pl.col("value_12m_ago").is_null() == pl.col("expected").is_null()).all().alias("nulls"),
        ((pl.col("value_12m_ago") - pl.col("expected")).abs() < 1e-12).all().alias("values"),
    ).row(0)
    assert both == (True, True)


# --- inputs -------------------------------------------------------------------------------


def test_shuffled_input_gives_the_same_statistics(
    synthetic: pl.DataFrame, stats: pl.DataFrame
) -> None:
    shuffled = practice_statistics(synthetic.sample(fraction=1.0, shuffle=True, seed=11))
    order = ["org_code", *KEY, "month"]
    left = stats.sort(order)
    right = shuffled.sort(order)
    for column in left.columns:
        if left[column].dtype == pl.Float64:
            assert left[column].to_numpy() == pytest.approx(
                right[column].to_numpy(), nan_ok=True, rel=1e-12
            ), column
        else:
            assert left[column].equals(right[column]), column


def test_other_levels_ignored() -> None:
    month = _month(0)
    rows = [_row("P1", month, 1, 1000), _row("PCN1", month, 5, 3000, level="pcn")]
    out = practice_statistics(_frame(rows))
    assert out["org_code"].to_list() == ["P1"]


def test_empty_input() -> None:
    out = practice_statistics(_frame([]))
    assert out.height == 0
    assert out.columns[-len(PRACTICE_STAT_COLUMNS) :] == list(PRACTICE_STAT_COLUMNS)
    assert national_deciles(_frame([])).height == 0


# --- deciles ------------------------------------------------------------------------------


def test_national_deciles_match_numpy(synthetic: pl.DataFrame, stats: pl.DataFrame) -> None:
    deciles = national_deciles(synthetic)
    assert deciles.columns == [
        "month",
        *KEY,
        "percentile",
        "value",
        "n_practices",
    ]
    assert deciles["percentile"].unique().sort().to_list() == list(DECILES)
    checked = 0
    for key, group in _groups(stats):
        values = group.filter(pl.col("eligible"))["value"].to_numpy()
        got = deciles.filter(
            pl.all_horizontal([pl.col(c) == v for c, v in zip(["month", *KEY], key, strict=True)])
        ).sort("percentile")
        expected = np.percentile(values, DECILES, method="linear")
        np.testing.assert_allclose(got["value"].to_numpy(), expected, rtol=1e-12)
        assert (got["n_practices"] == len(values)).all()
        checked += 1
    assert checked == deciles.height // len(DECILES)


def test_deciles_skip_small_practices_and_respect_threshold() -> None:
    month = _month(0)
    rows = [_row(f"P{i}", month, float(i), 1000.0, list_size=3000) for i in range(11)]
    rows.append(_row("SMALL", month, 900.0, 1000.0, list_size=500))
    deciles = national_deciles(_frame(rows))
    # values 0..10 per 1,000: the 90th percentile of 0..10 is 9 exactly
    assert deciles.filter(pl.col("percentile") == 90)["value"][0] == pytest.approx(9.0)
    assert deciles["n_practices"][0] == 11
    lowered = national_deciles(_frame(rows), min_list_size=100)
    assert lowered["n_practices"][0] == 12


# --- organisations ------------------------------------------------------------------------


def test_organisation_statistics_rank_and_change() -> None:
    rng = np.random.default_rng(5)
    rows = []
    for level, count in (("pcn", 40), ("sub_icb", 12), ("icb", 6)):
        for o in range(count):
            for m in range(14):
                rows.append(
                    _row(f"{level}{o}", _month(m), float(rng.integers(0, 8)), 10_000.0, level=level)
                )
    rows.append(_row("P1", _month(0), 1.0, 1000.0))  # a practice: not returned
    rows.append(_row("E", _month(0), 1.0, 1000.0, level="england"))
    frame = _frame(rows)
    out = organisation_statistics(frame)
    assert out.columns == [*frame.columns, *ORGANISATION_STAT_COLUMNS]
    assert set(out["org_level"].unique()) == {"pcn", "sub_icb", "icb"}
    for _, group in out.group_by(["org_level", "month"]):
        x = group["value"].to_numpy()
        expected = (rankdata(x, method="min") - 1) / (len(x) - 1) * 100
        np.testing.assert_allclose(group["percentile_rank"].to_numpy(), expected, rtol=1e-12)
        assert (group["n_organisations"] == len(x)).all()
    pcn0 = out.filter(pl.col("org_code") == "pcn0").sort("month")
    assert pcn0["value_12m_ago"][12] == pytest.approx(pcn0["value"][0])
    deciles = organisation_deciles(frame)
    got = deciles.filter((pl.col("org_level") == "icb") & (pl.col("month") == _month(3)))
    values = out.filter((pl.col("org_level") == "icb") & (pl.col("month") == _month(3)))["value"]
    np.testing.assert_allclose(
        got.sort("percentile")["value"].to_numpy(),
        np.percentile(values.to_numpy(), DECILES, method="linear"),
    )
    assert (got["n_organisations"] == 6).all()


def test_unknown_list_size_is_not_eligible() -> None:
    month = _month(0)
    rows = [_row("A", month, 5, 1000), _row("B", month, 6, 1000, list_size=None)]
    out = practice_statistics(_frame(rows)).sort("org_code")
    assert out["eligible"].to_list() == [True, False]
    assert out["small_practice"].to_list() == [False, None]
    assert out["percentile_rank"].to_list() == [0.0, None]
    assert out["national_rate"].to_list() == pytest.approx([5.0, 5.0])


def test_empty_organisation_input() -> None:
    assert organisation_statistics(_frame([])).height == 0
    assert organisation_deciles(_frame([])).height == 0
