"""A local SMTP server on loopback that keeps what it receives (aiosmtpd), for message tests."""

from __future__ import annotations

import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.postgres import free_port


class _Keep:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        parsed["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(parsed)
        return "250 kept"


class SmtpSink:
    """``with SmtpSink() as sink:`` then point ``OPIOIDS_SMTP_HOST/PORT`` at ``sink``."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self._keep = _Keep()
        self._controller = Controller(self._keep, hostname=self.host, port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._keep.messages)

    def env(self, to: str = "team@example.org") -> dict[str, str]:
        return {
            "OPIOIDS_SMTP_HOST": self.host,
            "OPIOIDS_SMTP_PORT": str(self.port),
            "OPIOIDS_SMTP_SECURITY": "none",
            "OPIOIDS_MAIL_TO": to,
        }

    def wait_for(self, predicate, timeout: float) -> EmailMessage:  # noqa: ANN001
        """The first message satisfying ``predicate``, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if predicate(message):
                    return message
            time.sleep(0.5)
        subjects = [m["Subject"] for m in self.messages]
        raise AssertionError(f"no such message within {timeout:.0f} s; received: {subjects}")

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
