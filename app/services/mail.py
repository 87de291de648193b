"""E-mail over SMTP for the outbox delivery: one connection per round of the worker, opened on first use."""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from sqlalchemy.orm import Session

from app.models import OutboxMessage
from app.services.delivery_errors import DeliveryFailure
from app.taskforms.formats import to_ascii_domain

TLS_MODES = ("none", "starttls", "ssl")
# One mailbox: no display name, no list, nothing that could smuggle a second recipient or a header.
_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+")
NOT_AN_ADDRESS = "收件人不是电子邮件地址，不能发送邮件"
LOGIN_REFUSED = "邮件服务器拒绝登录（请检查 SMTP_USER、SMTP_PASSWORD）"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str
    user: str
    password: str
    sender: str
    timeout: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings:
        return cls(
            host=str(config["SMTP_HOST"]),
            port=int(config["SMTP_PORT"]),
            tls=str(config["SMTP_TLS"]).lower(),
            user=str(config["SMTP_USER"]),
            password=str(config["SMTP_PASSWORD"]),
            sender=str(config["SMTP_SENDER"]),
            timeout=float(config["SMTP_TIMEOUT_SECONDS"]),
        )


def configured(config: Mapping[str, Any]) -> bool:
    """E-mails are delivered only once an SMTP host is set; until then they wait in the outbox."""
    return bool(config.get("SMTP_HOST"))


def checked_address(recipient: str) -> str:
    """The recipient as an address SMTP accepts (an internationalised domain in its A-label form); anything
    else, such as an office code, is refused for good."""
    text = recipient.strip()
    if not _ADDRESS.fullmatch(text):
        raise DeliveryFailure(NOT_AN_ADDRESS, "invalid-address", permanent=True)
    local, _, domain = text.rpartition("@")
    try:
        ascii_domain = to_ascii_domain(domain)
    except ValueError as exc:
        raise DeliveryFailure(NOT_AN_ADDRESS, "invalid-address", permanent=True) from exc
    if "." not in ascii_domain:
        raise DeliveryFailure(NOT_AN_ADDRESS, "invalid-address", permanent=True)
    return f"{local}@{ascii_domain}"


def compose(message: OutboxMessage, sender: str, address: str, now: datetime) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = " ".join(message.subject.split())  # a header is one line
    mail["From"] = sender
    mail["To"] = address
    mail["Date"] = format_datetime(now)
    sender_domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    mail["Message-ID"] = make_msgid(idstring=f"outbox.{message.id}", domain=sender_domain)
    # base64 keeps the Chinese text intact through servers that only take 7-bit mail.
    mail.set_content(message.body, charset="utf-8", cte="base64")
    return mail


class SmtpMailer:
    """The e-mail channel of the delivery; `close` ends the connection after the round."""

    def __init__(self, session: Session, config: Mapping[str, Any]) -> None:
        self.settings = SmtpSettings.from_config(config)
        self._connection: smtplib.SMTP | None = None
        # Set when the server could not be reached: the rest of the round fails at once instead of waiting
        # a timeout per message.
        self._unreachable: DeliveryFailure | None = None

    def send(self, message: OutboxMessage, now: datetime) -> None:
        address = checked_address(message.recipient)
        mail = compose(message, self.settings.sender, address, now)
        connection = self._connect()
        try:
            connection.send_message(mail, from_addr=parseaddr(self.settings.sender)[1], to_addrs=[address])
        except smtplib.SMTPRecipientsRefused as refused:
            code, reply = next(iter(refused.recipients.values()))
            raise _refusal(code, reply) from refused
        except smtplib.SMTPResponseException as exc:
            raise _refusal(exc.smtp_code, exc.smtp_error) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryFailure("邮件服务器不支持非ASCII的邮箱地址", "smtp-utf8", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise DeliveryFailure(f"与邮件服务器的连接中断（{type(exc).__name__}）", "smtp-disconnected") from exc

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def _connect(self) -> smtplib.SMTP:
        if self._unreachable is not None:
            raise self._unreachable
        if self._connection is None:
            try:
                self._connection = self._open()
            except smtplib.SMTPAuthenticationError as exc:
                self._unreachable = DeliveryFailure(LOGIN_REFUSED, "smtp-auth")
                raise self._unreachable from exc
            except (smtplib.SMTPException, OSError) as exc:
                self._unreachable = DeliveryFailure(f"无法连接邮件服务器（{type(exc).__name__}）", "smtp-connect")
                raise self._unreachable from exc
        return self._connection

    def _open(self) -> smtplib.SMTP:
        settings = self.settings
        if settings.tls not in TLS_MODES:
            self._unreachable = DeliveryFailure(f"SMTP_TLS 应为 {'、'.join(TLS_MODES)} 之一", "smtp-config")
            raise self._unreachable
        if settings.tls == "ssl":
            context = ssl.create_default_context()
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        try:
            if settings.tls == "starttls":
                connection.starttls(context=ssl.create_default_context())
            if settings.user:
                connection.login(settings.user, settings.password)
        except BaseException:
            connection.close()
            raise
        return connection

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _refusal(code: int, reply: bytes | str) -> DeliveryFailure:
    """A 5xx reply is final (e.g. no such mailbox); a 4xx one is worth another try later."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return DeliveryFailure(f"邮件服务器答复 {code}：{text[:300]}", f"smtp-{code}", permanent=500 <= code < 600)
