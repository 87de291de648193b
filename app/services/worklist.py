"""Reviewers' worklists: 待办 with filters and counts, and 已办 (search: app/services/application_search.py).

Lists are queries on the work-item table joined to instances, units and definitions; no
workflow is deserialized to build a list. Every query starts from the jurisdiction rules,
so a reviewer only ever sees the items of their own role and office.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from app.engine import get_engine
from app.models import (
    AuditEvent,
    Charge,
    Domain,
    ProcessInstance,
    Unit,
    WorkflowDefinition,
    WorkItem,
)
from app.models.account import UNIT_ROLE
from app.services import inbox_counts
from app.services.calendar import BEIJING
from app.services.jurisdiction import visible_work_items
from app.services.paging import Paged
from app.services.task_pages import display

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
COUNT_CAP = 500  # a list counts this far (25 pages) where no kept count answers, then says "more than"
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
class PageAt:
    """A page of a list: its number, and the cursor the previous page ended on (keyset), if known."""

    number: int = 1
    after: str = ""


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
    more: bool = False  # `total` is a lower bound: more than COUNT_CAP items match the filters
    next_cursor: str = ""  # where the next page starts (pass as `after`); "" on the last page


@dataclass(frozen=True)
class Done(Paged):
    """One page of 已办."""

    more: bool = False  # `total` is a lower bound: the user completed more than COUNT_CAP tasks
    next_cursor: str = ""  # the last event id of the page (pass as PageAt.after); "" on the last page


@dataclass(frozen=True)
class DoneRow:
    event: AuditEvent
    business_key: str
    unit_name: str
    procedure: str
    decision: str  # the decision as the form titled it, e.g. 不通过


# ---- 待办 ----------------------------------------------------------------------------


def inbox(
    session: Session,
    user: Any,
    filters: InboxFilters | None = None,
    sort: str = DEFAULT_SORT,
    page: int | PageAt = 1,
    page_size: int = PAGE_SIZE,
    now: datetime | None = None,
) -> Inbox:
    """One page of the user's open items; `sort` is created/due/key, prefixed by "-" for descending.

    A page given with the previous page's `next_cursor` (PageAt) starts right after that row (keyset)
    instead of skipping the rows before it, so paging on stays as fast as the first page.
    """
    at = page if isinstance(page, PageAt) else PageAt(page)
    now = now or datetime.now(UTC)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    filters = filters or InboxFilters()
    counts, definitions = _counts(session, user)
    versions = [i for i, (process_id, _name) in definitions.items() if process_id == filters.procedure]
    conditions = _conditions(user, filters, now, versions)
    total, more = _total(session, filters, conditions, counts, definitions)
    page = max(at.number, 1) if more else min(max(at.number, 1), max(1, -(-total // page_size)))
    if total == 0:  # known without reading the inbox (a procedure or stage it has none of)
        return Inbox([], 0, 1, page_size, *_facets(counts, definitions))
    cursor = _cursor_condition(sort, at.after) if page > 1 else None
    page_ids = (  # sort and cut the page on the work-item table, then join only the page's rows
        _narrowed(select(WorkItem.id), filters, sort)
        .where(*conditions, *([cursor] if cursor is not None else []))
        .order_by(*_order(sort))
        .offset(0 if cursor is not None else (page - 1) * page_size)
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
    by_stage, by_procedure = _facets(counts, definitions)
    last_page = not more and page * page_size >= total
    next_cursor = "" if last_page or len(rows) < page_size else _cursor_of(sort, rows[-1])
    return Inbox(rows, total, page, page_size, by_stage, by_procedure, more, next_cursor)


def inbox_rows(
    session: Session, user: Any, filters: InboxFilters, sort: str, now: datetime, limit: int
) -> list[InboxRow]:
    """Every row of the filtered 待办 (up to `limit`), in the list's order: what its export holds."""
    rows: list[InboxRow] = []
    at = PageAt()
    while len(rows) < limit:
        found = inbox(session, user, filters, sort, at, MAX_PAGE_SIZE, now)
        rows += found.rows
        if not found.next_cursor:
            break
        at = PageAt(at.number + 1, found.next_cursor)
    return rows[:limit]


def _narrowed(query: Select[Any], filters: InboxFilters, sort: str = "") -> Select[Any]:
    """The work-item table joined only to what the filters and the sort read: counts stay index-only."""
    query = query.select_from(WorkItem)
    if filters.procedure or sort.lstrip("-") == "key":
        query = query.join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
    return query


def _joined(query: Select[Any]) -> Select[Any]:
    return (
        query.select_from(WorkItem)
        .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
        .join(Unit, Unit.id == WorkItem.unit_id)
        .join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
    )


