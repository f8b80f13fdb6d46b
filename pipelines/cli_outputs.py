"""The ``opioids`` commands on what the pipeline published: the dashboard, an
organisation's export, the data dictionary, and the OME reference audit."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipelines.cli_common import EXIT_USAGE, Fail
from pipelines.cli_common import settings_of as _settings


@click.command()
@click.option("--serve", is_flag=True, help="Serve the site on 127.0.0.1 after building it.")
@click.option(
    "--port", type=int, default=8000, show_default=True, help="Loopback port for --serve."
)
@click.option("--no-build", is_flag=True, help="Serve the site as it is, without rebuilding.")
@click.option(
    "--extract",
    type=click.Path(path_type=Path),
    help="Build from this extract instead, into --out (outside the publication).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Build a separate site here instead of the publication's (default: "
    "<data dir>/published/dashboard, part of the current publication).",
)
@click.pass_context
def dashboard(
    ctx: click.Context,
    serve: bool,
    port: int,
    no_build: bool,
    extract: Path | None,
    out: Path | None,
) -> None:
    """(Re)build the static dashboard site from the published extract; optionally serve it.

    By default the site is rebuilt inside a new publication of the current extract and
    files, switched in once it checks out: published/dashboard/ always matches
    published/opioid_comparators.duckdb. The site works offline, opened straight from disk
    or from any web server.

    \b
    Examples:
      opioids dashboard                  rebuild, then open the printed index.html
      opioids dashboard --serve          rebuild and serve on http://127.0.0.1:8000
      opioids dashboard --serve --no-build --port 8080
      opioids dashboard --extract kept.duckdb --out /tmp/site
    """
    from pipelines.dashboard import DashboardError, SiteCheckFailed, build_site, rebuild_dashboard
    from pipelines.releases import NoPublication

    settings = _settings(ctx)
    if out is not None and out.absolute() == settings.dashboard_dir.absolute():
        out = None  # the publication's own site
    if extract is not None and out is None:
        raise Fail("--extract builds a site outside the publication: give --out too", EXIT_USAGE)
    site = out or settings.dashboard_dir
    if not no_build:
        bounds = {"memory_limit": settings.duckdb_memory_limit}
        bounds["temp_directory"] = settings.duckdb_temp_dir
        try:
            if out is None:
                build = rebuild_dashboard(settings.published_dir, **bounds)
            else:
                build = build_site(extract or settings.extract_path, out, **bounds)
        except (DashboardError, SiteCheckFailed, NoPublication) as exc:
            kept = "publication" if out is None else "dashboard, if any,"
            raise Fail(f"{exc}\nThe previous {kept} is unchanged.") from None
        click.echo(
            f"Built {build.pages} pages for {build.data_month} in {build.seconds:.0f}s: "
            f"{site / 'index.html'}"
        )
    elif not (site / "index.html").is_file():
        raise Fail(f"no dashboard at {site}: run `opioids dashboard` first", EXIT_USAGE)
    if serve:
        from pipelines.dashboard.serve import make_server, url_of

        try:
            server = make_server(site, port)
        except OSError as exc:
            raise Fail(f"cannot serve on 127.0.0.1:{port}: {exc.strerror}", EXIT_USAGE) from None
        click.echo(f"Serving the dashboard on {url_of(server)} (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


@click.command()
@click.option("--org", required=True, help="ICB, sub-ICB location, PCN or practice code.")
@click.option(
    "--level",
    type=click.Choice(["icb", "sub_icb", "pcn", "practice"]),
    default="icb",
    show_default=True,
    help="What kind of organisation --org is.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx", "parquet"]),
    required=True,
    help="csv and parquet: one tidy table; xlsx: a workbook with a sheet per comparator.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="File or directory.")
@click.option(
    "--extract",
    type=click.Path(path_type=Path),
    help="Published extract to read (default: the data directory's).",
)
@click.pass_context
def export(
    ctx: click.Context, org: str, level: str, fmt: str, out: Path, extract: Path | None
) -> None:
    """One organisation's practices, every comparator, the last 12 months.

    \b
    Examples:
      opioids export --org QSN --level icb --format xlsx --out qsn.xlsx
      opioids export --org U12345 --level pcn --format csv --out exports/
    """
    from pipelines.export import ExportError, export_organisation

    settings = _settings(ctx)
    try:
        written = export_organisation(
            extract or settings.extract_path, org=org, level=level, fmt=fmt, out=out
        )
    except ExportError as exc:
        raise Fail(str(exc), EXIT_USAGE) from None
    click.echo(f"Wrote {written}")


@click.command("data-dictionary")
@click.option(
    "--extract",
    type=click.Path(path_type=Path),
    help="Published extract to describe (default: the data directory's).",
)
@click.pass_context
def data_dictionary(ctx: click.Context, extract: Path | None) -> None:
    """Print the data dictionary (Markdown) generated from an extract's column comments.

    \b
    Example:
      opioids data-dictionary > docs/data-dictionary.md
    """
    import duckdb

    from pipelines.dictionary import data_dictionary_markdown

    path = extract or _settings(ctx).extract_path
    if not path.is_file():
        raise Fail(f"no published extract at {path}; run `opioids refresh` first", EXIT_USAGE)
    con = duckdb.connect(str(path), read_only=True)
    try:
        click.echo(data_dictionary_markdown(con), nl=False)
    finally:
        con.close()


@click.command()
@click.argument("input_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--factor-set", help="OME factor set (default: OPIOIDS_OME_FACTOR_SET, else uk).")
@click.pass_context
def ome(ctx: click.Context, input_csv: Path, factor_set: str | None) -> None:
    """Resolve presentations (a CSV with bnf_code,bnf_name) to OME, written as CSV.

    \b
    Example:
      opioids ome presentations.csv > ome.csv
    """
    from pipelines.ome import write_ome_csv

    settings = _settings(ctx)
    try:
        write_ome_csv(input_csv, sys.stdout, factor_set=factor_set or settings.ome_factor_set)
    except (ValueError, FileNotFoundError) as exc:
        raise Fail(str(exc), EXIT_USAGE) from None
