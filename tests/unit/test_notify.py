"""Run messages: what a failure and a publication say, delivered to a local SMTP sink and a
loopback webhook."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    MonthlyPartitionsDefinition,
    asset,
    build_run_status_sensor_context,
    define_asset_job,
)

from pipelines.config import Settings
from pipelines.notify import DeliveryError, Message, deliver, failure_message
from pipelines.notify_sensors import run_failure_message
from tests.smtp_sink import SmtpSink

MONTHS = MonthlyPartitionsDefinition(start_date="2025-01-01")


@asset(partitions_def=MONTHS)
def month_rows() -> None:
    raise RuntimeError("portal answered 503 for EPD_SNOMED_202511 after 4 attempts")


def test_a_failed_run_is_described_by_month_step_and_reason():
    job = Definitions(
        assets=[month_rows], jobs=[define_asset_job("monthly", selection=[month_rows])]
    ).resolve_job_def("monthly")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance, partition_key="2025-11-01", raise_on_error=False
        )
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        assert run.status == DagsterRunStatus.FAILURE
        failure = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)[0]
        context = build_run_status_sensor_context(
            sensor_name="report_run_failure",
            dagster_event=failure.dagster_event,
            dagster_instance=instance,
            dagster_run=run,
        ).for_run_failure()
        message = run_failure_message(context)
    assert message.subject == "opioid comparators: month 2025-11 failed at month_rows"
    assert f"The run {result.run_id} of monthly (month 2025-11) failed." in message.body
    assert "step: month_rows" in message.body
    assert "reason: portal answered 503 for EPD_SNOMED_202511" in message.body
    assert "previous publication is unchanged" in message.body


def test_a_run_failing_before_any_step_gives_the_run_error():
    message = failure_message("statistics_and_publish", "r1", None, [], "worker crashed")
    assert message.subject == "opioid comparators: statistics_and_publish failed at run"
    assert "reason: worker crashed" in message.body


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture
def webhook():
    _Hook.received, _Hook.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _settings(sink: SmtpSink, **more) -> Settings:
    return Settings(
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_security="none",
        mail_from="pipeline@example.org",
        mail_to="lead@example.org, analyst@example.org",
        **more,
    )


def test_a_message_goes_by_mail_and_webhook(webhook):
    message = Message("opioid comparators: month 2025-11 failed at epd_opioid_rows", "why\n")
    with SmtpSink() as sink:
        sent = deliver(_settings(sink, webhook_url=webhook), message)
        mail = sink.wait_for(lambda m: True, timeout=10)
    assert sent == ["mail", "webhook"]
    assert mail["Subject"] == message.subject
    assert mail["From"] == "pipeline@example.org"
    assert mail["X-Envelope-To"] == "lead@example.org, analyst@example.org"
    assert mail.get_content().rstrip() == "why"
    assert _Hook.received == [{"text": f"{message.subject}\n\nwhy\n"}]


def test_nothing_is_sent_without_a_channel_and_a_failed_channel_is_reported(webhook):
    assert deliver(Settings(), Message("s", "b")) == []
    _Hook.status = 500
    with SmtpSink() as sink:
        with pytest.raises(DeliveryError, match=r"^webhook: answered HTTP 500 \(sent by mail\)$"):
            deliver(_settings(sink, webhook_url=webhook), Message("s", "b"))
        assert [m["Subject"] for m in sink.messages] == ["s"]
