"""Benchmark: the statistics stage at national scale, against a naive SQL statement.

Five years of history (60 months) for about 6,500 GP practices is what the warehouse holds
in steady state. This script synthesises the warehouse tables the statistics stage
(``pipelines.statistics.compute_statistics``) reads at that scale, for one month more than
asked, directly rather than by running the pipeline:

* ``comparator_definitions`` from the project's own ``comparators/*.toml``;
* ``organisations``: the practices in ~1,250 PCNs, 106 sub-ICB locations, 42 ICBs and 7
  regions;
* ``list_sizes``: patients and adults per practice and month, with a few practices under
  the minimum list size and a gentle trend;
* ``practice_comparator_months``: one row per practice, month and definition row, rates
  drawn around a practice-specific level (so funnel limits and SPC have something to find).

The last month is held back. Then, each phase in a fresh process (so each has its own
peak memory), it measures:

* ``full_rebuild_s``: ``compute_statistics(full=True)`` over the first ``--months`` months;
* ``incremental_month_s``: the held-back month is added to the warehouse tables (as the
  monthly asset does) and ``compute_statistics`` brings the statistics up to date;
* ``naive_sql_s``: the baseline, ``sql/bench/naive_statistics.sql``: one straightforward
  statement of window functions computing the practice statistics (eligibility, national
  rates, ranks, deciles, plain funnel limits, change on 12 months, XmR centre and limits)
  over the same comparator values, held in a plain table; DuckDB's default settings.

and writes ``{"full_rebuild_s", "incremental_month_s", "naive_sql_s", "peak_rss_mb",
"rows", ...}`` (peak RSS: the larger of the two pipeline phases)::

    .venv/bin/python benchmarks/bench_statistics.py [--months 60] [--practices 6500] \
        [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
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

from pipelines.config import load_settings  # noqa: E402
from pipelines.process_stats import peak_resident_mb  # noqa: E402
from pipelines.warehouse import connect, run, run_script  # noqa: E402

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


def _hold_back(con: duckdb.DuckDBPyConnection, month: date) -> None:
    from pipelines.statistics import execute

    execute(con, "bench/hold_back_month", {"month": month})


def phase(name: str, path: Path, args: argparse.Namespace) -> dict:
    """Run one measured phase in this process; return its figures."""
    from pipelines.statistics import compute_statistics

    settings = load_settings()
    kwargs = {}
    if name != "naive":  # the baseline runs with DuckDB's defaults
        kwargs = {
            "memory_limit": settings.duckdb_memory_limit,
            "temp_directory": settings.duckdb_temp_dir,
        }
    with connect(path, **kwargs) as con:
        if name == "load":
            started = time.perf_counter()
            counts = load(con, args.months + 1, args.practices, args.seed)
            _hold_back(con, months(args.months + 1)[-1])
            return {"seconds": time.perf_counter() - started, **counts}
        if name == "naive_input":
            run_script(con, "bench/naive_input")
            return {}
        started = time.perf_counter()
        if name == "full":
            result = compute_statistics(con, min_list_size=args.min_list_size, full=True)
        elif name == "add_month":
            run_script(con, "bench/restore_month")
            started = time.perf_counter()
            result = compute_statistics(con, min_list_size=args.min_list_size)
        elif name == "naive":
            run(con, "bench/naive_statistics", {"min_list_size": args.min_list_size})
            result = {
                "rows": con.execute("SELECT count(*) FROM bench_naive_result").fetchall()[0][0]
            }
        else:
            raise ValueError(name)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mb": peak_resident_mb(), **result}


def _child(name: str, path: Path, args: argparse.Namespace) -> dict:
    command = [
        sys.executable, __file__, "--phase", name, "--db", str(path),
        "--months", str(args.months), "--practices", str(args.practices),
        "--min-list-size", str(args.min_list_size), "--seed", str(args.seed),
    ]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--practices", type=int, default=6500)
    parser.add_argument("--min-list-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase:
        print(json.dumps(phase(args.phase, args.db, args), default=str))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench_stats_") as tmp:
        path = Path(tmp) / "warehouse.duckdb"
        loaded = _child("load", path, args)
        print(
            f"Synthesised {loaded['practice_comparator_months']:,} practice comparator months "
            f"({loaded['practices']:,} practices x {loaded['months']} months x "
            f"{loaded['definition_rows']} definition rows) in {loaded['seconds']:.1f}s; "
            f"month {loaded['months']} held back"
        )
        load_avg = os.getloadavg()
        full = _child("full", path, args)
        print(f"full rebuild ({args.months} months): {full['seconds']:.1f}s, "
              f"peak {full['peak_rss_mb']:,.0f} MB")  # fmt: skip
        added = _child("add_month", path, args)
        print(f"adding month {args.months + 1}: {added['seconds']:.1f}s, "
              f"peak {added['peak_rss_mb']:,.0f} MB, months recomputed "
              f"{added['months_recomputed']}")  # fmt: skip
        # The baseline reads the same comparator values (all months, held in one table).
        _child("naive_input", path, args)
        naive = _child("naive", path, args)
        print(f"naive SQL statement: {naive['seconds']:.1f}s, peak {naive['peak_rss_mb']:,.0f} MB")
        end_load = os.getloadavg()

    figures = {
        "full_rebuild_s": round(full["seconds"], 2),
        "incremental_month_s": round(added["seconds"], 2),
        "naive_sql_s": round(naive["seconds"], 2),
        "peak_rss_mb": round(max(full["peak_rss_mb"], added["peak_rss_mb"])),
        "rows": {k: v for k, v in full.items() if k not in ("seconds", "peak_rss_mb", "rebuilt")},
        "rows_after_adding_month": added["practice_statistics"],
        "naive_rows": naive["rows"],
        "naive_peak_rss_mb": round(naive["peak_rss_mb"]),
        "full_over_naive": round(full["seconds"] / naive["seconds"], 3),
        "incremental_over_naive": round(added["seconds"] / naive["seconds"], 3),
        "months": args.months,
        "practices": args.practices,
        "load_average": [round(x, 2) for x in (*load_avg, *end_load)],
    }
    for label, ratio, target in (
        ("full rebuild / naive", figures["full_over_naive"], 0.67),
        ("adding a month / naive", figures["incremental_over_naive"], 0.2),
    ):
        print(
            f"{label}: {ratio:.3f} (target <= {target}) -> {'met' if ratio <= target else 'MISSED'}"
        )
    peak = figures["peak_rss_mb"]
    print(f"peak RSS: {peak:,} MB (target <= 2048) -> {'met' if peak <= 2048 else 'MISSED'}")
    print(f"load average: start {load_avg[0]:.2f}, end {end_load[0]:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
