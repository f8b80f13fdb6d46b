"""The extract as analysts meet it: the worked queries in ``sql/queries/``, the views and
wide tables, and the documentation stored in the extract.

Every worked query runs against a real publication (13 months through Dagster against the
sample portal, so 12-month windows and SPC exist), and its rows are checked against an
independent computation from the long tables: practices above a limit really are above a
limit recomputed here from the national rate; an ICB's trend equals the sum of its
practices' numerators over the sum of their denominators; the products behind a practice
add up to its comparator value.
"""

from __future__ import annotations

import re
from datetime import date

import duckdb
import numpy as np
import polars as pl
import pytest

from pipelines.config import REPO_ROOT
from pipelines.dictionary import data_dictionary_markdown

pytestmark = pytest.mark.integration

QUERIES = REPO_ROOT / "sql" / "queries"
MIN_LIST_SIZE = 1000
Z998 = 3.090232
KEY = ["comparator_id", "variant", "denominator_type", "period"]

# The values an analyst would pick, per worked query (every file must have an entry).
PARAMS: dict[str, dict[str, str]] = {
    "above_funnel_limit": {
        "comparator_id": "opioid_ome_daily",
        "variant": "standard",
        "denominator_type": "patients",
        "period": "12m",
    },
    "icb_trend": {
        "icb_code": "QSN",
        "comparator_id": "opioid_ome_daily",
        "variant": "standard",
        "denominator_type": "patients",
        "period": "1m",
    },
    "practice_presentations": {"practice_code": "B81208", "month": "2025-12-01"},
    "high_dose_thresholds": {"icb_code": "QSN", "period": "12m"},
    "small_practices": {"period": "12m"},
    "practice_profile": {"practice_code": "B81208", "period": "12m"},
}


@pytest.fixture(scope="module")
def con(outputs_extract):
    connection = duckdb.connect(str(outputs_extract), read_only=True)
    yield connection
    connection.close()


def run_query(con: duckdb.DuckDBPyConnection, name: str, **overrides: str) -> pl.DataFrame:
    params = {**PARAMS[name], **overrides}
    return con.sql((QUERIES / f"{name}.sql").read_text(), params=params).pl()


def frame(con: duckdb.DuckDBPyConnection, query: str, params: dict | None = None) -> pl.DataFrame:
    return con.sql(query, params=params).pl()


def latest_month(con: duckdb.DuckDBPyConnection) -> date:
    return con.execute("SELECT max(month) FROM practice_comparators").fetchall()[0][0]


# --------------------------------------------------------------------------------------
# Every worked query
# --------------------------------------------------------------------------------------


def test_every_worked_query_has_parameters_here() -> None:
    files = sorted(p.stem for p in QUERIES.glob("*.sql"))
    assert files == sorted(PARAMS), "add the new query's parameters (and a check) here"
    for name in files:
        used = set(re.findall(r"\$([a-z_]+)", (QUERIES / f"{name}.sql").read_text()))
        assert used == set(PARAMS[name]), name


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_worked_query_runs_and_returns_rows(con, name: str) -> None:
    result = run_query(con, name)
    assert result.height > 0, name
    assert len(set(result.columns)) == len(result.columns)


# --------------------------------------------------------------------------------------
# Practices above the 99.8% limit
# --------------------------------------------------------------------------------------


def _independent_funnel(rows: pl.DataFrame, kind: str, scale: float) -> pl.DataFrame:
    """Plain and over-dispersed upper 99.8% limits from the definitions (numpy), for the
    eligible practices of one month and comparator key."""
    eligible = rows.filter(
        pl.col("value").is_not_null()
        & (pl.col("denominator") > 0)
        & (pl.col("list_size") >= MIN_LIST_SIZE)
    )
    num = eligible["numerator"].to_numpy()
    den = eligible["denominator"].to_numpy()
    theta = num.sum() / den.sum()
    variance = theta / den if kind == "rate" else theta * (1 - theta) / den
    z = (num / den - theta) / np.sqrt(variance)
    low, high = np.percentile(z, [10, 90])
    phi = float(np.mean(np.clip(z, low, high) ** 2))
    n = z.size
    w = 1 / variance
    tau2 = max((n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()), 0.0)
    upper = theta + Z998 * np.sqrt(variance)
    od_upper = theta + Z998 * np.sqrt(variance + tau2)
    if kind == "proportion":
        upper, od_upper = np.minimum(upper, 1), np.minimum(od_upper, 1)
    return eligible.select("practice_code", "value").with_columns(
        pl.Series("upper", scale * upper), pl.Series("od_upper", scale * od_upper)
    )


