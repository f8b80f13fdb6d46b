"""The automation-condition sensor is declared by the code location, so its cadence is a
setting; it still evaluates every asset that carries an automation condition."""

from __future__ import annotations

from dagster import AssetKey

from pipelines.config import code_location_settings
from pipelines.definitions import defs
from pipelines.notify_sensors import report_publication, report_run_failure


def test_automation_sensor_covers_the_automated_assets_at_the_configured_cadence() -> None:
    settings = code_location_settings()
    sensor = defs.resolve_sensor_def("default_automation_condition_sensor")
    assert sensor.minimum_interval_seconds == settings.automation_look_seconds
    graph = defs.resolve_asset_graph()
    automated = {k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition}
    assert automated >= {
        AssetKey("comparator_statistics"),
        AssetKey("published_extract"),
        AssetKey("dashboard"),
    }
    assert automated <= sensor.asset_selection.resolve(graph)
    # Exactly one automation sensor: Dagster adds no default one beside it.
    names = [s.name for s in defs.get_repository_def().sensor_defs if "automation" in s.name]
    assert names == ["default_automation_condition_sensor"]


def test_message_sensors_follow_their_setting() -> None:
    seconds = code_location_settings().message_look_seconds
    assert report_run_failure.minimum_interval_seconds == seconds
    assert report_publication.minimum_interval_seconds == seconds
