"""Server-side login sessions: the cookie carries only a random token whose hash is stored here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import SealedText, UTCDateTime


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
    pending_totp_secret: Mapped[str | None] = mapped_column(SealedText("user_session.pending_totp_secret"))
    # The SMS code of this login (second factor "sms"): only its HMAC, when it was sent and how many wrong
    # codes were entered against it.
    sms_code_hash: Mapped[str | None] = mapped_column(String(64))
    sms_code_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sms_code_attempts: Mapped[int] = mapped_column(Integer, default=0)
