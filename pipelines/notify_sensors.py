"""Sensors that tell people: a run failed (which month, which step, why), or a new
publication is out (latest month, practices, national headline figures).

Both are on by default and do nothing until a channel is configured (see
:mod:`pipelines.notify`); they read the settings of the code location's process, so the
SMTP password and the webhook URL stay in its environment and never show in the UI.
"""

from __future__ import annotations

from pathlib import Path

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    EventLogEntry,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SkipReason,
    asset_sensor,
    run_failure_sensor,
)

from pipelines.config import Settings, code_location_settings
from pipelines.notify import (
    Message,
    channels,
    deliver,
    failed_steps,
    failure_message,
    month_of,
    publication_summary,
    success_message,
)

# How often the daemon looks for failed runs and new publications (a cheap query of the
# instance's event log); a message follows an event within about this long.
MESSAGE_SENSOR_SECONDS = code_location_settings().message_look_seconds


def _send(settings: Settings, message: Message) -> SkipReason:
    if not channels(settings):
        return SkipReason(f"no message channel configured: {message.subject}")
    sent = deliver(settings, message)
    return SkipReason(f"sent by {', '.join(sent)}: {message.subject}")


def run_failure_message(context: RunFailureSensorContext) -> Message:
    run = context.dagster_run
    logs = context.instance.all_logs(run.run_id)
    steps = failed_steps(e.dagster_event for e in logs if e.dagster_event is not None)
    reason = context.failure_event.message or "the run failed"
    return failure_message(run.job_name, run.run_id, month_of(run.tags), steps, reason)


@run_failure_sensor(
    name="report_run_failure",
    minimum_interval_seconds=MESSAGE_SENSOR_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "When a run fails, send a message naming the month, the failed step and the reason "
        "(e-mail and/or webhook, when configured)."
    ),
)
def report_run_failure(context: RunFailureSensorContext):
    return _send(code_location_settings(), run_failure_message(context))


def publication_message(extract: Path, run_id: str) -> Message:
    return success_message(publication_summary(extract), extract, run_id)


@asset_sensor(
    asset_key=AssetKey("published_extract"),
    name="report_publication",
    minimum_interval_seconds=MESSAGE_SENSOR_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "After each new publication, send a summary: the latest month, the GP practices in "
        "it and the national headline figures (e-mail and/or webhook, when configured)."
    ),
)
def report_publication(context: SensorEvaluationContext, asset_event: EventLogEntry):
    settings = code_location_settings()
    return _send(settings, publication_message(settings.extract_path, asset_event.run_id))
