"""Benchmark: reading one national-scale EPD month, against the floors and the alternatives.

One invocation generates the month if it is missing (CSV and zip of the same rows), warms
the page cache by reading both files once, then runs each candidate in a fresh Python
process and reports its wall time, CPU time and peak resident memory:

* ``ingest_zip`` / ``ingest_csv``: the project's bulk reader (``read_epd_file``) on the zip
  (inflated into a pipe DuckDB reads) and on the CSV (DuckDB reading the file directly);
* ``ingest_csv_pipe``: the reader's fallback for a CSV (through the pipe), for reference;
* ``duckdb_floor``: DuckDB counting the CSV's rows, the least any DuckDB read can cost;
* ``polars``: a Polars lazy streaming scan filtering and aggregating the same way;
* ``pandas``: ``read_csv`` in chunks with ``usecols``, as an analyst would write it;
* ``zip_floor``: Python's ``zipfile`` inflating the member to nowhere.

Every candidate that aggregates also reports its group count and total items, which must
agree. Usage (``--rows 200000`` runs the whole thing small in seconds)::

    .venv/bin/python benchmarks/bench_ingest.py [--rows 18000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_ROWS = 18_000_000
DEFAULT_DIR = ROOT / "benchmarks" / "out"
MONTHS = {"legacy": date(2024, 1, 1), "current": date(2025, 4, 1)}
CANDIDATES = (
    "ingest_zip",
    "ingest_csv",
    "ingest_csv_pipe",
    "duckdb_floor",
    "polars",
    "pandas",
    "zip_floor",
)
# (label, numerator, denominator, comparison, target)
TARGETS = (
    ("ingest CSV / DuckDB floor", "ingest_csv", "duckdb_floor", "<=", 1.5),
    ("ingest CSV / Polars", "ingest_csv", "polars", "<=", 1.2),
    ("pandas / ingest CSV", "pandas", "ingest_csv", ">=", 2.0),
    ("ingest zip / zip floor", "ingest_zip", "zip_floor", "<=", 1.5),
)
PEAK_TARGET_MB = 1024
PANDAS_CHUNK_ROWS = 1_000_000


# -- the candidates (each runs in its own process) --------------------------------------------


def _columns(path: Path) -> dict[str, str]:
    """Source column names for the internal ones, from the file's own header."""
    from pipelines.sources.bulk_stream import open_csv_stream, parse_header
    from pipelines.sources.epd import detect_layout

    with open_csv_stream(path) as (stream, _):
        header, _ = parse_header(stream.read(1 << 16), where=str(path))
    return detect_layout(header, where=str(path)).columns


def run_ingest(path: Path, month: date, mode: str) -> dict[str, Any]:
    from pipelines.sources.bulk_read import read_epd_file

    result = read_epd_file(path, month, where=path.name, mode=mode)
    frame = result.frame
    return {
        "groups": frame.height,
        "items": int(frame["items"].sum()),
        "rows_read": result.rows_read,
        "mode": result.mode,
    }


def run_duckdb_floor(path: Path) -> dict[str, Any]:
    import duckdb

    from pipelines.sources.bulk_stream import open_csv_stream, parse_header
    from pipelines.warehouse import run, run_script

    with open_csv_stream(path) as (stream, _):
        header, _ = parse_header(stream.read(1 << 16), where=str(path))
    columns = {f"c{i:03d}": "VARCHAR" for i in range(len(header))}
    con = duckdb.connect()
    run_script(con, "bulk/quiet")
    (rows,) = run(con, "bulk/bench_count_rows", {"path": str(path), "columns": columns}).fetchone()
    return {"rows_read": rows}


def run_polars(path: Path) -> dict[str, Any]:
    import polars as pl

    c = _columns(path)
    measures = [c["items"], c["total_quantity"], c["nic"], c["actual_cost"]]
    # Polars has no Latin-1 decoder: lossy UTF-8 is what a Polars user would write.
    frame = (
        pl.scan_csv(path, infer_schema=False, encoding="utf8-lossy")
        .filter(pl.col(c["bnf_code"]).str.starts_with("0407"))
        .group_by(c["year_month"], c["practice_code"], c["bnf_code"])
        .agg(
            *[
                pl.col(c[k]).max()
                for k in (
                    "practice_name",
                    "sub_icb_code",
                    "icb_code",
                    "region_code",
                    "chemical_code",
                    "bnf_name",
                )
            ],  # fmt: skip
            *[pl.col(m).cast(pl.Float64).sum() for m in measures],
            pl.col(c["quantity"]).cast(pl.Float64).max(),
            pl.len().alias("source_rows"),
        )
        .collect(engine="streaming")
    )
    return {"groups": frame.height, "items": int(frame[c["items"]].sum())}


