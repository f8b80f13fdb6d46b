"""The ``opioids`` command: refresh and publish, export, audit the OME reference, open the UI.

Expected failures (a bad argument, a month outside the partitions, a source that cannot be
reached, a rejected month) end with one or two lines on stderr and a non-zero exit; the
full story is in the Dagster run (``opioids ui``), and ``--verbose`` shows it here too.
The demo commands (``demo``, ``sample-portal``, ``generate-epd``) are the only way into the
``demo`` package, which the product never imports otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import click

from pipelines.cli_common import EXIT_USAGE, MONTH, Fail, environment_epilog, package_version
from pipelines.cli_common import settings_of as _settings
from pipelines.cli_outputs import dashboard, data_dictionary, export, ome
from pipelines.config import Settings


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=environment_epilog(),
)
@click.version_option(package_version(), prog_name="opioids")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Show Dagster's log and full error traces on the terminal.",
)
@click.pass_context
def main_group(ctx: click.Context, verbose: bool) -> None:
    """Monthly per-GP-practice comparators of long-term non-cancer opioid prescribing in
    England, from NHSBSA open data.

    \b
    Examples:
      opioids demo                                  offline, on the bundled sample portal
      opioids refresh --from 2025-01 --to 2025-06   the real sources, six months
      opioids export --org QSN --level icb --format xlsx --out qsn.xlsx
      opioids dashboard --serve                     the dashboard on http://127.0.0.1:8000
      opioids ui                                    the Dagster UI on the same instance
    """
    ctx.obj = {"verbose": verbose}


for _command in (dashboard, export, data_dictionary, ome):
    main_group.add_command(_command)


def _run_failed(exc: Exception) -> Fail:
    return Fail(f"{exc}\nThe previous publication, if any, is unchanged.")


def _check_partitions(settings: Settings, months: list[date]) -> None:
    """Refuse months the code location has no partition for, before any work starts."""
    from pipelines.partitions import monthly_partitions

    first = date.fromisoformat(f"{settings.first_month}-01")
    last_key = monthly_partitions.get_last_partition_key()
    last = date.fromisoformat(last_key) if last_key else first
    outside = [m for m in months if m < first or m > last]
    if outside:
        raise Fail(
            f"{outside[0]:%Y-%m} is outside the monthly partitions ({first:%Y-%m} to "
            f"{last:%Y-%m}); set OPIOIDS_FIRST_MONTH to include earlier months.",
            EXIT_USAGE,
        )


@main_group.command()
@click.option("--from", "from_month", type=MONTH, required=True, help="First month, YYYY-MM.")
@click.option("--to", "to_month", type=MONTH, required=True, help="Last month, YYYY-MM.")
@click.option(
    "--route",
    type=click.Choice(["sql", "bulk", "auto"]),
    help="Fetch route (default: OPIOIDS_FETCH_ROUTE, else sql).",
)
@click.pass_context
def refresh(ctx: click.Context, from_month: date, to_month: date, route: str | None) -> None:
    """Fetch, compute and validate a range of months through Dagster, then publish.

    \b
    Examples:
      opioids refresh --from 2025-06 --to 2025-06
      opioids refresh --from 2024-01 --to 2025-06 --route bulk
      OPIOIDS_FIRST_MONTH=2017-01 opioids refresh --from 2017-01 --to 2017-12
    """
    from pipelines.partitions import months_between
    from pipelines.runner import RunFailed
    from pipelines.runner import refresh as run_refresh

    settings = _settings(ctx)
    if route:
        settings = settings.with_overrides(fetch_route=route)
    try:
        months = months_between(from_month, to_month)
    except ValueError as exc:
        raise Fail(str(exc), EXIT_USAGE) from None
    _check_partitions(settings, months)
    if settings.fetch_route in ("bulk", "auto"):
        _show_download_progress()
    click.echo(
        f"Refreshing {len(months)} month(s) from {settings.portal_url} into {settings.data_dir}"
    )
    try:
        run_refresh(settings, months, dashboard=True, verbose=ctx.obj["verbose"])
    except RunFailed as exc:
        raise _run_failed(exc) from None
    click.echo(f"Published: {settings.extract_path}")
    click.echo(f"Dashboard: {settings.dashboard_dir / 'index.html'}")


@main_group.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Run everything offline: the sample portal on loopback, 18 months, publication.

    The data goes to OPIOIDS_DATA_DIR (./data); `opioids ui` afterwards reopens it with
    the same sample sources.

    \b
    Examples:
      opioids demo
      OPIOIDS_DATA_DIR=/tmp/demo opioids --verbose demo
    """
    from demo.run import main as run_demo
    from pipelines.runner import RunFailed

    settings = _settings(ctx)
    try:
        run_demo(settings, verbose=ctx.obj["verbose"])
    except RunFailed as exc:
        raise _run_failed(exc) from None