@pytest.mark.parametrize(
    "key",
    [
        ("opioid_ome_daily", "standard", "patients", "12m"),
        ("opioid_items", "standard", "adults", "1m"),
        ("high_dose_share", "90mg", "long_acting_items", "3m"),
    ],
)
def test_above_funnel_limit_returns_exactly_the_practices_above(con, key) -> None:
    params = dict(zip(KEY, key, strict=True))
    result = run_query(con, "above_funnel_limit", **params)
    rows = frame(
        con,
        "SELECT c.*, d.kind, d.scale FROM practice_comparators AS c "
        "JOIN comparators AS d USING (comparator_id, variant, denominator_type) "
        "WHERE c.month = $month AND c.comparator_id = $comparator_id AND c.variant = $variant "
        "AND c.denominator_type = $denominator_type AND c.period = $period",
        {**params, "month": latest_month(con)},
    )
    limits = _independent_funnel(rows, rows["kind"][0], rows["scale"][0])
    above_plain = set(limits.filter(pl.col("value") > pl.col("upper"))["practice_code"])
    above_od = set(limits.filter(pl.col("value") > pl.col("od_upper"))["practice_code"])
    assert above_od <= above_plain and above_plain, "the sample has high outliers"
    assert set(result.filter("above_plain")["practice_code"]) == above_plain
    assert set(result.filter("above_adjusted")["practice_code"]) == above_od
    assert set(result["practice_code"]) == above_plain | above_od
    # The query's limits are the independently computed ones (rounded to 2 decimals).
    check = result.join(limits, on="practice_code")
    assert check["plain_upper_998"].to_list() == pytest.approx(check["upper"].to_list(), abs=0.006)
    assert check["adjusted_upper_998"].to_list() == pytest.approx(
        check["od_upper"].to_list(), abs=0.006
    )
    assert result["month"].unique().to_list() == [latest_month(con)]


def test_the_sample_outliers_are_above_the_adjusted_limit(con) -> None:
    result = run_query(con, "above_funnel_limit")
    flagged = set(result.filter("above_adjusted")["practice_code"])
    assert {"B81040", "B81208", "B81307"} <= flagged


# --------------------------------------------------------------------------------------
# An ICB's trend
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["1m", "12m"])
def test_icb_trend_is_sum_of_practice_numerators_over_denominators(con, period: str) -> None:
    result = run_query(con, "icb_trend", period=period)
    monthly = frame(
        con,
        "SELECT c.month, c.practice_code, c.numerator, c.denominator, p.icb_code "
        "FROM practice_comparators AS c JOIN practices AS p USING (practice_code) "
        "WHERE c.comparator_id = 'opioid_ome_daily' AND c.variant = 'standard' "
        "AND c.denominator_type = 'patients' AND c.period = '1m' AND c.denominator IS NOT NULL",
    )
    months = sorted(monthly["month"].unique())
    window = 1 if period == "1m" else 12

    def sum_over_sum(rows: pl.DataFrame) -> dict[date, tuple[float, float]]:
        totals = rows.group_by("month").agg(pl.col("numerator").sum(), pl.col("denominator").sum())
        by_month = {
            r["month"]: (r["numerator"], r["denominator"]) for r in totals.iter_rows(named=True)
        }
        out = {}
        for i, month in enumerate(months):
            if i + 1 < window:
                continue
            span = months[i + 1 - window : i + 1]
            out[month] = (
                sum(by_month[m][0] for m in span),
                sum(by_month[m][1] for m in span),
            )
        return out

    icb = sum_over_sum(monthly.filter(pl.col("icb_code") == "QSN"))
    england = sum_over_sum(monthly)
    expected_months = months if period == "1m" else months[11:]
    assert result["month"].to_list() == months
    for row in result.iter_rows(named=True):
        if row["month"] not in expected_months:
            assert row["icb_value"] is None  # an incomplete 12-month window has no value
            continue
        num, den = icb[row["month"]]
        assert row["numerator"] == pytest.approx(num)
        assert row["denominator"] == pytest.approx(den)
        assert row["icb_value"] == pytest.approx(1000 * num / den, abs=0.006)
        e_num, e_den = england[row["month"]]
        assert row["england_value"] == pytest.approx(1000 * e_num / e_den, abs=0.006)
        assert row["difference"] == pytest.approx(1000 * (num / den - e_num / e_den), abs=0.011)


