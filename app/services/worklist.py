"""Reviewers' worklists: 待办 with filters and counts, search, 已办.

Lists are queries on the work-item table joined to instances, units and definitions; no
workflow is deserialized to build a list. Every query starts from the jurisdiction rules,
so a reviewer only ever sees the items of their own role and office.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from app.engine import get_engine
from app.models import AuditEvent, Charge, Domain, ProcessInstance, Unit, WorkflowDefinition, WorkItem
from app.services.calendar import BEIJING
from app.services.jurisdiction import visible_instances, visible_work_items
from app.services.paging import Paged
from app.services.task_pages import display

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
SEARCH_LIMIT = 50
DEFAULT_SORT = "created"
SORT_COLUMNS: dict[str, Any] = {
    "created": WorkItem.created_at,
    "due": WorkItem.due_at,
    "key": ProcessInstance.business_key,
}
CLAIM_FILTERS = ("mine", "unclaimed")


@dataclass(frozen=True)
class InboxFilters:
    """What a reviewer narrowed the 待办 list to; empty values mean no restriction."""

    procedure: str = ""  # process id of the diagram
    stage: str = ""
    region: str = ""  # GB/T 2260 code; 150000 matches every unit in 内蒙古
    submitted_from: date | None = None  # Beijing dates, both inclusive
    submitted_to: date | None = None
    overdue: bool = False
    claimed: str = ""  # "mine" or "unclaimed"


@dataclass(frozen=True)
class InboxRow:
    item: WorkItem
    business_key: str
    unit_name: str
    region_code: str
    procedure: str
    domain: str
    overdue: bool


@dataclass(frozen=True)
class Inbox(Paged):
    """One page of the 待办 list plus the counts of the whole inbox by stage and by procedure."""

    by_stage: list[tuple[str, int]] = field(default_factory=list)
    by_procedure: list[tuple[str, str, int]] = field(default_factory=list)  # process id, name, count


@dataclass(frozen=True)
class DoneRow:
    event: AuditEvent
    business_key: str
    unit_name: str
    procedure: str
    decision: str  # the decision as the form titled it, e.g. 不通过


@dataclass(frozen=True)
class SearchHit:
    instance_id: int
    business_key: str
    stage: str
    created_at: datetime
    unit_name: str
    procedure: str
    item_id: int | None  # the user's open work item on this application, if any


# ---- 待办 ----------------------------------------------------------------------------


def inbox(
    session: Session,
    user: Any,
    filters: InboxFilters | None = None,
    sort: str = DEFAULT_SORT,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    now: datetime | None = None,
) -> Inbox:
    """One page of the user's open items; `sort` is created/due/key, prefixed by "-" for descending."""
    now = now or datetime.now(UTC)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    page = max(page, 1)
    filters = filters or InboxFilters()
    conditions = _conditions(user, filters, now)
    by_stage, by_procedure = _facets(session, user)
    if filters == InboxFilters():
        total = sum(count for _stage, count in by_stage)
    else:
        total = session.scalar(_narrowed(select(func.count()), filters).where(*conditions)) or 0
    page = min(page, max(1, -(-total // page_size)))
    page_ids = (  # sort and cut the page on the work-item table, then join only the page's rows
        _narrowed(select(WorkItem.id), filters, sort)
        .where(*conditions)
        .order_by(*_order(sort))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    query = _joined(
        select(WorkItem, ProcessInstance.business_key, Unit.name, Unit.region_code, WorkflowDefinition.name)
    ).where(WorkItem.id.in_(page_ids.scalar_subquery()))
    found = session.execute(query.order_by(*_order(sort))).all()
    domains = _domain_names(session, [item.instance_id for item, *_ in found])
    rows = [
        InboxRow(item, key, unit, region, procedure, domains.get(item.instance_id, ""), _is_overdue(item, now))
        for item, key, unit, region, procedure in found
    ]
    return Inbox(rows, total, page, page_size, by_stage, by_procedure)


def inbox_rows(
    session: Session, user: Any, filters: InboxFilters, sort: str, now: datetime, limit: int
) -> list[InboxRow]:
    """Every row of the filtered 待办 (up to `limit`), in the list's order: what its export holds."""
    rows: list[InboxRow] = []
    page = 1
    while len(rows) < limit:
        found = inbox(session, user, filters, sort, page, MAX_PAGE_SIZE, now)
        rows += found.rows
        if page >= found.pages:
            break
        page += 1
    return rows[:limit]


def _narrowed(query: Select[Any], filters: InboxFilters, sort: str = "") -> Select[Any]:
    """The work-item table joined only to what the filters and the sort read: counts stay index-only."""
    query = query.select_from(WorkItem)
    if filters.procedure or sort.lstrip("-") == "key":
        query = query.join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
    if filters.procedure:
        query = query.join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
    if filters.region:
        query = query.join(Unit, Unit.id == WorkItem.unit_id)
    return query


def _joined(query: Select[Any]) -> Select[Any]:
    return (
        query.select_from(WorkItem)
        .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
        .join(Unit, Unit.id == WorkItem.unit_id)
        .join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
    )


def _conditions(user: Any, filters: InboxFilters, now: datetime) -> list[ColumnElement[bool]]:
    conditions = [visible_work_items(user).whereclause]
    if filters.procedure:
        conditions.append(WorkflowDefinition.process_id == filters.procedure)
    if filters.stage:
        conditions.append(WorkItem.stage == filters.stage)
    if filters.region:
        conditions.append(Unit.region_code.startswith(region_prefix(filters.region), autoescape=True))
    if filters.submitted_from:
        conditions.append(WorkItem.created_at >= _beijing_midnight(filters.submitted_from))
    if filters.submitted_to:
        conditions.append(WorkItem.created_at < _beijing_midnight(filters.submitted_to + timedelta(days=1)))
    if filters.overdue:
        conditions.append(WorkItem.due_at < now)
    if filters.claimed == "mine":
        conditions.append(WorkItem.assignee == user.username)
    elif filters.claimed == "unclaimed":
        conditions.append(WorkItem.assignee.is_(None))
    return [c for c in conditions if c is not None]


def region_prefix(code: str) -> str:
    """GB/T 2260 codes pad with zeros: 150000 (province) covers 15xxxx, 150600 (city) 1506xx."""
    code = code.strip()
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def _beijing_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, BEIJING).astimezone(UTC)


def _order(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    column = SORT_COLUMNS.get(sort.lstrip("-"), SORT_COLUMNS[DEFAULT_SORT])
    ordered = column.desc() if descending else column.asc()
    return [ordered.nulls_last(), WorkItem.id.desc() if descending else WorkItem.id.asc()]


def _is_overdue(item: WorkItem, now: datetime) -> bool:
    return item.due_at is not None and item.due_at < now


def _domain_names(session: Session, instance_ids: list[int]) -> dict[int, str]:
    """The domains each application registers or renews, where it has any (only the page's rows)."""
    if not instance_ids:
        return {}
    registered = select(Domain.instance_id, Domain.name).where(Domain.instance_id.in_(instance_ids))
    renewed = (
        select(Charge.instance_id, Domain.name)
        .join(Domain, Domain.id == Charge.domain_id)
        .where(Charge.instance_id.in_(instance_ids), Charge.purpose == "renew", Charge.status != "cancelled")
    )
    names: dict[int, list[str]] = {}
    for query in (registered.order_by(Domain.id), renewed.order_by(Charge.id)):
        for instance_id, name in session.execute(query):
            names.setdefault(instance_id, []).append(name)
    return {instance_id: "、".join(dict.fromkeys(found)) for instance_id, found in names.items()}


def _facets(session: Session, user: Any) -> tuple[list[tuple[str, int]], list[tuple[str, str, int]]]:
    """The whole inbox counted by stage and by procedure in one index-only query.

    Versions of one diagram add up under the name of the newest version in the inbox.
    """
    query = (
        select(WorkItem.stage, ProcessInstance.definition_id, func.count())
        .select_from(WorkItem)
        .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
        .where(visible_work_items(user).whereclause)  # type: ignore[arg-type]
        .group_by(WorkItem.stage, ProcessInstance.definition_id)
    )
    by_stage: dict[str, int] = {}
    by_definition: dict[int, int] = {}
    for stage, definition_id, count in session.execute(query):
        by_stage[stage] = by_stage.get(stage, 0) + count
        by_definition[definition_id] = by_definition.get(definition_id, 0) + count
    definitions = session.execute(
        select(WorkflowDefinition.id, WorkflowDefinition.process_id, WorkflowDefinition.name)
        .where(WorkflowDefinition.id.in_(by_definition))
        .order_by(WorkflowDefinition.version)
    )
    by_procedure: dict[str, tuple[str, int]] = {}
    for definition_id, process_id, name in definitions if by_definition else ():
        by_procedure[process_id] = (name, by_procedure.get(process_id, ("", 0))[1] + by_definition[definition_id])
    return sorted(by_stage.items()), [(pid, name, n) for pid, (name, n) in sorted(by_procedure.items())]


# ---- search and 已办 -------------------------------------------------------------------


def search(session: Session, user: Any, text: str, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
    """Applications in the user's jurisdiction by 申请编号, 单位名称 or 域名 (part of it), newest first.

    A domain finds every application of the unit holding it (registration, renewals, site reviews).
    """
    text = text.strip()[:100]
    if not text:
        return []
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    units = select(Unit.id).where(Unit.name.like(pattern, escape="\\"))
    domain_units = select(Domain.unit_id).where(Domain.name.like(pattern, escape="\\"))
    matches = [ProcessInstance.unit_id.in_(units), ProcessInstance.unit_id.in_(domain_units)]
    if text.isascii() and text.isalnum():  # application numbers: two capital letters and ten digits
        matches.append(ProcessInstance.business_key.like(f"%{text.upper()}%"))
    visible = visible_instances(user).whereclause
    query = (
        select(
            ProcessInstance.id,
            ProcessInstance.business_key,
            ProcessInstance.stage,
            ProcessInstance.created_at,
            Unit.name,
            WorkflowDefinition.name,
        )
        .select_from(ProcessInstance)
        .join(Unit, Unit.id == ProcessInstance.unit_id)
        .join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
        .where(*([visible] if visible is not None else []), or_(*matches))
        .order_by(ProcessInstance.id.desc())
        .limit(limit)
    )
    found = session.execute(query).all()
    items = _open_items(session, user, [row[0] for row in found])
    return [SearchHit(*row, item_id=items.get(row[0])) for row in found]


def _open_items(session: Session, user: Any, instance_ids: list[int]) -> dict[int, int]:
    if not instance_ids:
        return {}
    query = visible_work_items(user).where(WorkItem.instance_id.in_(instance_ids)).order_by(WorkItem.id)
    return {item.instance_id: item.id for item in reversed(list(session.scalars(query)))}


def done(session: Session, user: Any, page: int = 1, page_size: int = PAGE_SIZE) -> Paged:
    """Tasks the user completed (from the audit trail), newest first."""
    mine = (AuditEvent.actor == user.username, AuditEvent.action == "complete")
    total = session.scalar(select(func.count(AuditEvent.id)).where(*mine)) or 0
    page = min(max(page, 1), max(1, -(-total // page_size)))
    query = (
        select(AuditEvent, ProcessInstance.business_key, Unit.name, WorkflowDefinition.name, WorkflowDefinition.id)
        .join(ProcessInstance, ProcessInstance.id == AuditEvent.instance_id)
        .join(Unit, Unit.id == ProcessInstance.unit_id)
        .join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
        .where(*mine)
        .order_by(AuditEvent.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    rows = [
        DoneRow(event, key, unit, procedure, _decision_title(session, definition_id, event))
        for event, key, unit, procedure, definition_id in session.execute(query)
    ]
    return Paged(rows, total, page, page_size)


def _decision_title(session: Session, definition_id: int, event: AuditEvent) -> str:
    """The recorded decision code under the title the task's form gives it (compiled diagrams are cached)."""
    if not event.decision or not event.task_name:
        return event.decision or ""
    compiled = get_engine().definitions.compiled_by_id(session, definition_id)
    form = compiled.element_properties(event.task_name).get("formJsonSchemaFilename")
    properties = compiled.forms.schema(form).get("properties", {}) if form else {}
    return display(event.decision, properties.get("decision", {}))


# ---- claim, release, transfer ----------------------------------------------------------
