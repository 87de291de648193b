"""Notifications to units: texts come from the diagram, rendered in a Jinja sandbox, queued in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, meta
from jinja2.exceptions import TemplateError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.engine.texts import TextSandbox
from app.models import InAppMessage, Office, OutboxMessage, ProcessInstance
from app.models._types import UTCDateTime
from app.models.outbox import FAILED, PENDING, SENT
from app.services.errors import ServiceRefusal
from app.services.numerals import chinese_numeral

_JINJA = TextSandbox(autoescape=False, undefined=StrictUndefined)
_JINJA.filters["cn"] = chinese_numeral


def render(template: str, data: dict[str, Any]) -> str:
    try:
        return _JINJA.from_string(template).render(**data)
    except TemplateError as exc:
        raise ServiceRefusal(f"通知模板有误: {exc}") from exc


@lru_cache(maxsize=1024)
def template_names(template: str) -> frozenset[str]:
    """Deploy check: the variables a text reads; raises TemplateError (e.g. TemplateSyntaxError) if it would not
    compile, which also catches an unknown filter."""
    parsed = _JINJA.parse(template)
    _JINJA.compile(parsed)
    return frozenset(meta.find_undeclared_variables(parsed) - set(_JINJA.globals))


# An office's in-app notices (deadline reminders, 催办): its reviewers read them in the 消息中心 and on the 待办
# page. The outbox row of this channel names the office by code and is delivered in-app as it is queued: an
# office code is never an e-mail address.
OFFICE_CHANNEL = "office"
# The channels that reach a unit's contact; the unit's accounts also get the text in the 消息中心.
UNIT_CHANNELS = ("sms", "email")
NOTICE_DAYS = 14


# Built once: the 待办 page shows the notices on every view.
OFFICE_NOTICES = (
    select(InAppMessage)
    .join(Office, Office.id == InAppMessage.office_id)
    .where(Office.code == bindparam("office"), InAppMessage.created_at >= bindparam("since", type_=UTCDateTime))
    .order_by(InAppMessage.created_at.desc(), InAppMessage.id.desc())
    .limit(bindparam("limit"))
)


def office_notices(session: Session, office_code: str | None, now: datetime, limit: int = 5) -> list[InAppMessage]:
    """The office's notices of the last two weeks, newest first."""
    if not office_code:
        return []
    since = now - timedelta(days=NOTICE_DAYS)
    return list(session.scalars(OFFICE_NOTICES, {"office": office_code, "since": since, "limit": limit}))


def queue(
    session: Session,
    instance_id: int | None,
    recipients: dict[str, str],
    subject: str,
    body: str,
    now: datetime | None = None,
    unit_id: int | None = None,
) -> int:
    """Queue one message per channel that has a recipient (channel → address), stamped with the action's time,
    and post it in the 消息中心 of the unit (SMS / e-mail channels named, even without an address) or the office.
    The unit is the application's, or `unit_id` for a message about no application (an expiry warning).

    Returns the number of outbox messages."""
    moment = now or datetime.now(UTC)
    count = 0
    for channel, address in recipients.items():
        if not address:
            continue
        message = OutboxMessage(
            channel=channel,
            recipient=address,
            subject=subject,
            body=body,
            instance_id=instance_id,
            created_at=moment,
            next_attempt_at=moment,
            status=PENDING,
            attempts=0,
        )
        if channel == OFFICE_CHANNEL:
            _post_to_office(session, message)
        session.add(message)
        count += 1
    if any(channel in recipients for channel in UNIT_CHANNELS):
        _post_to_unit(session, instance_id, unit_id, subject, body, moment)
    session.flush()
    return count


def _post_to_office(session: Session, message: OutboxMessage) -> None:
    """Deliver an office notice in-app at once: it is part of the step that queued it."""
    office_id = session.scalar(select(Office.id).where(Office.code == message.recipient))
    message.attempts = 1
    if office_id is None:
        message.status, message.last_error = FAILED, "没有此代码的审核机构"
        return
    session.add(
        InAppMessage(
            office_id=office_id,
            instance_id=message.instance_id,
            subject=message.subject,
            body=message.body,
            created_at=message.created_at,
        )
    )
    message.status, message.sent_at = SENT, message.created_at


def _post_to_unit(
    session: Session, instance_id: int | None, unit_id: int | None, subject: str, body: str, moment: datetime
) -> None:
    if instance_id is not None:
        unit_id = session.scalar(select(ProcessInstance.unit_id).where(ProcessInstance.id == instance_id))
    if unit_id is not None:
        session.add(
            InAppMessage(unit_id=unit_id, instance_id=instance_id, subject=subject, body=body, created_at=moment)
        )
