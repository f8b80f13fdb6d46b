"""The Dagster code location: assets, checks, jobs, schedule, sensors and resources.

Statistics and publication carry automation conditions (pipelines/automation.py), so Dagster
adds its ``default_automation_condition_sensor`` to evaluate them."""

from dagster import (
    Definitions,
    in_process_executor,
    load_asset_checks_from_modules,
    load_assets_from_modules,
)

from assets import comparators, ingest, publish, reference
from pipelines.automation import automation_sensor
from pipelines.config import code_location_settings
from pipelines.jobs import dashboard_job, monthly_job, organisations_job, publish_job, refresh_job
from pipelines.notify_sensors import report_publication, report_run_failure
from pipelines.resources import build_resources
from pipelines.schedules import monthly_refresh_schedule
from pipelines.sensors import new_month_sensor

_modules = [ingest, reference, comparators, publish]


def build_definitions(resources: dict) -> Definitions:
    """The same definitions with other resources (the CLI binds them to its settings)."""
    return Definitions(
        assets=load_assets_from_modules(_modules),
        asset_checks=load_asset_checks_from_modules(_modules),
        jobs=[organisations_job, monthly_job, publish_job, refresh_job, dashboard_job],
        schedules=[monthly_refresh_schedule],
        sensors=[new_month_sensor, report_run_failure, report_publication, automation_sensor],
        resources=resources,
        # A run's steps execute in its one process, as with `opioids refresh`: every step
        # after the fetch writes the single-writer warehouse, so a process per step would
        # only add start-up time (seconds per step); months run in parallel as runs.
        executor=in_process_executor,
    )


defs = build_definitions(build_resources(code_location_settings()))
