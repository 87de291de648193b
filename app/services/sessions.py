"""Login sessions kept on the server: opened at login, checked on every request, ended from anywhere.

The browser's signed cookie holds only a random token. Its SHA-256 is the key of a row in
`user_session`; a request whose token has no row (logged out, password changed, account reset
or locked) or whose row is past the idle or absolute lifetime is anonymous.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, inspect, select, update
from sqlalchemy.orm import Session, joinedload

from app.models import User, UserSession

# The key of the token in Flask's signed session cookie.
COOKIE_KEY = "sid"
# last_seen_at is written at most this often, so an active user costs one write a minute, not per page.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def open_session(session: Session, user: User, ip: str | None, now: datetime) -> str:
    """A new session for `user`; returns the token for the cookie (never stored in clear)."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(token_hash=_digest(token), user_id=user.id, created_at=now, last_seen_at=now, ip=ip))
    session.flush()
    return token


def user_for(session: Session, token: str | None, lifetimes: Lifetimes, now: datetime) -> User | None:
    """The user of a live session; an expired row is deleted on the way."""
    if not token:
        return None
    row = _row_by_token(session, token)
    if row is None:
        return None
    if now - row.last_seen_at > lifetimes.idle or now - row.created_at > lifetimes.absolute:
        session.delete(row)
        session.commit()
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        session.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
        session.commit()
    return session.get(User, row.user_id)


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(UserSession).where(UserSession.token_hash == _digest(token)))


def end_all_sessions(session: Session, user_id: int) -> int:
    """End every session of an account (logout, password change, reset, lock); returns how many."""
    result = session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    return int(result.rowcount or 0)


def current_row(session: Session, token: str | None) -> UserSession | None:
    """The server-side row of the cookie's session (the second-factor mark and pending enrolment live here)."""
    if not token:
        return None
    remembered = session.info.get((_ROW_KEY, token))
    if remembered is not None and inspect(remembered[0]).persistent:  # not ended earlier in this request
        return remembered[0]
    return _row_by_token(session, token)


_ROW_KEY = "user_session_row"


def _row_by_token(session: Session, token: str) -> UserSession | None:
    """The row, remembered for the rest of the request's database session: the login check reads it first and
    the second-factor gate reads it again on every staff request."""
    found = session.execute(AUTHENTICATED.where(UserSession.token_hash == _digest(token))).first()
    if found is None:
        session.info.pop((_ROW_KEY, token), None)
        return None
    # Held with its account: the session's identity map keeps objects only while something refers to them.
    session.info[(_ROW_KEY, token)] = tuple(found)
    return found[0]


# The row with its account and what every page asks of the account (its role, office and unit): one
# statement per request instead of four. `user_for` then finds the account in the session's identity map.
AUTHENTICATED = (
    select(UserSession, User)
    .join(User, User.id == UserSession.user_id)
    .options(joinedload(User.role_info), joinedload(User.office), joinedload(User.unit))
)


def mark_second_factor(session: Session, token: str | None, now: datetime) -> None:
    """This login has passed its second factor; the offered enrolment secret is no longer needed."""
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _digest(token or ""))
        .values(second_factor_at=now, pending_totp_secret=None)
    )