def _conditions(user: Any, filters: InboxFilters, now: datetime, versions: list[int]) -> list[ColumnElement[bool]]:
    """`versions`: the ids of the filtered procedure's diagram versions that the inbox holds items of."""
    conditions = [visible_work_items(user).whereclause]
    if filters.procedure:
        conditions.append(ProcessInstance.definition_id.in_(versions))
    if filters.stage:
        conditions.append(WorkItem.stage == filters.stage)
    if filters.region:
        prefix = region_prefix(filters.region)  # a range of six-digit codes, read off ix_work_item_inbox_region
        conditions.append(WorkItem.region_code.between(prefix.ljust(6, "0"), prefix.ljust(6, "9")))
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
    """Sort column then id, in one direction, so each order is one range of an inbox index."""
    descending = sort.startswith("-")
    name = sort.lstrip("-") if sort.lstrip("-") in SORT_COLUMNS else DEFAULT_SORT
    column = SORT_COLUMNS[name]
    ordered = column.desc() if descending else column.asc()
    if name == "due":  # the only nullable sort column: items without a deadline come last either way
        ordered = ordered.nulls_last()
    return [ordered, WorkItem.id.desc() if descending else WorkItem.id.asc()]


# ---- keyset cursors: "sort|value|id" of the last row of a page ------------------------------


def _cursor_of(sort: str, row: InboxRow) -> str:
    name = sort.lstrip("-") if sort.lstrip("-") in SORT_COLUMNS else DEFAULT_SORT
    value = {"created": row.item.created_at, "due": row.item.due_at, "key": row.business_key}[name]
    shown = value.isoformat() if isinstance(value, datetime) else (value or "")
    return f"{sort}|{shown}|{row.item.id}"


def _cursor_condition(sort: str, after: str) -> ColumnElement[bool] | None:
    """Rows after the cursor in `sort` order; None when the cursor is missing, malformed or of another sort."""
    parts = after.split("|")
    if len(parts) != 3 or parts[0] != sort or not parts[2].isdigit():
        return None
    name = sort.lstrip("-") if sort.lstrip("-") in SORT_COLUMNS else DEFAULT_SORT
    column, item_id = SORT_COLUMNS[name], int(parts[2])
    try:
        value: Any = parts[1] if name == "key" else (datetime.fromisoformat(parts[1]) if parts[1] else None)
    except ValueError:
        return None
    beyond = (lambda a, b: a < b) if sort.startswith("-") else (lambda a, b: a > b)
    if value is None:  # past the dated rows already: only undated ones follow, in id order
        return and_(column.is_(None), beyond(WorkItem.id, item_id))
    later = beyond(tuple_(column, WorkItem.id), tuple_(literal(value, column.type), literal(item_id)))
    return or_(later, column.is_(None)) if name == "due" else later


def _is_overdue(item: WorkItem, now: datetime) -> bool:
    return item.due_at is not None and item.due_at < now


def _domain_names_query() -> Select[Any]:
    """The domains the applications :ids register (kind 0) or renew (kind 1), in order of kind and row."""
    ids = bindparam("ids", expanding=True)
    registered = select(Domain.instance_id, Domain.name, literal(0).label("kind"), Domain.id.label("n")).where(
        Domain.instance_id.in_(ids)
    )
    renewed = (
        select(Charge.instance_id, Domain.name, literal(1).label("kind"), Charge.id.label("n"))
        .join(Domain, Domain.id == Charge.domain_id)
        .where(Charge.instance_id.in_(ids), Charge.purpose == "renew", Charge.status != "cancelled")
    )
    both = union_all(registered, renewed).subquery()
    return select(both.c.instance_id, both.c.name).order_by(both.c.kind, both.c.n)


DOMAIN_NAMES = _domain_names_query()  # built once: building the union cost more than running it


def _domain_names(session: Session, instance_ids: list[int]) -> dict[int, str]:
    """The domains each application registers or renews, where it has any (only the page's rows, one query)."""
    if not instance_ids:
        return {}
    names: dict[int, list[str]] = {}
    for instance_id, name in session.execute(DOMAIN_NAMES, {"ids": instance_ids}):
        names.setdefault(instance_id, []).append(name)
    return {instance_id: "、".join(dict.fromkeys(found)) for instance_id, found in names.items()}


# ---- counts ------------------------------------------------------------------------------


Counts = list[tuple[str, int, int]]  # stage, definition id, open items
Definitions = dict[int, tuple[str, str]]  # definition id → process id, name (by version)


def _counts(session: Session, user: Any) -> tuple[Counts, Definitions]:
    """The whole inbox counted by stage and diagram version, with each version's procedure and name.

    A reviewer's inbox is one office and role: its counts are kept as work items come and go
    (app/services/inbox_counts.py). A unit's own few items (no office) are grouped as they are.
    """
    if user.role == UNIT_ROLE:
        grouped = (
            select(WorkItem.stage, ProcessInstance.definition_id, func.count().label("n"))
            .select_from(WorkItem)
            .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
            .where(visible_work_items(user).whereclause)  # type: ignore[arg-type]
            .group_by(WorkItem.stage, ProcessInstance.definition_id)
        ).subquery()
        found = session.execute(_named(grouped)).all()
    else:
        found = session.execute(OFFICE_COUNTS_NAMED, {"office": user.office_code, "role": user.role}).all()
    counts = [(stage, definition_id, n) for stage, definition_id, n, _process_id, _name in found]
    return counts, {definition_id: (process_id, name) for _s, definition_id, _n, process_id, name in found}