@main_group.command("sample-portal")
@click.option("--port", type=int, default=8765, show_default=True, help="Loopback port.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="Where the sample data is generated (default: <data dir>/sample_portal).",
)
@click.option(
    "--withhold",
    "withheld",
    metavar="YYYY-MM",
    multiple=True,
    help="Hold a month back; POST /_sample/publish?month=YYYY-MM publishes it later.",
)
@click.pass_context
def sample_portal(
    ctx: click.Context, port: int, data_dir: Path | None, withheld: tuple[str, ...]
) -> None:
    """Serve the bundled sample portal on 127.0.0.1 (CKAN, list sizes, ODS).

    \b
    Examples:
      opioids sample-portal --port 8765   then export the printed OPIOIDS_* variables
      opioids sample-portal --withhold 2025-12   then, while the daemon runs:
        curl -X POST 'http://127.0.0.1:8765/_sample/publish?month=2025-12'
    """
    from demo.sample_portal import serve_forever

    settings = _settings(ctx)
    serve_forever(data_dir or settings.data_dir / "sample_portal", port, withheld=withheld)


@main_group.command("generate-epd")
@click.option("--month", type=MONTH, required=True, help="The month the rows claim, YYYY-MM.")
@click.option("--rows", type=int, default=18_000_000, show_default=True, help="Rows to write.")
@click.option(
    "--layout",
    type=click.Choice(["legacy", "current"]),
    default="legacy",
    show_default=True,
    help="Header layout: before or after the 2025 column renames.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="FILE.csv or .zip")
@click.option("--seed", type=int, default=20240101, show_default=True, help="Random seed.")
def generate_epd(month: date, rows: int, layout: str, out: Path, seed: int) -> None:
    """Write a synthetic national-scale EPD month (for benchmarks).

    \b
    Example:
      opioids generate-epd --month 2025-03 --rows 200000 --out /tmp/epd.zip
    """
    from demo.generate_epd import run_cli

    run_cli(month=month, rows=rows, layout=layout, out=out, seed=seed)


@main_group.command()
@click.option("--port", type=int, default=3000, show_default=True, help="Loopback port.")
@click.pass_context
def ui(ctx: click.Context, port: int) -> None:
    """Open the Dagster UI on the instance the CLI and the demo write to.

    After `opioids demo`, the sample portal is served again so runs launched from the UI
    use the demo's sources, offline.

    \b
    Examples:
      opioids ui               then open http://127.0.0.1:3000
      opioids ui --port 3001
    """
    from demo.run import is_demo_data_dir, serve_ui
    from pipelines.runner import DataDirUnusable
    from pipelines.ui import run_ui

    settings = _settings(ctx)
    try:
        if is_demo_data_dir(settings):
            raise SystemExit(serve_ui(settings, lambda s: run_ui(s, port)))
        raise SystemExit(run_ui(settings, port))
    except DataDirUnusable as exc:
        raise Fail(str(exc)) from None


@main_group.command()
@click.option(
    "--code-server",
    metavar="HOST:PORT",
    help="Point the workspace at a running code location server instead of loading the code.",
)
@click.pass_context
def instance(ctx: click.Context, code_server: str | None) -> None:
    """Prepare the Dagster instance and workspace in DAGSTER_HOME, for the web server and
    the daemon of a deployment (OPIOIDS_INSTANCE picks SQLite or PostgreSQL).

    \b
    Example (what the systemd units and the compose file run first):
      OPIOIDS_INSTANCE=postgres DAGSTER_POSTGRES_URL=postgresql://... \\
        opioids instance --code-server 127.0.0.1:4000
    """
    from dagster_postgres.utils import DagsterPostgresException

    from pipelines.runner import RunFailed, prepare_instance
    from pipelines.ui import write_workspace

    settings = _settings(ctx)
    try:
        workspace = write_workspace(settings, code_server)
        prepared = prepare_instance(settings)
    except ValueError as exc:
        raise Fail(str(exc), EXIT_USAGE) from None
    except RunFailed as exc:
        raise Fail(str(exc)) from None
    except DagsterPostgresException as exc:
        cause = getattr(exc.__cause__, "orig", None) or exc.__cause__ or exc
        reason = str(cause).strip().splitlines()[0]
        raise Fail(f"cannot open the instance's PostgreSQL database: {reason}") from None
    storage = type(prepared.run_storage).__name__
    prepared.dispose()
    click.echo(f"Dagster instance in {settings.dagster_home} ({settings.instance}: {storage})")
    click.echo(f"Workspace: {workspace}")


def _show_download_progress() -> None:
    """Bulk downloads report progress through logging; show it on the terminal too."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    for name in ("pipelines.sources.bulk_download", "pipelines.sources.bulk"):
        logging.getLogger(name).setLevel(logging.INFO)
        logging.getLogger(name).addHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (``--verbose`` lets unexpected errors show a trace)."""
    try:
        main_group.main(
            args=list(argv) if argv is not None else None,
            prog_name="opioids",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
