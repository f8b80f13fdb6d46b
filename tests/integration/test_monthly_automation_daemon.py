"""The monthly refresh with nobody there: the Dagster daemon and a code server on the
PostgreSQL instance, the sensors on, and the sample portal publishing while they run.

One test, three acts, on a compressed clock (the new-month sensor looks every 2 s instead
of every 10 minutes, every day counting as a publication day; the automation conditions
and the message sensors are evaluated as often as the daemon's loop allows instead of
every 30 and 10 s):

1. the portal publishes a new month: the sensor requests it, the month's run completes,
   statistics and publication follow once, the month is in the published extract and a
   summary e-mail goes out;
2. the portal re-publishes a month with changed numbers: it is fetched and published again;
3. the portal fails for that month (re-published, then answering 503): the failure is
   e-mailed naming the month, the step and the reason, and the publication is unchanged.

Each wait is bounded; the measured delays are printed (``pytest -s``) and the real-world
figure is worked out in docs/deployment.md.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import httpx
import pytest
from dagster import AssetKey, DagsterRunStatus, RunsFilter

from pipelines.config import REPO_ROOT, settings_environ
from pipelines.runner import prepare_instance, refresh
from pipelines.ui import LOCATION_NAME
from tests.postgres import free_port
from tests.smtp_sink import SmtpSink
from tests.support import FAST_RETRIES, default_signals, portal_settings

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
NEW_MONTH, REPUBLISHED = "2025-12", "2025-11"
# Bounds on each act, generous for a shared 2-core machine; typical delays are printed.
ACT_TIMEOUT = 240.0
MESSAGE_TIMEOUT = 60.0


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its run workers
            restore_signals=True,
            preexec_fn=default_signals,
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait(what: str, condition, timeout: float, logs: list[Path], poll: float = 1.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)
    raise AssertionError(f"{what}: not within {timeout:.0f} s\n{tails}")


def _extract_month_figures(extract: Path) -> dict[str, float]:
    """Month -> sum of the practices' 1-month numerators in the published extract."""
    if not extract.exists():
        return {}
    con = duckdb.connect(str(extract), read_only=True)
    try:
        rows = con.sql(
            "SELECT strftime(month, '%Y-%m'), sum(numerator) FROM practice_comparators "
            "WHERE period = '1m' GROUP BY ALL"
        ).fetchall()
    finally:
        con.close()
    return {month: total for month, total in rows}


