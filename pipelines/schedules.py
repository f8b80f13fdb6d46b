"""The monthly schedule: NHSBSA publishes month M around the 15th-20th of month M+2."""

from datetime import date

from dagster import RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from pipelines.jobs import monthly_job
from pipelines.partitions import month_partition_key, monthly_partitions

# The 22nd leaves a margin after the usual publication window; the sensor catches late ones.
SCHEDULE_DAY = 22


def expected_month(today: date) -> date:
    """The month whose data should be newly published by ``today`` (two in arrears)."""
    year, month = today.year, today.month - 2
    if month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


@schedule(
    job=monthly_job,
    cron_schedule=f"0 6 {SCHEDULE_DAY} * *",
    execution_timezone="Europe/London",
    description="On the 22nd, request the month two months back (the newly published one).",
)
def monthly_refresh_schedule(context: ScheduleEvaluationContext):
    scheduled = context.scheduled_execution_time
    today = scheduled.date() if scheduled else date.today()
    month = expected_month(today)
    key = month_partition_key(month)
    if key not in monthly_partitions.get_partition_keys():
        return SkipReason(f"{month:%Y-%m} is outside the configured partitions")
    return RunRequest(run_key=f"scheduled-{key}", partition_key=key)
