"""Notifications to units: texts come from the diagram, rendered in a Jinja sandbox, queued in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, meta
from jinja2.exceptions import TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OutboxMessage
from app.services.errors import ServiceRefusal
from app.services.numerals import chinese_numeral

_JINJA = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
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


# An office's in-app notices (deadline reminders, 催办): shown on its reviewers' 待办 page.
OFFICE_CHANNEL = "office"
NOTICE_DAYS = 14


def office_notices(session: Session, office_code: str | None, now: datetime, limit: int = 5) -> list[OutboxMessage]:
    """The office's notices of the last two weeks, newest first."""
    if not office_code:
        return []
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.channel == OFFICE_CHANNEL,
            OutboxMessage.recipient == office_code,
            OutboxMessage.created_at >= now - timedelta(days=NOTICE_DAYS),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def queue(
    session: Session,
    instance_id: int | None,
    recipients: dict[str, str],
    subject: str,
    body: str,
    now: datetime | None = None,
) -> int:
    """Queue one message per channel that has a recipient (channel → address), stamped with the action's time."""
    count = 0
    for channel, address in recipients.items():
        if not address:
            continue
        session.add(
            OutboxMessage(
                channel=channel,
                recipient=address,
                subject=subject,
                body=body,
                instance_id=instance_id,
                created_at=now or datetime.now(UTC),
            )
        )
        count += 1
    session.flush()
    return count