def _named(grouped: Any) -> Select[Any]:
    """The (stage, definition id, n) groups with their version's procedure and name, oldest version first."""
    named = (
        grouped.c.stage,
        grouped.c.definition_id,
        grouped.c.n,
        WorkflowDefinition.process_id,
        WorkflowDefinition.name,
    )
    return (
        select(*named)
        .join(WorkflowDefinition, WorkflowDefinition.id == grouped.c.definition_id)
        .order_by(WorkflowDefinition.version)  # the newest version's name wins in _facets
    )


OFFICE_COUNTS_NAMED = _named(inbox_counts.OFFICE_COUNTS)  # built once: every reviewer's 待办 view reads it


def _facets(counts: Counts, definitions: Definitions) -> tuple[list[tuple[str, int]], list[tuple[str, str, int]]]:
    """Counts by stage and by procedure; versions of one diagram add up under its newest version's name."""
    by_stage: dict[str, int] = {}
    by_procedure: dict[str, tuple[str, int]] = {}
    for stage, _definition_id, n in counts:
        by_stage[stage] = by_stage.get(stage, 0) + n
    names = {process_id: name for process_id, name in definitions.values()}  # ordered by version: newest wins
    for _stage, definition_id, n in counts:
        process_id = definitions[definition_id][0]
        by_procedure[process_id] = (names[process_id], by_procedure.get(process_id, ("", 0))[1] + n)
    return sorted(by_stage.items()), [(pid, name, n) for pid, (name, n) in sorted(by_procedure.items())]


def _total(
    session: Session,
    filters: InboxFilters,
    conditions: list[ColumnElement[bool]],
    counts: Counts,
    definitions: Definitions,
) -> tuple[int, bool]:
    """How many items the list holds, and whether that is only a lower bound.

    Narrowed by procedure and stage at most, the counts give it exactly. Other filters count
    matching rows up to COUNT_CAP: the list then says "more than", instead of reading a whole
    large inbox to say how large.
    """
    if replace(filters, procedure="", stage="") == InboxFilters():
        return sum(
            n
            for stage, definition_id, n in counts
            if filters.stage in ("", stage) and filters.procedure in ("", definitions[definition_id][0])
        ), False
    matching = _narrowed(select(WorkItem.id), filters).where(*conditions).limit(COUNT_CAP + 1).subquery()
    found = session.scalar(select(func.count()).select_from(matching)) or 0
    return min(found, COUNT_CAP), found > COUNT_CAP


# ---- 已办 ----------------------------------------------------------------------------


def done(session: Session, user: Any, page: int | PageAt = 1, page_size: int = PAGE_SIZE) -> Done:
    """Tasks the user completed (from the audit trail), newest first.

    The user's events are one range of ix_audit_event_actor_action (actor, action, id): it is counted up
    to COUNT_CAP, and a page given with the previous page's cursor starts below its last id.
    """
    at = page if isinstance(page, PageAt) else PageAt(page)
    mine = (AuditEvent.actor == user.username, AuditEvent.action == "complete")
    counted = select(AuditEvent.id).where(*mine).limit(COUNT_CAP + 1).subquery()
    found = session.scalar(select(func.count()).select_from(counted)) or 0
    total, more = min(found, COUNT_CAP), found > COUNT_CAP
    number = max(at.number, 1) if more else min(max(at.number, 1), max(1, -(-total // page_size)))
    below = int(at.after) if number > 1 and at.after.isdigit() else None
    query = (
        select(AuditEvent, ProcessInstance.business_key, Unit.name, WorkflowDefinition.name, WorkflowDefinition.id)
        .join(ProcessInstance, ProcessInstance.id == AuditEvent.instance_id)
        .join(Unit, Unit.id == ProcessInstance.unit_id)
        .join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
        .where(*mine, *([AuditEvent.id < below] if below is not None else []))
        .order_by(AuditEvent.id.desc())
        .offset(0 if below is not None else (number - 1) * page_size)
        .limit(page_size)
    )
    rows = [
        DoneRow(event, key, unit, procedure, _decision_title(session, definition_id, event))
        for event, key, unit, procedure, definition_id in session.execute(query)
    ]
    last = (not more and number * page_size >= total) or len(rows) < page_size
    return Done(rows, total, number, page_size, more, "" if last else str(rows[-1].event.id))


def _decision_title(session: Session, definition_id: int, event: AuditEvent) -> str:
    """The recorded decision code under the title the task's form gives it (compiled diagrams are cached)."""
    if not event.decision or not event.task_name:
        return event.decision or ""
    compiled = get_engine().definitions.compiled_by_id(session, definition_id)
    form = compiled.element_properties(event.task_name).get("formJsonSchemaFilename")
    properties = compiled.forms.schema(form).get("properties", {}) if form else {}
    return display(event.decision, properties.get("decision", {}))