# --------------------------------------------------------------------------------------
# The products behind a practice's OME
# --------------------------------------------------------------------------------------


def test_presentations_add_up_to_the_practice_value(con) -> None:
    result = run_query(con, "practice_presentations")
    comparator = frame(
        con,
        "SELECT numerator, denominator, value FROM practice_comparators "
        "WHERE practice_code = 'B81208' AND month = DATE '2025-12-01' "
        "AND comparator_id = 'opioid_ome_daily' AND variant = 'standard' "
        "AND denominator_type = 'patients' AND period = '1m'",
    ).row(0, named=True)
    n = result.height
    # Largest OME first, and the contributions add up to the comparator.
    ome = result["ome_mg_per_day"].to_list()
    assert ome == sorted(ome, reverse=True)
    assert sum(ome) == pytest.approx(comparator["numerator"], abs=0.05 * n + 1e-6)
    assert result["per_1000_patients"].sum() == pytest.approx(
        comparator["value"], abs=0.005 * n + 1e-6
    )
    assert result["cumulative_pct"][-1] == pytest.approx(100.0, abs=0.05)
    assert result["pct_of_practice_ome"].sum() == pytest.approx(100.0, abs=0.05 * n)
    # Exactly the non-cancer-scope products of that practice-month.
    products = frame(
        con,
        "SELECT bnf_code FROM presentation_breakdown WHERE practice_code = 'B81208' "
        "AND month = DATE '2025-12-01' AND non_cancer_scope",
    )
    assert sorted(result["bnf_code"]) == sorted(products["bnf_code"])


# --------------------------------------------------------------------------------------
# The two high-dose thresholds, small practices, one practice's profile
# --------------------------------------------------------------------------------------


def test_high_dose_thresholds_side_by_side(con) -> None:
    result = run_query(con, "high_dose_thresholds")
    rows = frame(
        con,
        "SELECT c.practice_code, c.comparator_id, c.variant, c.value FROM practice_comparators c "
        "JOIN practices p USING (practice_code) WHERE p.icb_code = 'QSN' AND c.month = $month "
        "AND c.period = '12m' AND c.comparator_id IN ('high_dose_items', 'high_dose_share') "
        "AND c.denominator_type IN ('patients', 'long_acting_items')",
        {"month": latest_month(con)},
    )
    assert set(result["practice_code"]) == set(rows["practice_code"])
    lookup = {
        (r["practice_code"], r["comparator_id"], r["variant"]): r["value"]
        for r in rows.iter_rows(named=True)
    }
    columns = {
        "items_90mg_per_1000": ("high_dose_items", "90mg", 0.0006),
        "items_120mg_per_1000": ("high_dose_items", "120mg", 0.0006),
        "share_90mg_pct": ("high_dose_share", "90mg", 0.06),
        "share_120mg_pct": ("high_dose_share", "120mg", 0.06),
    }
    for row in result.iter_rows(named=True):
        for column, (cid, variant, tolerance) in columns.items():
            expected = lookup[(row["practice_code"], cid, variant)]
            if expected is None:
                assert row[column] is None
            else:
                assert row[column] == pytest.approx(expected, abs=tolerance)
        # An item at or above 120 mg is also at or above 90 mg.
        if row["items_120mg_per_1000"] is not None:
            assert row["items_120mg_per_1000"] <= row["items_90mg_per_1000"]
            assert row["share_120mg_pct"] <= row["share_90mg_pct"]


