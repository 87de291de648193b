"""Search of the applications in a reviewer's jurisdiction by 申请编号, 单位名称 or 域名 (the worklist's search box).

Every query starts from the jurisdiction rules (app/services/jurisdiction.py), so a hit is always an
application the user may open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, union
from sqlalchemy.orm import Session

from app.models import Domain, ProcessInstance, Unit, WorkflowDefinition, WorkItem
from app.services import query_planning, text_match
from app.services.jurisdiction import visible_instances, visible_work_items

SEARCH_LIMIT = 50
SEARCH_UNITS = 2000  # up to this many units matching a search are looked up by id (see _few)


@dataclass(frozen=True)
class SearchHit:
    instance_id: int
    business_key: str
    stage: str
    created_at: datetime
    unit_name: str
    procedure: str
    item_id: int | None  # the user's open work item on this application, if any


def search(session: Session, user: Any, text: str, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
    """Applications in the user's jurisdiction by 申请编号, 单位名称 or 域名 (part of it), newest first.

    A domain finds every application of the unit holding it (registration, renewals, site reviews).
    Each way of matching is its own query, newest first and cut at `limit`; the union of the three is
    cut at `limit` again. A name matching few units is read through those units' applications (the
    trigram indexes of migration fa13a0000001 find them on PostgreSQL); one matching many is tested on
    the newest applications until enough match (see _few).
    """
    text = text.strip()[:100]
    if not text:
        return []
    if len(text) <= text_match.SHORT:  # how common a short text is decides its plan (longer ones have trigrams)
        query_planning.plan_per_value(session)
    dialect, pattern = session.get_bind().dialect.name, text_match.like_pattern(text)

    def units_holding(column: Any, unit_id: Any) -> tuple[Select[Any], Select[Any]]:
        """The units whose `column` holds the text: asked through the indexes (a short text through its
        short-gram index), and as a plain test for a text that many units hold, which is then matched on
        the newest applications (a gram index would have to collect all of those units first)."""
        probe = select(unit_id).where(text_match.contains(column, text, dialect))
        return probe, select(unit_id).where(column.like(pattern, escape="\\"))

    newest = ProcessInstance.id.desc()
    by_units = (ProcessInstance.id + 0).desc()  # not the primary key's order: start from the units' rows
    few = [
        (units, _few(session, probe))
        for probe, units in (units_holding(Unit.name, Unit.id), units_holding(Domain.name, Domain.unit_id))
    ]
    known = sorted({unit_id for _units, ids in few if ids is not None for unit_id in ids})
    matches = [(ProcessInstance.unit_id.in_(units), newest) for units, ids in few if ids is None]
    if known:  # the units found by name and by domain, in one query
        matches.append((ProcessInstance.unit_id.in_(known), by_units))
    if text.isascii() and text.isalnum():  # application numbers: two capital letters and ten digits
        matches.append((ProcessInstance.business_key.like(f"%{text.upper()}%"), newest))
    if not matches:  # no unit has that name or domain, and it is no application number
        return []
    visible = visible_instances(user).whereclause
    cut = [
        select(ProcessInstance.id)
        .where(*([visible] if visible is not None else []), match)
        .order_by(order)
        .limit(limit)
        .subquery()
        for match, order in matches
    ]
    found_ids = union(*(select(q.c.id) for q in cut)).subquery()
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
        .where(ProcessInstance.id.in_(select(found_ids.c.id)))
        .order_by(ProcessInstance.id.desc())
        .limit(limit)
    )
    found = session.execute(query).all()
    items = _open_items(session, user, [row[0] for row in found])
    return [SearchHit(*row, item_id=items.get(row[0])) for row in found]


def _few(session: Session, units: Select[Any]) -> list[int] | None:
    """The matching unit ids when there are at most SEARCH_UNITS of them, else None.

    A rare name is found through its index and its few units' applications read by unit; a common one
    is better tested on the newest applications until enough match. Reading the ids first says which
    case this is, where the planner's estimate of a LIKE pattern cannot.
    """
    found = list(session.scalars(units.limit(SEARCH_UNITS + 1)))
    return found if len(found) <= SEARCH_UNITS else None


def _open_items(session: Session, user: Any, instance_ids: list[int]) -> dict[int, int]:
    if not instance_ids:
        return {}
    query = visible_work_items(user).where(WorkItem.instance_id.in_(instance_ids)).order_by(WorkItem.id)
    return {item.instance_id: item.id for item in reversed(list(session.scalars(query)))}
