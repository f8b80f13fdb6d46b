"""The new-month sensor: notice newly published or re-published months.

Publishing after months land is not a sensor here: statistics and publication carry
declarative automation conditions (pipelines/automation.py)."""

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from pipelines.fetch import is_unchanged
from pipelines.http import SourceError
from pipelines.jobs import monthly_job
from pipelines.partitions import month_partition_key, monthly_partitions
from pipelines.resources import SourcesResource, StoreResource
from pipelines.sources.ckan import SNOMED_DATASET

# Bound the work one tick can queue, so a first start does not flood the run queue.
MAX_REQUESTS_PER_TICK = 6


@sensor(
    job=monthly_job,
    minimum_interval_seconds=6 * 60 * 60,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "Every 6 hours, compare the portal's EPD resources with what is staged, and request "
        "a run for each month that is new or was re-published (newer last_modified or size)."
    ),
)
def new_month_sensor(
    context: SensorEvaluationContext, sources: SourcesResource, store: StoreResource
):
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
