"""After the demo, `opioids ui` serves the same instance with the same (sample) sources:
the code location is `opioid_comparators`, and a month materialised from the UI (here
through its GraphQL API, as the Materialize button does) succeeds offline."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from pipelines.config import Settings
from tests.support import default_signals

pytestmark = pytest.mark.integration
OPIOIDS = str(Path(sys.executable).parent / "opioids")

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
STATUS = """
query Status($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }
"""
LOCATIONS = """
query { workspaceOrError { ... on Workspace { locationEntries { name
  locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(url: str, query: str, variables: dict | None = None) -> dict:
    answer = httpx.post(url, json={"query": query, "variables": variables or {}}, timeout=30)
    answer.raise_for_status()
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


def _wait_for_location(url: str, deadline: float) -> list[dict]:
    while time.monotonic() < deadline:
        try:
            entries = _graphql(url, LOCATIONS)["workspaceOrError"]["locationEntries"]
            if entries and all(e["locationOrLoadError"] for e in entries):
                return entries
        except (httpx.HTTPError, KeyError, TypeError):
            pass
        time.sleep(1)
    raise AssertionError("the UI did not load the code location in time")


def test_materialize_a_month_from_the_ui_after_the_demo(tmp_path: Path, sample_copy) -> None:
    from demo.run import portal_dir, run_demo

    data_dir = tmp_path / "data"
    env = dict(os.environ, OPIOIDS_DATA_DIR=str(data_dir))
    env.pop("DAGSTER_HOME", None)
    os.environ.pop("DAGSTER_HOME", None)
    # One month is enough to make the data directory a demo's (publishing is not needed).
    demo = Settings(data_dir=data_dir)
    sample_copy(portal_dir(demo))  # the sample the demo would generate, already generated
    run_demo(demo, echo=lambda _: None, months=[date(2025, 1, 1)], publish=False)

    port = _free_port()
    ui = subprocess.Popen(
        [OPIOIDS, "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=default_signals,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        entries = _wait_for_location(url, time.monotonic() + 300)
        assert [e["name"] for e in entries] == ["opioid_comparators"]
        assert entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation"

        params = {
            "selector": {
                "repositoryLocationName": "opioid_comparators",
                "repositoryName": "__repository__",
                "jobName": "monthly_refresh",
            },
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "2025-02-01"}]},
            "runConfigData": {},
        }
        launched = _graphql(url, LAUNCH, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        status, deadline = None, time.monotonic() + 600
        while time.monotonic() < deadline:
            status = _graphql(url, STATUS, {"runId": run_id})["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(2)
        assert status == "SUCCESS"
        # The month landed in the demo's data directory, fetched from the sample portal.
        assert (data_dir / "staging" / "epd" / "2025-02.parquet").is_file()
    finally:
        os.killpg(ui.pid, signal.SIGINT)
        try:
            ui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait(timeout=10)