def run_pandas(path: Path) -> dict[str, Any]:
    import pandas as pd

    c = _columns(path)
    names = list(c.values())
    kept = []
    for chunk in pd.read_csv(
        path, usecols=names, dtype=str, encoding="latin-1", chunksize=PANDAS_CHUNK_ROWS
    ):
        kept.append(chunk[chunk[c["bnf_code"]].str.startswith("0407", na=False)])
    rows = pd.concat(kept, ignore_index=True)
    measures = [c["items"], c["total_quantity"], c["quantity"], c["nic"], c["actual_cost"]]
    for m in measures:
        rows[m] = pd.to_numeric(rows[m])
    grouped = rows.groupby([c["year_month"], c["practice_code"], c["bnf_code"]]).agg(
        **{
            k: (c[k], "max")
            for k in (
                "practice_name",
                "sub_icb_code",
                "icb_code",
                "region_code",
                "chemical_code",
                "bnf_name",
            )
        },  # fmt: skip
        items=(c["items"], "sum"),
        total_quantity=(c["total_quantity"], "sum"),
        max_quantity=(c["quantity"], "max"),
        nic=(c["nic"], "sum"),
        actual_cost=(c["actual_cost"], "sum"),
        source_rows=(c["items"], "size"),
    )
    return {"groups": len(grouped), "items": int(grouped["items"].sum())}


def run_zip_floor(path: Path) -> dict[str, Any]:
    import zipfile

    from pipelines.sources.bulk_stream import csv_member

    total = 0
    with zipfile.ZipFile(path) as archive, archive.open(csv_member(archive, path)) as member:
        while block := member.read(16 << 20):
            total += len(block)
    return {"csv_bytes": total}


def _import_for(name: str) -> None:
    """Import what a candidate needs before its clock starts (pandas alone takes ~1 s)."""
    import duckdb  # noqa: F401
    import polars  # noqa: F401

    import pipelines.sources.bulk_read  # noqa: F401
    import pipelines.sources.epd  # noqa: F401

    if name == "pandas":
        import pandas  # noqa: F401


def child(name: str, csv_path: Path, zip_path: Path, month: date) -> None:
    """Run one candidate and print its result as JSON (the parent measures the process)."""
    import logging

    from pipelines.process_stats import peak_resident_mb

    logging.basicConfig(level=logging.WARNING)
    _import_for(name)
    cpu_started = _cpu_seconds()
    started = time.perf_counter()
    if name == "ingest_zip":
        result = run_ingest(zip_path, month, "auto")
    elif name == "ingest_csv":
        result = run_ingest(csv_path, month, "auto")
    elif name == "ingest_csv_pipe":
        result = run_ingest(csv_path, month, "pipe")
    elif name == "duckdb_floor":
        result = run_duckdb_floor(csv_path)
    elif name == "polars":
        result = run_polars(csv_path)
    elif name == "pandas":
        result = run_pandas(csv_path)
    elif name == "zip_floor":
        result = run_zip_floor(zip_path)
    else:
        raise SystemExit(f"unknown candidate {name}")
    result["seconds"] = time.perf_counter() - started
    result["work_cpu_seconds"] = _cpu_seconds() - cpu_started
    result["vm_hwm_mb"] = peak_resident_mb()
    print(json.dumps(result))