def test_small_practices_are_listed_but_not_ranked(con) -> None:
    result = run_query(con, "small_practices")
    small = frame(
        con,
        "SELECT DISTINCT practice_code FROM practice_comparators "
        "WHERE month = $month AND list_size < $min",
        {"month": latest_month(con), "min": MIN_LIST_SIZE},
    )
    assert set(result["practice_code"]) == set(small["practice_code"]) != set()
    assert (result["list_size"] < MIN_LIST_SIZE).all()
    assert result["percentile_rank"].is_null().all() and result["od_funnel_flag"].is_null().all()
    headline = frame(con, "SELECT comparator_id FROM headline_comparators")
    assert result.height == small.height * headline.height
    for row in result.iter_rows(named=True):
        if row["against_adjusted_limits"] == "above":
            assert row["value"] >= row["adjusted_upper_998"]
        elif row["against_adjusted_limits"] == "below":
            assert row["value"] <= row["adjusted_lower_998"]


def test_practice_profile_matches_its_organisations(con) -> None:
    result = run_query(con, "practice_profile")
    practice = frame(con, "SELECT * FROM practices WHERE practice_code = 'B81208'").row(
        0, named=True
    )
    month = latest_month(con)
    for row in result.iter_rows(named=True):
        key = frame(
            con,
            "SELECT variant, denominator_type FROM headline_comparators WHERE comparator_id = $id",
            {"id": row["comparator_id"]},
        ).row(0, named=True)
        params = {"id": row["comparator_id"], "month": month, **key}
        own = frame(
            con,
            "SELECT value FROM practice_comparators WHERE practice_code = 'B81208' "
            "AND comparator_id = $id AND variant = $variant AND denominator_type = "
            "$denominator_type AND period = '12m' AND month = $month",
            params,
        )["value"][0]
        assert row["practice"] == pytest.approx(own, abs=0.006)
        for level, code in (
            ("pcn", practice["pcn_code"]),
            ("sub_icb", practice["sub_icb_code"]),
            ("icb", practice["icb_code"]),
            ("england", "ENG"),
        ):
            value = frame(
                con,
                "SELECT value FROM organisation_comparators WHERE org_level = $level "
                "AND org_code = $code AND comparator_id = $id AND variant = $variant AND "
                "denominator_type = $denominator_type AND period = '12m' AND month = $month",
                {**params, "level": level, "code": code},
            )["value"][0]
            assert row[level] == pytest.approx(value, abs=0.006)


# --------------------------------------------------------------------------------------
# Views and wide tables
# --------------------------------------------------------------------------------------


def test_headline_comparators_pick_patients_and_90mg(con) -> None:
    headline = frame(con, "SELECT * FROM headline_comparators")
    ids = frame(con, "SELECT DISTINCT comparator_id FROM comparators")["comparator_id"]
    assert sorted(headline["comparator_id"]) == sorted(ids)
    for row in headline.iter_rows(named=True):
        assert row["denominator_type"] in ("patients", "long_acting_items")
        assert row["variant"] in ("standard", "90mg")


