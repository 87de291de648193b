"""Server-side login sessions: the cookie carries only a random token whose hash is stored here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import UTCDateTime


class UserSession(db.Model):
    """One login; deleting the row ends it wherever its cookie is (logout, password change, lock)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    # When this login passed the second factor; a staff session without it reaches only the code pages.
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The secret offered on the enrolment page until a code confirms it: kept here, not in the cookie.
    pending_totp_secret: Mapped[str | None] = mapped_column(String(64))
