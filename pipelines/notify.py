"""Messages about runs: who hears that a month failed, and what a new publication says.

A message goes by e-mail (``smtplib``; ``OPIOIDS_SMTP_*``, ``OPIOIDS_MAIL_*``) and/or to
an incoming webhook as JSON (``OPIOIDS_WEBHOOK_URL``; Teams and Slack both show a
``text`` field). With neither configured nothing is sent. The sensors that send them are
in :mod:`pipelines.notify_sensors`; this module only builds and delivers messages.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import duckdb
import httpx
from dagster import DagsterEvent

from pipelines.config import Settings
from pipelines.warehouse import run as run_sql

SMTP_TIMEOUT_SECONDS = 30
WEBHOOK_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


class DeliveryError(RuntimeError):
    """A message could not be delivered on at least one configured channel."""


def channels(settings: Settings) -> list[str]:
    """The configured ways of sending: ``mail`` and/or ``webhook``."""
    out = []
    if settings.smtp_host and settings.mail_to:
        out.append("mail")
    if settings.webhook_url:
        out.append("webhook")
    return out


def recipients(settings: Settings) -> list[str]:
    return [a.strip() for a in settings.mail_to.split(",") if a.strip()]


def send_mail(settings: Settings, message: Message) -> None:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = settings.mail_from
    mail["To"] = ", ".join(recipients(settings))
    mail.set_content(message.body)
    host, port = settings.smtp_host, settings.smtp_port
    if settings.smtp_security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=SMTP_TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if settings.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password)
        client.send_message(mail)


def send_webhook(settings: Settings, message: Message) -> None:
    payload = {"text": f"{message.subject}\n\n{message.body}"}
    response = httpx.post(settings.webhook_url, json=payload, timeout=WEBHOOK_TIMEOUT_SECONDS)
    response.raise_for_status()


def deliver(settings: Settings, message: Message) -> list[str]:
    """Send ``message`` on every configured channel; the channels it went out on.

    Every channel is tried; if any fails, :class:`DeliveryError` names each failure (the
    sensor's tick then fails and shows it in the UI).
    """
    sent, failures = [], []
    for channel in channels(settings):
        try:
            (send_mail if channel == "mail" else send_webhook)(settings, message)
            sent.append(channel)
        except httpx.HTTPStatusError as exc:  # the URL is a secret: not in the message
            failures.append(f"{channel}: answered HTTP {exc.response.status_code}")
        except httpx.HTTPError as exc:
            failures.append(f"{channel}: {type(exc).__name__}")
        except (OSError, smtplib.SMTPException) as exc:
            failures.append(f"{channel}: {type(exc).__name__}: {exc}")
    if failures:
        raise DeliveryError("; ".join(failures) + (f" (sent by {', '.join(sent)})" if sent else ""))
    return sent


# -- what went wrong ------------------------------------------------------------------------


def failed_steps(events: Iterable[DagsterEvent]) -> list[tuple[str, str]]:
    """(step, reason) for each failed step and each failed blocking check of a run."""
    out = []
    for event in events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            err = event.step_failure_data.error
            # Dagster wraps user errors; the cause is what says what went wrong and where.
            while err.cause is not None and err.cls_name == "DagsterExecutionStepExecutionError":
                err = err.cause
            text = err.message.strip()
            head, _, rest = text.partition(": ")
            if rest and head.rsplit(".", 1)[-1] == err.cls_name:
                text = rest  # "pipelines.http.SourceError: ..." says the class twice
            out.append((event.step_key or "run", text))
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity.value == "ERROR":
                asset = evaluation.asset_key.to_user_string()
                out.append((f"check {asset}.{evaluation.check_name}", evaluation.description))
    return out


def month_of(tags: dict[str, str]) -> str | None:
    """``YYYY-MM`` of a run's monthly partition, if it has one."""
    key = tags.get("dagster/partition")
    return key[:7] if key else None


def failure_message(
    job: str, run_id: str, month: str | None, steps: list[tuple[str, str]], run_error: str
) -> Message:
    what = f"month {month}" if month else job
    lines = [f"The run {run_id} of {job} ({what}) failed."]
    if steps:
        for step, reason in steps:
            lines.append(f"  step: {step}\n  reason: {reason}")
    else:
        lines.append(f"  reason: {run_error}")
    lines.append("")
    lines.append("The previous publication is unchanged. The run's events are in the Dagster UI.")
    first_step = steps[0][0] if steps else "run"
    return Message(f"opioid comparators: {what} failed at {first_step}", "\n".join(lines))


# -- what was published ---------------------------------------------------------------------


@dataclass(frozen=True)
class PublicationSummary:
    latest_month: str
    months: int
    practices: int
    headline: list[tuple[str, float | None, str]]  # title, national value, units


def publication_summary(extract: Path) -> PublicationSummary:
    con = duckdb.connect(str(extract), read_only=True)
    try:
        latest, months, practices = run_sql(con, "publish/latest_month").fetchone()
        headline = run_sql(con, "publish/national_headline").fetchall()
    finally:
        con.close()
    return PublicationSummary(
        latest_month=f"{latest:%Y-%m}",
        months=months,
        practices=practices,
        headline=[(title, value, units) for title, value, units in headline],
    )


def _figure(value: float | None, units: str) -> str:
    if value is None:
        return "not available"
    return f"{value:,.2f} {units}".rstrip()


def success_message(summary: PublicationSummary, extract: Path, run_id: str) -> Message:
    lines = [
        f"A new publication of the opioid comparators is out (run {run_id}).",
        "",
        f"  latest month: {summary.latest_month} ({summary.months} months in the extract)",
        f"  GP practices in {summary.latest_month}: {summary.practices:,}",
        "",
        f"England, {summary.latest_month}:",
    ]
    lines += [f"  {title}: {_figure(value, units)}" for title, value, units in summary.headline]
    lines += ["", f"Extract: {extract}"]
    return Message(f"opioid comparators: published up to {summary.latest_month}", "\n".join(lines))
