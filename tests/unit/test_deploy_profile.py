"""The PostgreSQL deployment profile and the choice between it and the SQLite default."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipelines.config import REPO_ROOT, Settings, load_settings
from pipelines.runner import instance_profile, prepare_instance
from pipelines.ui import write_workspace

SQLITE = REPO_ROOT / "dagster.yaml"
POSTGRES = REPO_ROOT / "deploy" / "dagster.yaml"


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_the_profiles_differ_only_in_storage_queue_and_retries():
    sqlite, postgres = _load(SQLITE), _load(POSTGRES)
    deployment_only = {"storage", "run_coordinator", "run_retries"}
    assert set(postgres) - set(sqlite) == deployment_only
    assert set(sqlite) <= set(postgres)
    for section in sqlite:
        assert postgres[section] == sqlite[section], section


def test_the_postgres_profile_reads_the_database_from_the_environment():
    profile = _load(POSTGRES)
    assert profile["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_POSTGRES_URL"}}}
    assert "postgresql://" not in POSTGRES.read_text().split("storage:")[1]
    assert profile["run_coordinator"]["class"] == "QueuedRunCoordinator"
    # Crashed workers are retried; a month rejected by a failed step is reported instead.
    assert profile["run_retries"] == {
        "enabled": True,
        "max_retries": 1,
        "retry_on_asset_or_op_failure": False,
    }
    assert profile["run_monitoring"]["enabled"] is True
    assert profile["concurrency"]["pools"]["default_limit"] == 1


def test_the_instance_setting_chooses_the_profile(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_POSTGRES_URL", raising=False)
    assert instance_profile(Settings(data_dir=tmp_path)) == SQLITE
    url = "postgresql://dagster@127.0.0.1:5432/dagster"
    settings = load_settings({"OPIOIDS_INSTANCE": "postgres", "DAGSTER_POSTGRES_URL": url})
    assert instance_profile(settings) == POSTGRES
    # Runs executed in this process (opioids refresh) read the URL from the environment.
    import os

    assert os.environ["DAGSTER_POSTGRES_URL"] == url
    assert url not in repr(settings)


def test_the_postgres_profile_needs_a_database_url(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="DAGSTER_POSTGRES_URL"):
        load_settings({"OPIOIDS_INSTANCE": "postgres"})
    with pytest.raises(ValueError, match="OPIOIDS_INSTANCE must be one of"):
        load_settings({"OPIOIDS_INSTANCE": "mysql"})
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    with pytest.raises(ValueError, match="DAGSTER_POSTGRES_URL"):
        prepare_instance(Settings(data_dir=tmp_path, instance="postgres"))


def test_the_workspace_points_at_a_code_server(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    settings = Settings(data_dir=tmp_path)
    served = _load(write_workspace(settings, "127.0.0.1:4000"))["load_from"][0]
    assert served == {
        "grpc_server": {"host": "127.0.0.1", "port": 4000, "location_name": "opioid_comparators"}
    }
    loaded = _load(write_workspace(settings))["load_from"][0]
    assert loaded["python_module"]["module_name"] == "pipelines.definitions"
    with pytest.raises(ValueError, match="host:port"):
        write_workspace(settings, "4000")


def test_an_unreachable_database_is_one_line_not_a_traceback(tmp_path):
    import subprocess
    import sys

    from tests.postgres import free_port

    env = {
        "PATH": "/usr/bin:/bin",
        "OPIOIDS_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(tmp_path / "home"),
        "OPIOIDS_INSTANCE": "postgres",
        "DAGSTER_POSTGRES_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/dagster",
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "opioids"), "instance"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "error: cannot open the instance's PostgreSQL database: connection" in done.stderr
    assert "Traceback" not in done.stderr
