"""The new-month sensor: notice newly published or re-published months.

It looks at the portal (one ``package_show``) often while a month is due, from the
``publication_window_from_day`` of each month to its end (NHSBSA publishes month M around
the 15th-20th of M+2), and rarely otherwise. The daemon evaluates it every
``new_month_look_seconds``; outside the window a tick looks only when
``new_month_idle_look_seconds`` have passed since the last look (kept in the cursor).

Publishing after months land is not a sensor here: statistics and publication carry
declarative automation conditions (pipelines/automation.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from pipelines.config import Settings, code_location_settings
from pipelines.fetch import is_unchanged
from pipelines.http import SourceError
from pipelines.jobs import monthly_job
from pipelines.partitions import month_partition_key, monthly_partitions
from pipelines.resources import SourcesResource, StoreResource
from pipelines.sources.ckan import SNOMED_DATASET

# Bound the work one tick can queue, so a first start does not flood the run queue.
MAX_REQUESTS_PER_TICK = 6
PUBLISHER_TIMEZONE = ZoneInfo("Europe/London")
CADENCE = code_location_settings()


def in_publication_window(now: datetime, settings: Settings) -> bool:
    """Whether ``now`` (London time) is in the days a new month is usually published."""
    return now.day >= settings.publication_window_from_day


def look_due(now: datetime, last_look: datetime | None, settings: Settings) -> bool:
    """Whether a tick at ``now`` should look at the portal, given the previous look.

    Inside the window every tick looks. Outside it, a look is due once the idle interval
    has passed, less half a tick so that tick jitter does not push it a whole tick late.
    """
    if last_look is None or in_publication_window(now, settings):
        return True
    waited = (now - last_look).total_seconds()
    return waited >= settings.new_month_idle_look_seconds - settings.new_month_look_seconds / 2


def _last_look(cursor: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(json.loads(cursor)["last_look"]) if cursor else None
    except (ValueError, KeyError, TypeError):
        return None


@sensor(
    job=monthly_job,
    minimum_interval_seconds=CADENCE.new_month_look_seconds,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        f"Look at the portal's EPD resources every {CADENCE.new_month_look_seconds} s from day "
        f"{CADENCE.publication_window_from_day} of the month to its end (when NHSBSA publishes), "
        f"every {CADENCE.new_month_idle_look_seconds} s otherwise; request a run for each month "
        "that is new or was re-published (newer last_modified or size)."
    ),
)
def new_month_sensor(
    context: SensorEvaluationContext, sources: SourcesResource, store: StoreResource
):
    now = datetime.now(PUBLISHER_TIMEZONE)
    last_look = _last_look(context.cursor)
    if not look_due(now, last_look, CADENCE):
        return SkipReason(
            f"outside the publication window; last looked at {last_look:%Y-%m-%d %H:%M}"
        )
    context.update_cursor(json.dumps({"last_look": now.isoformat()}))
    keys = set(monthly_partitions.get_partition_keys())
    try:
        with sources.http() as http:
            resources = sources.ckan(http).epd_resources(SNOMED_DATASET)
    except SourceError as exc:
        return SkipReason(f"portal not reachable: {exc}")
    requests = []
    for resource in sorted(resources, key=lambda r: r.month, reverse=True):
        key = month_partition_key(resource.month)
        if key not in keys or is_unchanged(store.staging, resource.month, resource) is not None:
            continue
        requests.append(RunRequest(run_key=f"{key}|{resource.version_key}", partition_key=key))
        if len(requests) >= MAX_REQUESTS_PER_TICK:
            break
    return requests or SkipReason("every published month is staged and unchanged")
