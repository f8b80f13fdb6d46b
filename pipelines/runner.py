"""Running the pipeline through Dagster from the command line.

``opioids refresh`` and ``opioids demo`` launch real runs of the code location's jobs on
the local persistent instance (``$DAGSTER_HOME``), so every run, partition and metadata
entry they produce is visible in the Dagster UI afterwards, exactly as if launched there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dagster import AssetKey, DagsterInstance, Definitions, ExecuteInProcessResult
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from filelock import FileLock

from pipelines.config import REPO_ROOT, Settings
from pipelines.files import StorageError, ensure_writable_dir
from pipelines.jobs import DASHBOARD_ASSETS, MONTHLY_ASSETS, ORGANISATION_ASSETS, PUBLISH_ASSETS
from pipelines.partitions import month_partition_key
from pipelines.run_liveness import (
    interruptible_pool_waits,
    recover_dead_runs,
    wait_for_pool,
    worker_tags,
)
from pipelines.warehouse import WAREHOUSE_POOL


def run_config(verbose: bool) -> dict:
    """The full event log is in the instance (and the UI); the terminal shows it only when
    ``verbose``; otherwise the command prints its own one-line outcome per run."""
    level = "INFO" if verbose else "CRITICAL"
    return {"loggers": {"console": {"config": {"log_level": level}}}}


class RunFailed(RuntimeError):
    """A Dagster run failed; the message carries the failing step and its error."""


class DataDirUnusable(RunFailed):
    """Nothing could run: a folder the pipeline writes to cannot be written."""


def instance_profile(settings: Settings) -> Path:
    """The ``dagster.yaml`` to use: the SQLite one of the repository (the default), or the
    PostgreSQL deployment profile ``deploy/dagster.yaml``, which reads the database from
    ``DAGSTER_POSTGRES_URL`` (set here from the settings, so runs in this process see it)."""
    if settings.instance != "postgres":
        return REPO_ROOT / "dagster.yaml"
    if not settings.postgres_url:
        raise ValueError(
            "OPIOIDS_INSTANCE=postgres needs DAGSTER_POSTGRES_URL "
            "(postgresql://user:password@host:port/database)"
        )
    os.environ["DAGSTER_POSTGRES_URL"] = settings.postgres_url
    return REPO_ROOT / "deploy" / "dagster.yaml"


def prepare_instance(
    settings: Settings, *, echo: Callable[[str], None] = lambda _: None
) -> DagsterInstance:
    """The persistent instance under ``DAGSTER_HOME``, configured from ``dagster.yaml``
    (or the PostgreSQL profile, see :func:`instance_profile`), with runs whose process
    died marked failed and their pool slots freed.

    Creating an instance creates its SQLite tables; two processes doing that at once on a
    new ``DAGSTER_HOME`` race ("table runs already exists"), so it is done under an
    exclusive file lock (released by the kernel if the holder dies).
    """
    home = settings.dagster_home
    try:
        ensure_writable_dir(settings.data_dir, "data directory (OPIOIDS_DATA_DIR)")
        ensure_writable_dir(home, "Dagster home (DAGSTER_HOME)")
    except StorageError as exc:
        raise DataDirUnusable(f"{exc}; nothing was run") from None
    os.environ["DAGSTER_HOME"] = str(home)
    with FileLock(home / ".instance.lock"):
        config = home / "dagster.yaml"
        source = instance_profile(settings)
        if not config.exists() or config.read_bytes() != source.read_bytes():
            shutil.copyfile(source, config)
        instance = DagsterInstance.get()
        for dead in recover_dead_runs(instance):
            echo(
                f"  run {dead.run_id[:8]} ({dead.job_name}) was left running by a process "
                f"that is gone (pid {dead.pid}): marked failed, its warehouse slot freed"
            )
        return instance


def build_definitions(settings: Settings, **source_overrides: object) -> Definitions:
    """The code location's definitions with resources bound to these settings."""
    from pipelines.definitions import build_definitions
    from pipelines.resources import build_resources

    return build_definitions(build_resources(settings, **source_overrides))


def _failure_message(result: ExecuteInProcessResult) -> str:
    from pipelines.notify import failed_steps

    messages = [f"{step}: {reason}" for step, reason in failed_steps(result.all_events)]
    return "; ".join(messages) or "run failed (see the Dagster UI for the run's events)"


