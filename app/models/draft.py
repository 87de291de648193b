"""Form drafts: what a user typed into an open task but has not submitted yet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import SealedJSON, UTCDateTime, utcnow


class Draft(db.Model):
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    data: Mapped[dict[str, object]] = mapped_column(SealedJSON("draft.data"), default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
