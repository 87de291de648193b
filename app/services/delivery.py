"""Delivering the outbox: claim due messages, hand each to its channel, then record sent, retry later or give up.

The claim, the sending and the marking share one transaction. On PostgreSQL the claimed rows stay locked
(FOR UPDATE SKIP LOCKED) until the caller commits, so parallel workers take disjoint batches and a message is
never delivered twice; SQLite runs a single worker. Logs name message ids, channels and error codes only,
never a recipient or a text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Office, OutboxMessage
from app.models.outbox import FAILED, PENDING, SENT
from app.services import mail, sms
from app.services.delivery_errors import DeliveryFailure
from app.services.masking import mask_text
from app.services.paging import Paged

logger = logging.getLogger(__name__)

STATUS_LABELS = {PENDING: "待发送", SENT: "已发送", FAILED: "已放弃"}
CHANNEL_LABELS = {"sms": "短信", "email": "邮件", "office": "站内消息（审核机构）"}


class Channel(Protocol):
    def send(self, message: OutboxMessage, now: datetime) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetryPolicy:
        return cls(
            int(config["OUTBOX_MAX_ATTEMPTS"]),
            float(config["OUTBOX_RETRY_BASE_SECONDS"]),
            float(config["OUTBOX_RETRY_MAX_SECONDS"]),
        )

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: base, 2×base, 4×base … up to the cap."""
        return timedelta(seconds=min(self.max_seconds, self.base_seconds * 2 ** (attempts - 1)))


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    given_up: int = 0
    errors: list[str] = field(default_factory=list)  # error codes, for the worker's output

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.given_up


def deliver_due(
    session: Session, now: datetime, limit: int, channels: Mapping[str, Channel], policy: RetryPolicy
) -> DeliveryReport:
    """Deliver up to `limit` due messages of the given channels; the caller commits."""
    report = DeliveryReport()
    for message in claim_due(session, now, limit, list(channels)):
        _deliver(message, channels[message.channel], now, policy, report)
    session.flush()
    return report


def send_sms_now(session: Session, config: Mapping[str, Any], message: OutboxMessage, now: datetime) -> bool:
    """Hand a just-queued SMS that is useless later (a login code) to the gateway at once instead of waiting
    for the worker's round: one attempt, given up if it fails (the sender asks for a new one). Whether the
    gateway accepted it."""
    session.flush()  # the gateway may refer to the message's id
    report, once = DeliveryReport(), RetryPolicy(max_attempts=1, base_seconds=0, max_seconds=0)
    _deliver(message, sms.gateway(session, config), now, once, report)
    session.flush()
    return report.sent == 1


def _deliver(
    message: OutboxMessage, channel: Channel, now: datetime, policy: RetryPolicy, report: DeliveryReport
) -> None:
    try:
        channel.send(message, now)
    except DeliveryFailure as failure:
        _failed(message, failure, now, policy, report)
    except Exception as exc:  # a gateway's own fault counts as a failed attempt, not as a lost round
        unexpected = DeliveryFailure(f"发送出错（{type(exc).__name__}）", type(exc).__name__)
        _failed(message, unexpected, now, policy, report)
    else:
        message.status, message.sent_at, message.last_error = SENT, now, None
        message.attempts += 1
        report.sent += 1
        logger.info("outbox %s sent by %s (attempt %s)", message.id, message.channel, message.attempts)


def claim_due(session: Session, now: datetime, limit: int, channels: list[str]) -> list[OutboxMessage]:
    """The oldest due messages of these channels; on PostgreSQL locked, and rows other workers hold skipped."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == PENDING,
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.channel.in_(channels),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _failed(
    message: OutboxMessage, failure: DeliveryFailure, now: datetime, policy: RetryPolicy, report: DeliveryReport
) -> None:
    message.attempts += 1
    message.last_error = failure.reason
    report.errors.append(failure.code)
    if failure.permanent or message.attempts >= policy.max_attempts:
        message.status = FAILED
        report.given_up += 1
        logger.warning("outbox %s given up after %s attempts: %s", message.id, message.attempts, failure.code)
        return
    message.next_attempt_at = now + policy.delay(message.attempts)
    report.retrying += 1
    logger.info("outbox %s attempt %s failed (%s), retry later", message.id, message.attempts, failure.code)


def run_round(session: Session, config: Mapping[str, Any], now: datetime, limit: int) -> DeliveryReport:
    """One round of the worker: SMS through the configured gateway, e-mail when an SMTP host is set."""
    mailer = mail.SmtpMailer(session, config) if mail.configured(config) else None
    channels: dict[str, Channel] = {"sms": sms.gateway(session, config)}
    if mailer is not None:
        channels["email"] = mailer
    try:
        return deliver_due(session, now, limit, channels, RetryPolicy.from_config(config))
    finally:
        if mailer is not None:
            mailer.close()


def requeue(session: Session, message_id: int, now: datetime) -> OutboxMessage | None:
    """The administrator sends a given-up message again: a fresh series of attempts from now."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.status != FAILED or message.channel == "office":
        return None
    message.status, message.attempts, message.next_attempt_at = PENDING, 0, now
    session.flush()
    return message


@dataclass(frozen=True)
class OutboxRow:
    message: OutboxMessage
    recipient: str  # the office's name for an office notice, else the address


def listing(session: Session, status: str, channel: str, page: int, page_size: int) -> Paged:
    """The outbox for the admin page, newest first, optionally narrowed to one status and channel."""
    conditions = []
    if status in STATUS_LABELS:
        conditions.append(OutboxMessage.status == status)
    if channel in CHANNEL_LABELS:
        conditions.append(OutboxMessage.channel == channel)
    total = session.scalar(select(func.count(OutboxMessage.id)).where(*conditions)) or 0
    query = select(OutboxMessage).where(*conditions).order_by(OutboxMessage.id.desc())
    messages = list(session.scalars(query.offset((page - 1) * page_size).limit(page_size)))
    office_names = _office_names(session, {m.recipient for m in messages if m.channel == "office"})
    rows = [OutboxRow(m, office_names.get(m.recipient) or mask_text(m.recipient)) for m in messages]
    return Paged(rows, total, page, page_size)


def _office_names(session: Session, codes: set[str]) -> dict[str, str]:
    """Recipients are sealed, so the page's office codes are named here rather than joined in SQL."""
    if not codes:
        return {}
    named = session.execute(select(Office.code, Office.name).where(Office.code.in_(codes)))
    return {code: name for code, name in named}


def counts(session: Session) -> dict[str, int]:
    """Messages per status, for the page's summary."""
    query = select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(OutboxMessage.status)
    found: dict[str, int] = {status: count for status, count in session.execute(query)}
    return {status: found.get(status, 0) for status in STATUS_LABELS}
