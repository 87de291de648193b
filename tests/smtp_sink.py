"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the delivery tests and bench/outbox.py: it keeps what it
receives, and can refuse every recipient or answer slowly."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    recipients: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        with self.sink.lock:
            self.sink.connections += 1
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        with self.sink.lock:
            self.sink.recipient_attempts += 1
        if self.sink.refuse_with:
            return self.sink.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        with self.sink.lock:
            self.sink.received.append(Received(list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """Use as a context manager; `port` is where it listens."""

    def __init__(self, refuse_with: str = "", delay: float = 0.0) -> None:
        self.refuse_with = refuse_with  # e.g. "451 4.3.0 try again later": every recipient refused
        self.delay = delay  # seconds before each message is accepted
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.connections = 0
        self.recipient_attempts = 0
        self.port = free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def settings(self) -> dict[str, Any]:
        """The app settings that send the platform's e-mail here."""
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": self.port,
            "SMTP_TLS": "none",
            "SMTP_USER": "",
            "SMTP_PASSWORD": "",
            "SMTP_SENDER": "政务和公益机构网上名称办理平台 <noreply@example.cn>",
            "SMTP_TIMEOUT_SECONDS": 5.0,
        }