# How the command line names each step's work in its one-line outcomes.
STEP_LABELS = {
    "practice_organisations": "practices and organisations",
    "comparator_statistics": "statistics",
    "published_extract": "publication",
}


@dataclass
class RefreshReport:
    months: list[date]
    run_ids: list[str] = field(default_factory=list)


def partition_tags(months: list[date]) -> dict[str, str]:
    """The tags that make one run cover a range of months (single-run backfill policy)."""
    return {
        ASSET_PARTITION_RANGE_START_TAG: month_partition_key(min(months)),
        ASSET_PARTITION_RANGE_END_TAG: month_partition_key(max(months)),
    }


def refresh(
    settings: Settings,
    months: list[date],
    *,
    echo: Callable[[str], None] = print,
    publish: bool = True,
    dashboard: bool = False,
    verbose: bool = False,
    **source_overrides: object,
) -> RefreshReport:
    """Organisations, then the months in order, then statistics and publication, as one
    Dagster run of the ``refresh`` job (the months as one partition range).

    A failed step stops the run: nothing downstream of it runs, so a month that fails is
    never published over. With ``dashboard``, the publication carries its dashboard site,
    built from its extract before the switch; without it, it carries none.
    """
    if not months:
        raise ValueError("no months to refresh")
    instance = prepare_instance(settings, echo=echo)
    defs = build_definitions(settings, **source_overrides)
    report = RefreshReport(months=months)
    blocks = contiguous_blocks(months)
    for i, block in enumerate(blocks):
        keys = (ORGANISATION_ASSETS if i == 0 else ()) + MONTHLY_ASSETS
        if publish and i == len(blocks) - 1:
            keys += PUBLISH_ASSETS + (DASHBOARD_ASSETS if dashboard else ())
        _run_block(defs, instance, block, keys, echo=echo, verbose=verbose, report=report)
    return report


def contiguous_blocks(months: list[date]) -> list[list[date]]:
    """Months split into runs of consecutive months: one Dagster run covers a partition
    range, and a range must not take in months that were not asked for."""
    blocks: list[list[date]] = []
    for month in sorted(set(months)):
        if blocks:
            last = blocks[-1][-1]
            following = date(last.year + last.month // 12, last.month % 12 + 1, 1)
            if month == following:
                blocks[-1].append(month)
                continue
        blocks.append([month])
    return blocks


def _run_block(
    defs: Definitions,
    instance: DagsterInstance,
    months: list[date],
    keys: tuple[str, ...],
    *,
    echo: Callable[[str], None],
    verbose: bool,
    report: RefreshReport,
) -> None:
    single = len(months) == 1
    span = f"{months[0]:%Y-%m}" if single else f"{min(months):%Y-%m}..{max(months):%Y-%m}"
    # The run writes the warehouse; wait for it here, saying who holds it. Should another
    # run take the slot after this, Ctrl-C still stops the run (interruptible_pool_waits).
    wait_for_pool(instance, WAREHOUSE_POOL, echo=echo)
    with interruptible_pool_waits() as interrupted:
        result = defs.resolve_job_def("refresh").execute_in_process(
            run_config=run_config(verbose),
            instance=instance,
            partition_key=month_partition_key(months[0]) if single else None,
            asset_selection=[AssetKey(k) for k in keys],
            tags={
                "opioids/trigger": "cli",
                **worker_tags(),
                **({} if single else partition_tags(months)),
            },
            raise_on_error=False,
        )
    if interrupted():
        echo(f"  interrupted: run {result.run_id[:8]} stopped and marked failed")
        raise KeyboardInterrupt
    report.run_ids.append(result.run_id)
    labels = {key: f"month {span}" if single else f"months {span}" for key in MONTHLY_ASSETS}
    labels |= STEP_LABELS
    for event in result.all_events:
        if event.is_step_success and event.step_key:
            echo(f"  ok  {event.step_key}  ({labels.get(event.step_key, event.step_key)})")
    if not result.success:
        failed = {e.step_key for e in result.all_events if e.is_step_failure}
        first = next((k for k in keys if k in failed), None)  # in pipeline order
        label = labels.get(first or "", f"refresh of {span}")
        raise RunFailed(f"{label} failed (run {result.run_id}): {_failure_message(result)}")
    echo(f"  run {result.run_id[:8]}: {len(months)} month(s)")
