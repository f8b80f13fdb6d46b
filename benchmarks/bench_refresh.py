"""The demo's pipeline time: one Dagster run per month against one run over the range.

    .venv/bin/python benchmarks/bench_refresh.py [--months 18] [--json FILE]

Serves the bundled sample portal on loopback, then, in this one process and each on a
fresh data directory and Dagster instance:

- ``per_month`` (the baseline, how the CLI used to run): the organisations job, then the
  ``monthly_refresh`` job once per month, then ``statistics_and_publish``;
- ``one_run`` (what ``opioids refresh`` and ``opioids demo`` do now): one run of the
  ``refresh`` job with the months as one partition range.

Each is timed twice: the first refresh (everything fetched) and a second, unchanged one
(every month skipped as unchanged, statistics and publication redone). The load average
is printed before and after: the machine is shared, so compare ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.sample_portal import SamplePortal  # noqa: E402
from demo.settings import SAMPLE_FIRST_MONTH, SAMPLE_LAST_MONTH, sample_settings  # noqa: E402
from pipelines.config import Settings  # noqa: E402
from pipelines.partitions import month_partition_key, months_between  # noqa: E402
from pipelines.runner import build_definitions, prepare_instance, refresh, run_config  # noqa: E402


def per_month(settings: Settings, months: list[date]) -> None:
    instance = prepare_instance(settings, echo=lambda _: None)
    defs = build_definitions(settings)

    def execute(job: str, partition_key: str | None = None) -> None:
        result = defs.resolve_job_def(job).execute_in_process(
            run_config=run_config(False),
            instance=instance,
            partition_key=partition_key,
            raise_on_error=False,
        )
        if not result.success:
            raise SystemExit(f"{job} {partition_key or ''} failed")

    execute("organisations_refresh")
    for month in months:
        execute("monthly_refresh", month_partition_key(month))
    execute("statistics_and_publish")


def one_run(settings: Settings, months: list[date]) -> None:
    refresh(settings, months, echo=lambda _: None)


CANDIDATES = {"per_month": per_month, "one_run": one_run}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    months = months_between(SAMPLE_FIRST_MONTH, SAMPLE_LAST_MONTH)[: args.months]
    results: dict[str, object] = {"months": len(months), "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench_refresh_") as tmp:
        root = Path(tmp)
        with SamplePortal(root / "portal") as portal:
            for name, run in CANDIDATES.items():
                data = root / name
                os.environ["DAGSTER_HOME"] = str(data / "dagster_home")
                settings = sample_settings(Settings(data_dir=data), portal.url)
                for attempt in ("first", "unchanged"):
                    started = time.perf_counter()
                    run(settings, months)
                    seconds = time.perf_counter() - started
                    results[f"{name}_{attempt}_s"] = round(seconds, 1)
                    print(f"{name:10s} {attempt:10s} {seconds:7.1f} s", flush=True)
    results["load_after"] = os.getloadavg()
    for attempt in ("first", "unchanged"):
        ratio = results[f"one_run_{attempt}_s"] / results[f"per_month_{attempt}_s"]
        results[f"ratio_{attempt}"] = round(ratio, 2)
        print(f"one_run / per_month ({attempt}): {ratio:.2f}")
    print(f"load average before {results['load_before']}, after {results['load_after']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
