"""What the API answers, as plain JSON values: one function per kind of object.

The shapes are those of the components in spec.py; tests/test_api_schema.py has schemathesis check every
answer against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import AuditEvent, Certificate, ProcessInstance, User, WorkItem
from app.models.account import UNIT_ROLE
from app.services import badges, domain_query, worklist
from app.services.jurisdiction import visible_work_items
from app.services.paging import Paged
from app.services.unit_applications import ApplicationPage

# A unit's history leaves out the reviewers' own bookkeeping and their user names, as its page does
# (templates/partials/timeline.html).
REVIEWER_ONLY_ACTIONS = ("claim", "release", "transfer", "error", "retry")


def moment(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def paged(page: Paged, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"total": page.total, "page": page.page, "page_size": page.page_size, "pages": page.pages, "items": items}


def user_json(user: User) -> dict[str, Any]:
    unit = {"id": user.unit.id, "name": user.unit.name} if user.unit else None
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "audience": user.audience,
        "office": user.office_code,
        "unit": unit,
    }


# ---- work items ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemContext:
    """What a work item's answer names of its application (the 待办 list has it from its join)."""

    business_key: str
    unit: str
    region_code: str
    procedure: str

    @classmethod
    def of(cls, instance: ProcessInstance) -> ItemContext:
        return cls(instance.business_key, instance.unit.name, instance.unit.region_code, instance.definition.name)


def work_item_json(item: WorkItem, context: ItemContext, overdue: bool) -> dict[str, Any]:
    return {
        "id": item.id,
        "task": item.task_name,
        "title": item.title,
        "stage": item.stage,
        "form": item.form,
        "role": item.role,
        "assignee": item.assignee,
        "created_at": moment(item.created_at),
        "due_at": moment(item.due_at),
        "overdue": overdue,
        "business_key": context.business_key,
        "unit": context.unit,
        "region_code": context.region_code,
        "procedure": context.procedure,
    }


def inbox_json(page: worklist.Inbox) -> dict[str, Any]:
    """One page of 待办 with the whole inbox's counts by stage and by procedure."""
    items = [
        {
            **work_item_json(
                row.item, ItemContext(row.business_key, row.unit_name, row.region_code, row.procedure), row.overdue
            ),
            "domain": row.domain,
        }
        for row in page.rows
    ]
    return {
        **paged(page, items),
        "by_stage": [{"stage": stage, "count": count} for stage, count in page.by_stage],
        "by_procedure": [{"procedure": pid, "name": name, "count": n} for pid, name, n in page.by_procedure],
    }


# ---- applications ----------------------------------------------------------------------------


def application_json(session: Session, user: User, page: ApplicationPage) -> dict[str, Any]:
    """Status of one application: stage, steps, what others do now, the reason of a rejection, and the
    caller's own open tasks on it (ids to complete through /work-items)."""
    instance = page.instance
    mine = session.scalars(visible_work_items(user).where(WorkItem.instance_id == instance.id).order_by(WorkItem.id))
    return {
        "business_key": instance.business_key,
        "numbered": instance.numbered,
        "procedure": page.procedure,
        "stage": instance.stage,
        "status": instance.status,
        "unit": instance.unit.name,
        "created_at": moment(instance.created_at),
        "updated_at": moment(instance.updated_at),
        "version": instance.version,
        "steps": [{"name": step.name, "state": step.state} for step in page.steps],
        "waiting": [{"title": w.title, "text": w.text, "due_at": moment(w.due_at)} for w in page.waiting],
        "reason": page.reason or None,
        "open_items": [item.id for item in mine],
        "certificates": [{"code": c.code, "public_id": c.public_id} for c in page.certificates],
    }


def history_json(user: User, events: list[AuditEvent]) -> list[dict[str, Any]]:
    for_unit = user.role == UNIT_ROLE
    return [
        {
            "at": moment(event.at),
            "action": event.action,
            "task": event.task_title,
            "decision": event.decision,
            "reason": event.reason,
            "actor": None if for_unit or event.actor == "system" else event.actor,
            "role": event.role,
        }
        for event in events
        if not (for_unit and event.action in REVIEWER_ONLY_ACTIONS)
    ]


# ---- domains and certificates ----------------------------------------------------------------


def domains_json(page: domain_query.DomainPage) -> dict[str, Any]:
    items = [
        {
            "id": row.domain.id,
            "name": row.domain.name,
            "suffix": row.domain.suffix,
            "status": row.domain.status,
            "status_label": row.domain.status_label,
            "unit": row.unit_name,
            "region_code": row.region_code,
            "registered_on": moment(row.domain.registered_on),
            "expires_on": moment(row.domain.expires_on),
            "renewal": row.renewal or None,
            "renewable": row.renewable,
        }
        for row in page.rows
    ]
    counts = [{"status": status, "label": label, "count": count} for status, label, count in page.by_status]
    return {**paged(page, items), "by_status": counts}


def certificate_json(session: Session, certificate: Certificate) -> dict[str, Any]:
    """What the public 标识证书 page shows, with the certificate's codes and dates."""
    facts = badges.facts(session, certificate)
    return {
        "code": certificate.code,
        "public_id": certificate.public_id,
        "colour": certificate.colour,
        "site_name": certificate.site_name,
        "unit": facts.unit_name,
        "unit_kind": facts.unit_kind,
        "address": facts.address,
        "functions_title": facts.functions_title,
        "functions": facts.functions,
        "domains": facts.domains,
        "issuer": facts.issuer,
        "status": facts.status,
        "status_label": facts.status_label,
        "issued_at": moment(certificate.issued_at),
        "hang_deadline": moment(certificate.hang_deadline),
        "page": badges.page_url(certificate.public_id),
    }
