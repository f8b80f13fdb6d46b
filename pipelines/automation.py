"""When the cross-month statistics and the publication run by themselves.

Both carry a declarative automation condition, evaluated by Dagster's
``default_automation_condition_sensor`` (toggle it on under Automation in the UI). The rule
is the same for both: something upstream was updated since the asset last ran, and nothing
upstream is still being written. A backfill of N months (one run, or N runs queued by the
new-month sensor) therefore ends in one statistics-and-publish run once the last month has
landed, not one per month; a single scheduled month ends in one too.

A month whose step failed (a critical check rejected it) records no materialisation, so it
never counts as an update, and while any month's latest run has failed publication waits:
the months are not published over a rejected one. Re-running or fixing that month lets it
go ahead. See docs/adr/ for why.
"""

from __future__ import annotations

from dagster import AssetSelection, AutomationCondition, AutomationConditionSensorDefinition

from pipelines.config import code_location_settings

# A dependency was updated (not by a run that already ran this asset) since this asset was
# last requested or updated.
_updated_since_handled = AutomationCondition.any_deps_updated().since_last_handled()

# Months still being written: a run or a backfill holds an upstream partition.
_upstream_in_progress = AutomationCondition.any_deps_in_progress()

# Some month's latest run failed (rejected by a critical check, or an error).
_upstream_failed = AutomationCondition.any_deps_match(
    AutomationCondition.execution_failed()
).with_label("any_deps_failed")

PUBLISH_WHEN_SETTLED = (
    _updated_since_handled
    & ~_upstream_in_progress
    & ~_upstream_failed
    & ~AutomationCondition.in_progress()
).with_label("publish_when_months_settle")


# Dagster would add this sensor by itself (same name, stopped until turned on, every 30 s);
# it is declared here so that how often it evaluates is a setting.
automation_sensor = AutomationConditionSensorDefinition(
    "default_automation_condition_sensor",
    target=AssetSelection.all(),
    minimum_interval_seconds=code_location_settings().automation_look_seconds,
    description=(
        "Evaluates the automation conditions: statistics and publication run once the months "
        "upstream have settled, the dashboard after each publication."
    ),
)
