"""The SQL statistics against the numpy reference functions on randomised inputs.

Each seed draws a fresh set of comparator keys with tiny and ordinary groups (1, 2, 3, 9
and 40 practices), integer numerators over a few repeated denominators (so values tie),
zero and null denominators, practices missing whole months, unknown and small list
sizes. Every cross-section is then recomputed with the oracles in ``tests/oracles`` and
compared with what the SQL published; every monthly series with SPC with :func:`xmr`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from tests.oracles.stats_reference import (
    DECILES,
    funnel_limits,
    overdispersion,
    percent_rank,
    percentile_cont,
    xmr,
)
from tests.stats_sql import national_deciles, practice_statistics

MONTHS = [dt.date(2021 + i // 12, i % 12 + 1, 1) for i in range(15)]
GROUP_SIZES = (1, 2, 3, 9, 40)


def _random_values(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for k, size in enumerate(GROUP_SIZES):
        kind = "proportion" if k % 2 else "rate"
        scale = 100.0 if kind == "proportion" else 1000.0
        direction = ("lower_is_better", "higher_is_better", "none")[k % 3]
        for window in ("1m", "3m"):
            for p in range(size):
                code = f"P{p:02d}"
                list_size = rng.choice(
                    [None, 500, 999, 1000, 4000, 9000], p=[0.05, 0.1, 0.05, 0.1, 0.4, 0.3]
                )
                for month in MONTHS:
                    if rng.random() < 0.08:
                        continue  # a null month: no row at all
                    den = float(rng.choice([0.0, 20.0, 50.0, 50.0, 200.0, 1000.0]))
                    if rng.random() < 0.05:
                        den = None
                    if kind == "proportion":
                        num = float(rng.binomial(int(den or 0), 0.3))
                    else:
                        num = float(rng.poisson((den or 100) * 0.02))
                    value = scale * num / den if den else None
                    rows.append((
                        "practice", code, month, f"key{k}", "standard", "patients", window,
                        num, den, value, scale, kind, direction,
                        None if list_size is None else int(list_size),
                    ))  # fmt: skip
    columns = {
        "org_level": pl.String, "org_code": pl.String, "month": pl.Date,
        "comparator_id": pl.String, "variant": pl.String, "denominator_type": pl.String,
        "window": pl.String, "numerator": pl.Float64, "denominator": pl.Float64,
        "value": pl.Float64, "scale": pl.Float64, "kind": pl.String, "direction": pl.String,
        "list_size": pl.Int64,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=columns, orient="row")


def _eligible(frame: pl.DataFrame) -> np.ndarray:
    den = frame["denominator"].fill_null(0).to_numpy()
    size = frame["list_size"].fill_null(0).to_numpy()
    return frame["value"].is_not_null().to_numpy() & (den > 0) & (size >= 1000)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cross_sections_match_the_oracles(seed: int) -> None:
    values = _random_values(seed)
    stats = practice_statistics(values)
    deciles = national_deciles(values)
    keys = ["comparator_id", "window", "month"]
    checked = 0
    for key, group in stats.group_by(keys, maintain_order=True):
        eligible = _eligible(group)
        np.testing.assert_array_equal(group["eligible"].to_numpy(), eligible)
        chosen = group.filter(pl.Series(eligible))
        kind, scale = group["kind"][0], group["scale"][0]
        num, den = chosen["numerator"].to_numpy(), chosen["denominator"].to_numpy()
        # ranks: PERCENT_RANK x 100 over eligible practices, ties sharing the lowest
        expected_rank = percent_rank(chosen["value"].to_numpy())
        np.testing.assert_allclose(chosen["percentile_rank"].to_numpy(), expected_rank, rtol=1e-12)
        assert group.filter(~pl.Series(eligible))["percentile_rank"].null_count() == (
            group.height - chosen.height
        )
        # deciles
        got = deciles.filter(
            pl.all_horizontal([pl.col(c) == v for c, v in zip(keys, key, strict=True)])
        ).sort("percentile")
        if chosen.height:
            expected = percentile_cont(chosen["value"].to_numpy(), np.array(DECILES) / 100)
            np.testing.assert_allclose(got["value"].to_numpy(), expected, rtol=1e-12)
            assert (got["n_practices"] == chosen.height).all()
        else:
            assert got.height == 0
        # funnel limits, plain and over-dispersed, and the z-scores
        if chosen.height:
            phi, tau2 = overdispersion(num, den, kind)
            plain = funnel_limits(num, den, kind, scale)
            adjusted = funnel_limits(num, den, kind, scale, tau2=tau2)
            assert group["national_rate"].to_numpy() == pytest.approx(
                np.full(group.height, plain.national_rate), nan_ok=True
            )
            assert chosen["tau2"].to_numpy() == pytest.approx(np.full(chosen.height, tau2))
            if np.isnan(phi):
                assert chosen["phi"].null_count() == chosen.height
            else:
                assert chosen["phi"].to_numpy() == pytest.approx(np.full(chosen.height, phi))
            for level in ("95", "998"):
                for side in ("lower", "upper"):
                    for prefix, limits in (("funnel", plain), ("od", adjusted)):
                        got_limit = chosen[f"{prefix}_{side}_{level}"].to_numpy().astype(float)
                        np.testing.assert_allclose(
                            got_limit, getattr(limits, f"{side}_{level}"), rtol=1e-9, atol=1e-12
                        )
            np.testing.assert_allclose(
                chosen["z_score"].to_numpy().astype(float), plain.z, rtol=1e-9, atol=1e-12
            )
        checked += 1
    assert checked > 100


@pytest.mark.parametrize("seed", [4, 5])
def test_change_and_spc_match_the_oracles(seed: int) -> None:
    values = _random_values(seed)
    stats = practice_statistics(values)
    lookup = {
        (r["org_code"], r["comparator_id"], r["window"], r["month"]): r["value"]
        for r in values.iter_rows(named=True)
    }
    for row in stats.iter_rows(named=True):
        month = row["month"]
        earlier = lookup.get(
            (
                row["org_code"],
                row["comparator_id"],
                row["window"],
                month.replace(year=month.year - 1),
            )
        )
        assert row["value_12m_ago"] == pytest.approx(earlier)
    series_checked = 0
    monthly = stats.filter(pl.col("window") == "1m")
    for (code, comparator), series in monthly.group_by(["org_code", "comparator_id"]):
        series = series.sort("month")
        y = series["value"].to_numpy().astype(float)
        present = ~np.isnan(y)
        if present.sum() < 12:
            assert series["spc_mean"].null_count() == series.height
            continue
        helper = xmr(y, direction=series["direction"][0])
        assert series["spc_ucl"].to_numpy()[present] == pytest.approx(
            np.full(present.sum(), helper.ucl)
        )
        np.testing.assert_array_equal(
            series["spc_special_cause"].to_numpy()[present], helper.special_cause[present]
        )
        assert list(np.array(series["spc_rules"].to_list(), dtype=object)[present]) == list(
            np.array(helper.rules, dtype=object)[present]
        ), (code, comparator)
        assert list(np.array(series["spc_signal"].to_list(), dtype=object)[present]) == list(
            np.array(helper.signal, dtype=object)[present]
        ), (code, comparator)
        series_checked += 1
    assert series_checked > 20