def _summaries(sink: SmtpSink) -> list:
    return [m for m in sink.messages if "published up to" in m["Subject"]]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_republished_and_failing_months_with_nobody_there(
    postgres_server, tmp_path, monkeypatch, sample_copy
):
    from demo.sample_portal import SamplePortal

    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", "")  # set from the settings below
    processes: list[subprocess.Popen] = []
    logs = [tmp_path / "code_server.log", tmp_path / "daemon.log"]
    clock, phases = time.monotonic(), []

    def phase(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        phases.append(f"{name} {now - clock:.0f} s")
        clock = now

    with (
        SamplePortal(sample_copy(tmp_path / "portal"), withheld=(NEW_MONTH,)) as portal,
        SmtpSink() as sink,
    ):
        settings = portal_settings(tmp_path / "data", portal.url).with_overrides(
            instance="postgres",
            postgres_url=postgres_server.new_database("automation"),
            first_month="2025-11",
            publication_window_from_day=1,  # every day is a publication day ...
            new_month_look_seconds=2,  # ... and a look every 2 s instead of 10 minutes
            automation_look_seconds=2,
            message_look_seconds=2,
            smtp_host=sink.host,
            smtp_port=sink.port,
            smtp_security="none",
            mail_to="prescribing-team@example.org",
        )
        extract = settings.extract_path
        # What was there before: a month published from the command line.
        refresh(settings, [date(2025, 11, 1)], echo=lambda _: None, **FAST_RETRIES)
        assert set(_extract_month_figures(extract)) == {"2025-11"}
        phase("first publication from the command line")

        grpc_port = free_port()
        env = {
            **os.environ,
            **settings_environ(settings),
            "DAGSTER_HOME": str(home),
            "PYTHONUNBUFFERED": "1",
        }
        # What the code server's unit runs first: the instance profile and the workspace.
        prepared = subprocess.run(
            [str(BIN / "opioids"), "instance", "--code-server", f"127.0.0.1:{grpc_port}"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert prepared.returncode == 0, prepared.stderr
        assert "(postgres: PostgresRunStorage)" in prepared.stdout
        workspace = home / "workspace.yaml"
        assert f"port: {grpc_port}" in workspace.read_text()
        instance = prepare_instance(settings)
        try:
            processes.append(
                _start(
                    [
                        str(BIN / "dagster"), "code-server", "start",
                        "-m", "pipelines.definitions", "--location-name", LOCATION_NAME,
                        "-h", "127.0.0.1", "-p", str(grpc_port),
                    ],
                    env,
                    logs[0],
                )
            )  # fmt: skip

            def sensors_started() -> bool:
                done = subprocess.run(
                    [str(BIN / "dagster"), "sensor", "start", "--start-all", "-w", str(workspace)],
                    cwd=REPO_ROOT,
                    env=env,
                    capture_output=True,
                    timeout=120,
                )
                return done.returncode == 0

            _wait("sensors started on the code server", sensors_started, 120, logs, poll=2)
            phase("instance, code server and sensors")
            processes.append(
                _start([str(BIN / "dagster-daemon"), "run", "-w", str(workspace)], env, logs[1])
            )

            def publications() -> int:
                return len(
                    instance.fetch_materializations(
                        AssetKey("published_extract"), limit=100
                    ).records
                )

            def month_runs(month: str) -> list:
                return instance.get_runs(
                    RunsFilter(
                        job_name="monthly_refresh", tags={"dagster/partition": f"{month}-01"}
                    )
                )

            # The publication made before the daemon started is reported at its first look.
            sink.wait_for(lambda m: "published up to 2025-11" in m["Subject"], ACT_TIMEOUT)
            phase("daemon up, first message")

            # 1. A new month appears on the portal.
            published_before = publications()
            started = time.monotonic()
            httpx.post(
                f"{portal.url}/_sample/publish", params={"month": NEW_MONTH}
            ).raise_for_status()
            _wait(
                f"{NEW_MONTH} in the published extract",
                lambda: NEW_MONTH in _extract_month_figures(extract),
                ACT_TIMEOUT,
                logs,
            )
            new_month_delay = time.monotonic() - started
            summary = sink.wait_for(
                lambda m: f"published up to {NEW_MONTH}" in m["Subject"], MESSAGE_TIMEOUT
            )
            body = summary.get_content()
            assert f"GP practices in {NEW_MONTH}:" in body and "England, 2025-12:" in body
            assert "Opioid items:" in body
            runs = month_runs(NEW_MONTH)
            assert [r.status for r in runs] == [DagsterRunStatus.SUCCESS]
            assert runs[0].tags.get("dagster/sensor_name") == "new_month_sensor"
            assert publications() == published_before + 1
            phase("act 1")

            # 2. A month is re-published with changed numbers.
            before = _extract_month_figures(extract)
            published_before = publications()
            started = time.monotonic()
            httpx.post(
                f"{portal.url}/_sample/republish", params={"month": REPUBLISHED}
            ).raise_for_status()
            _wait(
                f"re-published {REPUBLISHED} in the extract",
                lambda: _extract_month_figures(extract).get(REPUBLISHED) != before[REPUBLISHED],
                ACT_TIMEOUT,
                logs,
            )
            republished_delay = time.monotonic() - started
            after = _extract_month_figures(extract)
            assert after[NEW_MONTH] == before[NEW_MONTH]
            assert [r.status for r in month_runs(REPUBLISHED)][0] == DagsterRunStatus.SUCCESS
            _wait("one more publication", lambda: publications() > published_before, 60, logs)
            _wait(
                "the second publication message",
                lambda: len(_summaries(sink)) == 3,
                MESSAGE_TIMEOUT,
                logs,
            )
            phase("act 2")

            # 3. The portal fails for that month.
            published_before = publications()
            sha_before = _sha256(extract)
            portal.set_fault("status", status=503, month=REPUBLISHED)
            httpx.post(
                f"{portal.url}/_sample/republish", params={"month": REPUBLISHED}
            ).raise_for_status()
            failure = sink.wait_for(
                lambda m: f"month {REPUBLISHED} failed" in m["Subject"], ACT_TIMEOUT
            )
            text = failure.get_content()
            assert "step: epd_opioid_rows" in text
            assert "503" in text
            assert "previous publication is unchanged" in text
            assert month_runs(REPUBLISHED)[0].status == DagsterRunStatus.FAILURE
            # Nothing more was published; the extract is byte for byte what it was.
            time.sleep(3)
            assert publications() == published_before
            assert _sha256(extract) == sha_before
            assert len(_summaries(sink)) == 3
            phase("act 3")
            print(
                f"\nnew month published after {new_month_delay:.0f} s; "
                f"re-published month after {republished_delay:.0f} s; " + ", ".join(phases)
            )
        finally:
            stopping = time.monotonic()
            for process in reversed(processes):
                _stop(process)
            instance.dispose()
            print(f"daemon and code server stopped in {time.monotonic() - stopping:.0f} s")
