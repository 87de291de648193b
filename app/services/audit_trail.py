"""The audit admin's reading of the audit trail: filtered, paginated, personal data masked; verification.

Only the audit admin reads the trail (DOMAIN.md §7.2–7.3), and each reading and verification is itself
recorded, with the filters used, so a reader's curiosity leaves a trace in the chain it reads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, ProcessInstance
from app.services import audit, audit_chain
from app.services.audit import Actor
from app.services.calendar import BEIJING
from app.services.masking import mask_text, mask_value
from app.services.paging import Paged


@dataclass(frozen=True)
class TrailFilter:
    """What the reader narrows the trail to; dates are Beijing days, both ends included."""

    start: date | None = None
    end: date | None = None
    actor: str = ""
    action: str = ""
    business_key: str = ""

    def as_detail(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items() if value not in (None, "")}


@dataclass(frozen=True)
class TrailRow:
    """One event as the page shows it: reason and detail masked."""

    event: AuditEvent
    business_key: str | None
    reason: str | None
    detail: Any


def listing(session: Session, trail: TrailFilter, page: int, page_size: int, reader: Actor) -> Paged:
    """The events matching the filter, newest first; the reading is recorded before the rows are read."""
    audit.record(session, reader, "view_audit_trail", detail={**trail.as_detail(), "page": page})
    conditions = _conditions(trail)
    total = (
        session.scalar(
            select(func.count(AuditEvent.id))
            .outerjoin(ProcessInstance, ProcessInstance.id == AuditEvent.instance_id)
            .where(*conditions)
        )
        or 0
    )
    query = (
        select(AuditEvent, ProcessInstance.business_key)
        .outerjoin(ProcessInstance, ProcessInstance.id == AuditEvent.instance_id)
        .where(*conditions)
        .order_by(AuditEvent.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    rows = [
        TrailRow(event, key, mask_text(event.reason) if event.reason else None, mask_value(event.detail))
        for event, key in session.execute(query)
    ]
    return Paged(rows, total, page, page_size)


def actions(session: Session) -> list[str]:
    """The actions the trail holds, for the filter's choices."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def verify(session: Session, reader: Actor) -> audit_chain.Report:
    """Walk the whole chain (audit_chain.verify) and record who verified it and what was found."""
    report = audit_chain.verify(session.connection())
    problem = report.problem
    audit.record(
        session,
        reader,
        "verify_audit_chain",
        detail={"rows": report.rows, "problem": problem.message if problem else None},
    )
    return report


def _conditions(trail: TrailFilter) -> list[Any]:
    conditions: list[Any] = []
    if trail.start is not None:
        conditions.append(AuditEvent.at >= _beijing_midnight(trail.start))
    if trail.end is not None:
        conditions.append(AuditEvent.at < _beijing_midnight(trail.end + timedelta(days=1)))
    if trail.actor:
        conditions.append(AuditEvent.actor == trail.actor)
    if trail.action:
        conditions.append(AuditEvent.action == trail.action)
    if trail.business_key:
        conditions.append(ProcessInstance.business_key == trail.business_key)
    return conditions


def _beijing_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BEIJING)
