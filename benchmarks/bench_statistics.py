"""Benchmark: recompute every comparator's windows, roll-ups and statistics at full scale.

Five years of history (60 months) for about 6,500 GP practices is what the warehouse holds
in steady state, and every new month recomputes all of it (rolling windows, organisation
roll-ups, ranks, funnel limits, SPC). This script synthesises the warehouse tables that
``pipelines.statistics.compute_statistics`` reads at that scale, directly rather than by
running the pipeline for 60 months:

* ``comparator_definitions`` from the project's own ``comparators/*.toml``;
* ``organisations``: the practices in ~1,250 PCNs, 106 sub-ICB locations, 42 ICBs and 7
  regions;
* ``list_sizes``: patients and adults per practice and month, with a few practices under
  the minimum list size and a gentle trend;
* ``practice_comparator_months``: one row per practice, month and definition row, rates
  drawn around a practice-specific level (so funnel limits and SPC have something to find).

It then times one call of ``compute_statistics(con, min_list_size=1000)`` (target: under
30 s) and reports the rows it wrote and the process's peak memory::

    .venv/bin/python benchmarks/bench_statistics.py [--months 60] [--practices 6500]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from pipelines.warehouse import connect, run  # noqa: E402

TARGET_SECONDS = 30.0
FIRST_MONTH = date(2021, 1, 1)
PCN_SIZE = 5.2
SUB_ICBS, ICBS, REGIONS = 106, 42, 7


def months(n: int) -> list[date]:
    out, year, month = [], FIRST_MONTH.year, FIRST_MONTH.month
    for _ in range(n):
        out.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def organisations(rng: np.random.Generator, practices: int) -> pl.DataFrame:
    codes = [f"{chr(65 + i % 24)}{10000 + i * 7 % 89999:05d}" for i in range(practices)]
    pcn = (np.arange(practices) / PCN_SIZE).astype(int)
    sub_icb = pcn % SUB_ICBS
    icb = sub_icb % ICBS
    region = icb % REGIONS
    return pl.DataFrame(
        {
            "practice_code": codes,
            "practice_name": [f"PRACTICE {i}" for i in range(practices)],
            "postcode": [f"ZZ{i % 99} {i % 9}AA" for i in range(practices)],
            "pcn_code": [f"U{p:05d}" for p in pcn],
            "pcn_name": [f"PCN {p}" for p in pcn],
            "sub_icb_code": [f"{s:02d}X" for s in sub_icb],
            "sub_icb_name": [f"SUB ICB {s}" for s in sub_icb],
            "icb_code": [f"Q{i:02d}" for i in icb],
            "icb_name": [f"ICB {i}" for i in icb],
            "region_code": [f"Y{50 + r}" for r in region],
            "region_name": [f"REGION {r}" for r in region],
            "prescribing_setting": np.full(practices, 4, dtype=np.int32),
            "status_code": ["A"] * practices,
            "open_date": [date(1990, 4, 1)] * practices,
            "close_date": [None] * practices,
            "mapping_source": ["benchmark"] * practices,
        }
    )


def list_sizes(rng: np.random.Generator, codes: list[str], month_list: list[date]) -> pl.DataFrame:
    base = np.exp(rng.normal(np.log(8500), 0.55, size=len(codes)))
    base[:: max(1, len(codes) // 40)] = rng.uniform(400, 950)  # a few below the minimum
    trend = np.linspace(1.0, 1.06, len(month_list))
    patients = np.round(np.outer(trend, base)).astype(np.int64)
    return pl.DataFrame(
        {
            "month": np.repeat(np.array(month_list, dtype="datetime64[D]"), len(codes)),
            "practice_code": codes * len(month_list),
            "patients": patients.ravel(),
            "adults": np.round(patients.ravel() * 0.8).astype(np.int64),
        }
    )


def comparator_months(
    rng: np.random.Generator, sizes: pl.DataFrame, definitions: pl.DataFrame
) -> pl.DataFrame:
    """One row per practice, month and definition row, around practice-specific levels."""
    n = sizes.height
    frames = []
    practice_level = rng.gamma(8.0, 1 / 8.0, size=n)  # recycled per month: fine for timing
    for row in definitions.iter_rows(named=True):
        population = row["den_population"]
        if population in ("patients", "adults"):
            denominator = sizes[population].to_numpy().astype(float)
            rate = 0.004 * (2.0 if row["num_measure"] == "ome_mg_per_day" else 1.0)
            numerator = rng.poisson(denominator * rate * practice_level).astype(float)
        else:  # a share of items: numerator is a subset of the denominator's items
            denominator = rng.poisson(sizes["patients"].to_numpy() * 0.03).astype(float)
            numerator = rng.binomial(denominator.astype(np.int64), 0.1).astype(float)
        frames.append(
            pl.DataFrame(
                {
                    "month": sizes["month"],
                    "practice_code": sizes["practice_code"],
                    "comparator_id": [row["comparator_id"]] * n,
                    "variant": [row["variant"]] * n,
                    "denominator_type": [row["denominator_type"]] * n,
                    "numerator": numerator,
                    "denominator": denominator,
                }
            )
        )
    return pl.concat(frames)


def load(con: duckdb.DuckDBPyConnection, n_months: int, practices: int, seed: int) -> dict:
    """Fill the warehouse tables compute_statistics reads; return their row counts."""
    from pipelines.comparators import definition_rows, load_comparators

    rng = np.random.default_rng(seed)
    definitions = definition_rows(load_comparators())
    con.register("definitions_frame", definitions.to_arrow())
    run(con, "warehouse/replace_comparator_definitions")
    run(con, "warehouse/insert_comparator_definitions")
    con.unregister("definitions_frame")
    orgs = organisations(rng, practices)
    con.register("organisations_frame", orgs.to_arrow())
    run(con, "warehouse/insert_organisations")
    con.unregister("organisations_frame")
    sizes = list_sizes(rng, orgs["practice_code"].to_list(), months(n_months))
    con.register("bench_frame", sizes.to_arrow())
    run(con, "bulk/bench_insert_list_sizes")
    con.unregister("bench_frame")
    values = comparator_months(rng, sizes, definitions)
    con.register("bench_frame", values.to_arrow())
    run(con, "bulk/bench_insert_practice_comparator_months")
    con.unregister("bench_frame")
    return {
        "definition_rows": definitions.height,
        "practices": practices,
        "months": n_months,
        "list_size_rows": sizes.height,
        "practice_comparator_months": values.height,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--practices", type=int, default=6500)
    parser.add_argument("--min-list-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)

    try:
        from pipelines.statistics import compute_statistics
    except ImportError as exc:  # the statistics library is not in this checkout yet
        print(f"pipelines.statistics is not importable ({exc}); nothing to measure.")
        return 2

    with (
        tempfile.TemporaryDirectory(prefix="bench_stats_") as tmp,
        connect(Path(tmp) / "warehouse.duckdb") as con,
    ):
        started = time.perf_counter()
        counts = load(con, args.months, args.practices, args.seed)
        print(
            f"Synthesised {counts['practice_comparator_months']:,} practice comparator months "
            f"({counts['practices']:,} practices x {counts['months']} months x "
            f"{counts['definition_rows']} definition rows) in {time.perf_counter() - started:.1f}s"
        )
        load_avg = os.getloadavg()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu0 = usage.ru_utime + usage.ru_stime
        started = time.perf_counter()
        result = compute_statistics(con, min_list_size=args.min_list_size)
        seconds = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = usage.ru_utime + usage.ru_stime - cpu0
    peak_mb = usage.ru_maxrss / 1024
    print(f"compute_statistics: {seconds:.1f}s wall, {cpu:.1f}s CPU, peak {peak_mb:,.0f} MB")
    print("  " + ", ".join(f"{k}={v:,}" for k, v in result.items()))
    verdict = "met" if seconds < TARGET_SECONDS else "MISSED"
    print(f"Target: under {TARGET_SECONDS:.0f}s -> {verdict}")
    print(f"Load average at start: {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
