"""The append-only audit trail: one row per action, never updated or deleted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.models import AuditEvent
from app.models._types import utcnow


@dataclass(frozen=True)
class Actor:
    """Who acts: a user name, the role they act in, and where from."""

    name: str
    role: str
    ip: str | None = None
    office_code: str | None = None  # reviewers act for their office; checked against the work item


def record(
    session: Session,
    actor: Actor,
    action: str,
    instance_id: int | None = None,
    task: tuple[str, str] | None = None,
    data: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event; `task` is (element id, title); decision and reason come from form data."""
    data = data or {}
    values = dict(
        actor=actor.name,
        role=actor.role,
        ip=actor.ip,
        instance_id=instance_id,
        action=action,
        task_name=task[0] if task else None,
        task_title=task[1] if task else None,
        decision=_short(data.get("decision")),
        reason=_short(data.get("reason"), 2000),
        detail=detail or {},
        at=utcnow(),
    )
    session.connection().execute(AuditEvent.__table__.insert(), values)  # table-level: runs on every action


def _short(value: Any, limit: int = 20) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None
