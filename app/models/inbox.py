"""The in-app 消息中心: messages to a unit (its accounts read them) or to an office (its reviewers read them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import UTCDateTime, utcnow


class InAppMessage(db.Model):
    __table_args__ = (
        CheckConstraint("(unit_id IS NULL) <> (office_id IS NULL)", name="ck_in_app_message_one_recipient"),
        Index("ix_in_app_message_unit", "unit_id", "created_at"),
        Index("ix_in_app_message_office", "office_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InAppMessageRead(db.Model):
    """One account has read one message (each reviewer of an office reads for themselves)."""

    message_id: Mapped[int] = mapped_column(ForeignKey("in_app_message.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