def _cpu_seconds() -> float:
    """CPU time of this process so far, all threads (user + system)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the parent -------------------------------------------------------------------------------


def measure(name: str, csv_path: Path, zip_path: Path, month: date) -> dict[str, Any]:
    """Run one candidate in a fresh interpreter: its own timing, CPU and peak RSS."""
    command = [
        sys.executable, str(Path(__file__).resolve()), "--candidate", name,
        "--csv", str(csv_path), "--zip", str(zip_path), "--month", f"{month:%Y-%m}",
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=ROOT)  # noqa: S603
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (exit {proc.returncode})")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result.update(
        name=name,
        process_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        # The child's own high-water mark: ru_maxrss of a forked child starts from the
        # parent's resident size at fork, so it overstates a small child of a big parent.
        peak_mb=result.get("vm_hwm_mb") or usage.ru_maxrss / 1024,
    )
    return result


def warm(paths: list[Path]) -> float:
    """Read every file once so each candidate starts with the data in the page cache."""
    started = time.perf_counter()
    for path in paths:
        with open(path, "rb", buffering=0) as fh:
            while fh.read(16 << 20):
                pass
    return time.perf_counter() - started


def machine() -> dict[str, Any]:
    import duckdb
    import numpy
    import pandas
    import polars

    mem_kb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1) if mem_kb else None,
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "polars": polars.__version__,
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def ensure_files(rows: int, layout: str, directory: Path) -> tuple[Path, Path, float | None]:
    from demo.generate_epd import generate_epd

    csv_path = directory / f"epd_{rows}_{layout}.csv"
    zip_path = directory / f"epd_{rows}_{layout}.zip"
    if csv_path.exists() and zip_path.exists():
        return csv_path, zip_path, None
    print(f"Generating {rows:,} rows ({layout} layout) into {directory} ...", flush=True)
    info = generate_epd(MONTHS[layout], rows, layout, csv_path, copies=[zip_path])
    return csv_path, zip_path, info["seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--layout", choices=tuple(MONTHS), default="legacy")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--repeat", type=int, default=1, help="runs per candidate; best kept")
    parser.add_argument("--only", nargs="*", choices=CANDIDATES, help="a subset of candidates")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--candidate", help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--zip", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--month", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.candidate:
        year, mon = map(int, args.month.split("-"))
        child(args.candidate, args.csv, args.zip, date(year, mon, 1))
        return 0

    args.dir.mkdir(parents=True, exist_ok=True)
    csv_path, zip_path, generated = ensure_files(args.rows, args.layout, args.dir)
    month = MONTHS[args.layout]
    info = machine()
    print(
        f"Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['memory_gb']} GB; "
        f"Python {info['python']}, DuckDB {info['duckdb']}, Polars {info['polars']}, "
        f"pandas {info['pandas']}"
    )
    print(
        f"File: {csv_path.name} {csv_path.stat().st_size / 1e9:.2f} GB, "
        f"{zip_path.name} {zip_path.stat().st_size / 1e9:.2f} GB"
        + (f" (generated in {generated:.0f}s)" if generated is not None else "")
    )
    seconds = warm([csv_path, zip_path])
    print(f"Page cache warmed: read both files once ({seconds:.1f}s) before measuring.")
    load_before = os.getloadavg()
    print(f"Load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")

    names = args.only or list(CANDIDATES)
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for i in range(args.repeat):
        for name in names:
            result = measure(name, csv_path, zip_path, month)
            runs[name].append(result)
            print(
                f"  run {i + 1}: {name:16s} {result['seconds']:7.2f}s "
                f"cpu {result['work_cpu_seconds']:7.2f}s peak {result['peak_mb']:7.0f} MB",
                flush=True,
            )
    best = {n: min(r, key=lambda x: x["seconds"]) for n, r in runs.items()}
    load_after = os.getloadavg()

    print()
    print(f"{'candidate':18s} {'seconds':>8s} {'cpu s':>8s} {'peak MB':>8s}  result")
    for name in names:
        r = best[name]
        detail = ", ".join(
            f"{k}={r[k]:,}" if isinstance(r[k], int) else f"{k}={r[k]}"
            for k in ("groups", "items", "rows_read", "csv_bytes", "mode")
            if k in r
        )
        print(
            f"{name:18s} {r['seconds']:8.2f} {r['work_cpu_seconds']:8.2f} {r['peak_mb']:8.0f}  "
            f"{detail}"
        )
    print()
    verdicts = []
    for label, num, den, op, target in TARGETS:
        if num not in best or den not in best:
            continue
        ratio = best[num]["seconds"] / best[den]["seconds"]
        ok = ratio <= target if op == "<=" else ratio >= target
        verdicts.append({"label": label, "ratio": ratio, "target": f"{op} {target}", "met": ok})
        print(f"{label:28s} {ratio:5.2f}  (target {op} {target})  {'met' if ok else 'MISSED'}")
    for name in ("ingest_csv", "ingest_zip"):
        if name in best:
            peak = best[name]["peak_mb"]
            ok = peak < PEAK_TARGET_MB
            verdicts.append({"label": f"{name} peak MB", "ratio": peak, "met": ok})
            print(f"{name + ' peak memory':28s} {peak:5.0f} MB (target < {PEAK_TARGET_MB} MB)  "
                  f"{'met' if ok else 'MISSED'}")  # fmt: skip
    _check_agreement(best)
    print(f"Load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "rows": args.rows,
                    "layout": args.layout,
                    "csv_bytes": csv_path.stat().st_size,
                    "zip_bytes": zip_path.stat().st_size,
                    "load_before": load_before,
                    "load_after": load_after,
                    "runs": runs,
                    "verdicts": verdicts,
                },
                indent=2,
            )
        )
    return 0


def _check_agreement(best: dict[str, dict[str, Any]]) -> None:
    """Every aggregating candidate must find the same groups and items."""
    answers = {n: (r["groups"], r["items"]) for n, r in best.items() if "groups" in r}
    if len(set(answers.values())) > 1:
        print(f"WARNING: candidates disagree on (groups, items): {answers}")
    elif answers:
        groups, items = next(iter(answers.values()))
        print(f"All aggregating candidates agree: {groups:,} groups, {items:,} items.")


if __name__ == "__main__":
    raise SystemExit(main())
