"""The ``opioids`` command: run the pipeline, serve the sample portal, audit the OME reference."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pipelines.config import Settings, load_settings

SAMPLE_FIRST_MONTH = "2024-07"
SAMPLE_LAST_MONTH = "2025-12"
LIST_SIZE_PATH = (
    "/data-and-information/publications/statistical/patients-registered-at-a-gp-practice/"
)
ODS_PATH = "/assets/ods/current/epraccur.zip"
EXAMPLE_QUERY = "'SELECT * FROM latest_practice_comparators LIMIT 5'"


def sample_settings(base: Settings, portal_url: str) -> Settings:
    """Settings that point every source at a sample portal."""
    return base.with_overrides(
        portal_url=portal_url,
        list_size_url=portal_url + LIST_SIZE_PATH,
        ods_url=portal_url + ODS_PATH,
    )


def cmd_sample_portal(args: argparse.Namespace) -> int:
    from pipelines.sample_portal import serve_forever

    settings = load_settings()
    data_dir = Path(args.data_dir) if args.data_dir else settings.data_dir / "sample_portal"
    serve_forever(data_dir, args.port)
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    from pipelines.partitions import months_between, parse_month
    from pipelines.runner import RunFailed, refresh

    settings = load_settings()
    if args.route:
        settings = settings.with_overrides(fetch_route=args.route)
    months = months_between(parse_month(args.from_month), parse_month(args.to_month))
    if settings.fetch_route in ("bulk", "auto"):
        _show_download_progress()
    print(f"Refreshing {len(months)} month(s) from {settings.portal_url} into {settings.data_dir}")
    try:
        refresh(settings, months)
    except RunFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("The previous publication, if any, is unchanged.", file=sys.stderr)
        return 1
    print(f"Published: {settings.extract_path}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.partitions import months_between, parse_month
    from pipelines.runner import RunFailed, refresh
    from pipelines.sample_portal import SamplePortal

    started = time.monotonic()
    base = load_settings()
    with SamplePortal(base.data_dir / "sample_portal") as portal:
        settings = sample_settings(base, portal.url)
        print(f"Sample portal on {portal.url} (loopback only); data in {settings.data_dir}")
        months = months_between(parse_month(SAMPLE_FIRST_MONTH), parse_month(SAMPLE_LAST_MONTH))
        try:
            refresh(settings, months)
        except RunFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print()
    print(demo_summary(settings, time.monotonic() - started))
    return 0


def demo_summary(settings: Settings, seconds: float) -> str:
    import duckdb

    from pipelines.warehouse import run

    con = duckdb.connect(str(settings.extract_path), read_only=True)
    try:
        practices, months, comparators, rows = run(con, "publish/summary").fetchall()[0]
    finally:
        con.close()
    files = settings.published_dir / "files"
    return "\n".join(
        [
            f"Done in {seconds:.0f}s: {practices} GP practices x {months} months x {comparators} comparators "
            f"({rows:,} rows with variants, denominators and 3/12-month windows).",
            f"  DuckDB extract : {settings.extract_path}",
            f"  Parquet / CSV  : {files / 'parquet'}  {files / 'csv'}",
            f"  Methodology    : {files / 'methodology.md'}",
            f"  Try            : duckdb -readonly {settings.extract_path} {EXAMPLE_QUERY}",
            f"  Dagster UI     : make ui   (DAGSTER_HOME={settings.dagster_home})",
        ]
    )


def cmd_ome(args: argparse.Namespace) -> int:
    from pipelines.ome import write_ome_csv

    settings = load_settings()
    try:
        write_ome_csv(
            Path(args.input), sys.stdout, factor_set=args.factor_set or settings.ome_factor_set
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pipelines.export import ExportError, export_organisation

    settings = load_settings()
    extract = Path(args.extract) if args.extract else settings.extract_path
    try:
        written = export_organisation(
            extract, org=args.org, level=args.level, fmt=args.format, out=Path(args.out)
        )
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote {written}")
    return 0


def cmd_generate_epd(args: argparse.Namespace) -> int:
    from pipelines.generate import run_cli

    return run_cli(args)


def _show_download_progress() -> None:
    """Bulk downloads report progress through logging; show it on the terminal too."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    for name in ("pipelines.sources.bulk_download", "pipelines.sources.bulk"):
        logging.getLogger(name).setLevel(logging.INFO)
        logging.getLogger(name).addHandler(handler)


def cmd_ui(args: argparse.Namespace) -> int:
    """The Dagster UI on the same persistent instance the CLI writes to."""
    import os

    from pipelines.config import REPO_ROOT
    from pipelines.runner import prepare_instance

    settings = load_settings()
    prepare_instance(settings)  # creates DAGSTER_HOME with this project's dagster.yaml
    dg = str(Path(sys.executable).parent / "dg")
    print(f"Dagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME={settings.dagster_home})")
    os.chdir(REPO_ROOT)
    os.execv(dg, [dg, "dev", "--host", "127.0.0.1", "--port", str(args.port)])
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opioids",
        description="Monthly per-practice opioid prescribing comparators from NHSBSA open data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample-portal", help="serve the bundled sample portal on 127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument(
        "--data-dir", help="where the sample data is generated (default: <data dir>/sample_portal)"
    )
    p.set_defaults(func=cmd_sample_portal)

    p = sub.add_parser(
        "refresh", help="materialise every asset for a range of months, then publish"
    )
    p.add_argument("--from", dest="from_month", required=True, metavar="YYYY-MM")
    p.add_argument("--to", dest="to_month", required=True, metavar="YYYY-MM")
    p.add_argument(
        "--route",
        choices=("sql", "bulk", "auto"),
        help="fetch route (default: OPIOIDS_FETCH_ROUTE or sql)",
    )
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser("demo", help="run everything offline against the sample portal")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "export", help="one organisation's practices, every comparator, the last 12 months"
    )
    p.add_argument("--org", required=True, help="ICB, sub-ICB, PCN or practice code")
    p.add_argument("--level", choices=("icb", "sub_icb", "pcn", "practice"), default="icb")
    p.add_argument("--format", choices=("csv", "xlsx", "parquet"), required=True)
    p.add_argument("--out", required=True, help="file to write, or a directory")
    p.add_argument("--extract", help="published extract to read (default: the data dir's)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "generate-epd", help="write a synthetic national-scale EPD month (CSV, or zip by suffix)"
    )
    p.add_argument("--month", required=True, metavar="YYYY-MM")
    p.add_argument("--rows", type=int, default=18_000_000, help="default 18,000,000")
    p.add_argument("--layout", choices=("legacy", "current"), default="legacy")
    p.add_argument("--out", required=True, metavar="FILE[.zip]")
    p.add_argument("--seed", type=int, default=20240101)
    p.set_defaults(func=cmd_generate_epd)

    p = sub.add_parser("ui", help="open the Dagster UI on the local persistent instance")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser(
        "ome", help="resolve presentations (CSV with bnf_code,bnf_name) to OME, as CSV"
    )
    p.add_argument("input", help="CSV file with columns bnf_code,bnf_name")
    p.add_argument("--factor-set", help="OME factor set (default: OPIOIDS_OME_FACTOR_SET or uk)")
    p.set_defaults(func=cmd_ome)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
