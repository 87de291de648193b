"""Search of the applications in a reviewer's jurisdiction by 申请编号, 单位名称 or 域名 (the worklist's search box).

Every query starts from the jurisdiction rules (app/services/jurisdiction.py), so a hit is always an
application the user may open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, cast, func, select, union
from sqlalchemy.orm import Session

from app.models import Domain, ProcessInstance, Unit, WorkflowDefinition, WorkItem
from app.services import query_planning, text_match
from app.services.jurisdiction import instance_visibility, visible_work_items

SEARCH_LIMIT = 50
NUMBER_START = re.compile(r"[A-Z]{2}[0-9]*")  # the start of an application number
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
    query_planning.plan_per_value(session)  # how common the text is, and which units hold it, decide the plans
    dialect, pattern = session.get_bind().dialect.name, text_match.like_pattern(text)

    def units_holding(column: Any, unit_id: Any) -> tuple[Select[Any], str | None]:
        """The units whose `column` holds the text, as a plain test for a text that many units hold, which is
        then matched on the newest applications (a gram index would have to collect all of those units
        first); and the ids of those units when they are few, found through the indexes (a short text through
        its short-gram index)."""
        probe = select(unit_id).where(text_match.contains(column, text, dialect))
        return select(unit_id).where(column.like(pattern, escape="\\")), _few(session, probe, column, pattern)

    newest = ProcessInstance.id.desc()
    by_units = (ProcessInstance.id + 0).desc()  # not the primary key's order: start from the units' rows
    few = [units_holding(Unit.name, Unit.id), units_holding(Domain.name, Domain.unit_id)]
    known = {unit_id for _units, ids in few if ids for unit_id in ids.split(",")}  # a unit found both ways once
    # Names many units hold: newest first, each part of the jurisdiction from its own index in id order.
    matches = [(ProcessInstance.unit_id.in_(units), newest, True) for units, ids in few if ids is None]
    if known:  # the units found by name and by domain, in one query
        matches.append((query_planning.among(ProcessInstance.unit_id, ",".join(known), dialect), by_units, False))
    if text.isascii() and text.isalnum():  # application numbers: two capital letters and ten digits
        matches.append((_numbers_holding(text.upper()), newest, False))
    if not matches:  # no unit has that name or domain, and it is no application number
        return []
    visible = instance_visibility(user)
    cut = [
        select(ProcessInstance.id).where(scope, match).order_by(order).limit(limit).subquery()
        for match, order, apart in matches
        for scope in (visible.parts if apart else (visible.condition,))
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


def _numbers_holding(text: str) -> ColumnElement[bool]:
    """Application numbers holding `text` (upper case, letters and digits). A number is two letters and digits
    (businessKeyPrefix, year, sequence), so one that starts with two letters is held only by the numbers
    starting with it: read off a prefix index (PostgreSQL, migration fn13a0000010).
    Any other part goes through the trigram index."""
    if NUMBER_START.fullmatch(text):
        return ProcessInstance.business_key.like(f"{text}%")
    return ProcessInstance.business_key.like(f"%{text}%")


def _few(session: Session, units: Select[Any], name: Any, pattern: str) -> str | None:
    """The matching unit ids (the text "1,2,3", empty for none) when there are at most SEARCH_UNITS, else None.

    A rare name is found through its index and its few units' applications read by unit; a common one
    is better tested on the newest applications until enough match. A text held by many units is taken as
    common without collecting them (on PostgreSQL a GIN index collects every match before a LIMIT applies):
    the planner's statistics rule out most texts at once, and a sample of the names confirms the rest, as a
    rare text mistaken for a common one would have every application tested (0.7 s at a million). Otherwise
    the ids are read, which also settles an estimate that was too low.
    """
    if (
        query_planning.estimated_rows(session, units) > SEARCH_UNITS
        and query_planning.sampled_matches(session, name, pattern) > SEARCH_UNITS
    ):
        return None  # many hold it: do not collect them all to learn it
    found = units.limit(SEARCH_UNITS + 1).subquery()
    listed = select(func.count(), func.aggregate_strings(cast(found.c[0], Text), ","))
    count, ids = session.execute(listed).one()
    return (ids or "") if count <= SEARCH_UNITS else None


def _open_items(session: Session, user: Any, instance_ids: list[int]) -> dict[int, int]:
    """Application → the user's open work item on it (the oldest, if several): two columns, not the items."""
    if not instance_ids:
        return {}
    dialect = session.get_bind().dialect.name
    query = (
        visible_work_items(user)
        .with_only_columns(WorkItem.instance_id, WorkItem.id)
        .where(query_planning.among(WorkItem.instance_id, instance_ids, dialect))
        .order_by(WorkItem.id.desc())
    )
    return dict(session.execute(query).all())
