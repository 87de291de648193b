"""The 消息中心: a unit's accounts read the messages to their unit, a reviewer those to their office.
Read marks are per account, so each reviewer of an office keeps their own unread count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, exists, false, func, insert, literal, select
from sqlalchemy.orm import Session

from app.models import InAppMessage, InAppMessageRead, ProcessInstance, User
from app.models._types import UTCDateTime
from app.models.account import REVIEWER_AUDIENCE, UNIT_AUDIENCE
from app.services.paging import Paged


@dataclass(frozen=True)
class MessageRow:
    message: InAppMessage
    read: bool
    business_key: str | None


def _addressed_to(user: User) -> ColumnElement[bool]:
    """The messages this account may read: its unit's, or its office's; none for anyone else."""
    if user.audience == UNIT_AUDIENCE and user.unit_id is not None:
        return InAppMessage.unit_id == user.unit_id
    if user.audience == REVIEWER_AUDIENCE and user.office_id is not None:
        return InAppMessage.office_id == user.office_id
    return false()


def _read_by(user: User) -> ColumnElement[bool]:
    return exists().where(InAppMessageRead.message_id == InAppMessage.id, InAppMessageRead.user_id == user.id)


def _unread_count_of(column: Any) -> Select[tuple[int]]:
    """The unread count of messages whose `column` (unit or office) is :to, for the account :reader."""
    read = exists().where(
        InAppMessageRead.message_id == InAppMessage.id, InAppMessageRead.user_id == bindparam("reader")
    )
    return select(func.count(InAppMessage.id)).where(column == bindparam("to"), ~read)


# Built once: the nav shows the count on every page, and building the statement cost more than running it.
UNREAD_TO_UNIT, UNREAD_TO_OFFICE = _unread_count_of(InAppMessage.unit_id), _unread_count_of(InAppMessage.office_id)


def unread_count(session: Session, user: User) -> int:
    if user.audience == UNIT_AUDIENCE and user.unit_id is not None:
        query, to = UNREAD_TO_UNIT, user.unit_id
    elif user.audience == REVIEWER_AUDIENCE and user.office_id is not None:
        query, to = UNREAD_TO_OFFICE, user.office_id
    else:
        return 0
    return session.scalar(query, {"to": to, "reader": user.id}) or 0


def page(session: Session, user: User, number: int, page_size: int, unread_only: bool = False) -> Paged:
    """The account's messages, newest first, each with whether it was read and its application."""
    conditions = [_addressed_to(user), *([~_read_by(user)] if unread_only else [])]
    total = session.scalar(select(func.count(InAppMessage.id)).where(*conditions)) or 0
    query = (
        select(InAppMessage, _read_by(user), ProcessInstance.business_key)
        .outerjoin(ProcessInstance, ProcessInstance.id == InAppMessage.instance_id)
        .where(*conditions)
        .order_by(InAppMessage.created_at.desc(), InAppMessage.id.desc())
        .offset((number - 1) * page_size)
        .limit(page_size)
    )
    rows = [MessageRow(message, bool(read), key) for message, read, key in session.execute(query)]
    return Paged(rows, total, number, page_size)


def mark_read(session: Session, user: User, message_id: int, now: datetime) -> bool:
    """Mark one message read; False when the account may not read it (or it does not exist)."""
    visible = session.scalar(select(InAppMessage.id).where(InAppMessage.id == message_id, _addressed_to(user)))
    if visible is None:
        return False
    if session.get(InAppMessageRead, (message_id, user.id)) is None:
        session.add(InAppMessageRead(message_id=message_id, user_id=user.id, read_at=now))
        session.flush()
    return True


def mark_all_read(session: Session, user: User, now: datetime) -> int:
    """Mark every unread message of the account read; returns how many."""
    unread = select(InAppMessage.id, literal(user.id), literal(now, UTCDateTime)).where(
        _addressed_to(user), ~_read_by(user)
    )
    result = session.execute(insert(InAppMessageRead).from_select(["message_id", "user_id", "read_at"], unread))
    return int(result.rowcount or 0)