def test_latest_practice_wide_agrees_with_the_long_table(con) -> None:
    wide = frame(con, "SELECT * FROM latest_practice_wide")
    month = latest_month(con)
    long = frame(
        con,
        "SELECT c.* FROM practice_comparators AS c JOIN headline_comparators AS h "
        "USING (comparator_id, variant, denominator_type) WHERE c.month = $month",
        {"month": month},
    )
    assert wide.height == long["practice_code"].n_unique() == wide["practice_code"].n_unique()
    assert wide["month"].unique().to_list() == [month]
    ids = frame(con, "SELECT comparator_id FROM headline_comparators")["comparator_id"]
    for cid in ids:
        one = long.filter(pl.col("comparator_id") == cid)
        month_1 = one.filter(pl.col("period") == "1m").select(
            "practice_code", pl.col("value").alias("v1"), pl.col("spc_signal").alias("spc")
        )
        month_12 = one.filter(pl.col("period") == "12m").select(
            "practice_code",
            pl.col("value").alias("v12"),
            pl.col("percentile_rank").alias("rank"),
            pl.col("od_funnel_flag").alias("flag"),
        )
        check = wide.join(month_1, on="practice_code").join(month_12, on="practice_code")
        assert check.height == wide.height
        for ours, theirs in (
            (f"{cid}_1m", "v1"),
            (f"{cid}_12m", "v12"),
            (f"{cid}_rank_12m", "rank"),
            (f"{cid}_flag_12m", "flag"),
            (f"{cid}_spc", "spc"),
        ):
            assert check[ours].to_list() == check[theirs].to_list(), ours


def test_latest_organisation_wide_agrees_with_the_long_table(con) -> None:
    wide = frame(con, "SELECT * FROM latest_organisation_wide")
    assert set(wide["org_level"]) == {"pcn", "sub_icb", "icb", "region", "england"}
    qsn = wide.filter(pl.col("org_code") == "QSN").row(0, named=True)
    value = frame(
        con,
        "SELECT value FROM organisation_comparators WHERE org_level = 'icb' AND org_code = 'QSN' "
        "AND comparator_id = 'opioid_items' AND variant = 'standard' AND denominator_type = "
        "'patients' AND period = '12m' AND month = $month",
        {"month": latest_month(con)},
    )["value"][0]
    assert qsn["opioid_items_12m"] == pytest.approx(value)
    practices = frame(con, "SELECT count(*) AS n FROM practices WHERE icb_code = 'QSN'")["n"][0]
    assert qsn["n_practices"] == practices and qsn["org_name"].startswith("NHS Northshire")


def test_deciles_views_match_national_deciles(con) -> None:
    wide = frame(con, "SELECT * FROM national_deciles_wide")
    long = frame(con, "SELECT * FROM national_deciles WHERE percentile = 50")
    joined = wide.join(long, on=["month", *KEY])
    assert joined.height == wide.height == long.height
    assert joined["p50"].to_list() == joined["value"].to_list()
    counts = frame(
        con,
        "SELECT (SELECT count(*) FROM practice_vs_national_deciles) AS a, "
        "(SELECT count(*) FROM practice_comparators) AS b",
    ).row(0)
    assert counts[0] == counts[1]


# --------------------------------------------------------------------------------------
# Documentation stored in the extract
# --------------------------------------------------------------------------------------


def test_every_table_view_and_column_has_a_comment(con) -> None:
    relations = frame(
        con,
        "SELECT table_name AS name, comment FROM duckdb_tables() "
        "WHERE database_name = current_database() "
        "UNION ALL SELECT view_name, comment FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal",
    )
    assert relations.height >= 17
    assert (
        relations.filter(pl.col("comment").is_null() | (pl.col("comment") == ""))["name"].to_list()
        == []
    )
    columns = frame(
        con,
        "SELECT table_name || '.' || column_name AS name, comment FROM duckdb_columns() "
        "WHERE database_name = current_database() AND NOT internal",
    )
    missing = columns.filter(pl.col("comment").is_null() | (pl.col("comment") == ""))
    assert missing["name"].to_list() == []


def test_data_dictionary_is_generated_from_the_extract(con) -> None:
    committed = (REPO_ROOT / "docs" / "data-dictionary.md").read_text()
    assert committed == data_dictionary_markdown(con), (
        "regenerate with: opioids data-dictionary --extract EXTRACT > docs/data-dictionary.md"
    )
