"""Notifications waiting for delivery (SMS / e-mail / an office's in-app notices) and the SMS the default
gateway records instead of sending."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import SealedText, UTCDateTime, utcnow

# Delivery states: waiting (first try or a retry at next_attempt_at), delivered, given up after the last attempt.
PENDING, SENT, FAILED = "pending", "sent", "failed"


class OutboxMessage(db.Model):
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # sms / email / office
    # A mobile, an e-mail address or an office code; sealed, so offices are matched in Python, never in SQL.
    recipient: Mapped[str] = mapped_column(SealedText("outbox_message.recipient"))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    # When the worker may try (again): the creation time, then pushed back exponentially after each failure.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class SmsRecord(db.Model):
    """An SMS as the recording gateway keeps it for the administrator to read (no SMS provider configured)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id"), index=True)
    mobile: Mapped[str] = mapped_column(SealedText("sms_record.mobile"))
    text: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
