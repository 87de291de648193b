"""Submitting a renewal from 到期域名查询: the ticked domains and the years, by the unit or by its 编办.

One application renews the ticked domains of one unit. A unit renews its own; a 编办 renews for a
unit it answers for (seed 003: 编办 renews from 域名查询), and the domains it ticks must all be of
that one unit. The diagram (workflows/域名续费.bpmn) checks each domain and creates the charges;
its refusals come back as field errors, and nothing is created.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine import get_engine
from app.engine.errors import FormValidationError
from app.models import Domain, ProcessInstance, Unit, WorkItem
from app.models.account import UNIT_ROLE
from app.services.audit import Actor
from app.services.jurisdiction import visible_units, visible_work_items
from app.services.renewals import FIELD
from app.taskforms.schemas import FormLibrary

PROCESS_ID = "domain_renewal"


def start_schema(session: Session) -> dict[str, Any]:
    """The renewal form of the newest version (what the query page posts: domains and years)."""
    forms, name = _start_form(session)
    return forms.schema(name)


def submit(session: Session, user: Any, actor: Actor, data: dict[str, Any]) -> ProcessInstance:
    """Start one renewal of the ticked domains (`domains`) for `years`; FormValidationError when refused."""
    if not data.get(FIELD):
        raise FormValidationError({FIELD: "请至少勾选一个需续费的域名"})
    data = _cleaned(session, data)
    names = [str(n) for n in data[FIELD]]
    unit_id = user.unit_id if user.role == UNIT_ROLE else _one_unit(session, user, names)
    return get_engine().runner.start(PROCESS_ID, unit_id, actor, data)


def _cleaned(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """The input policy and the form before the names are looked up (the runner checks the same again)."""
    forms, name = _start_form(session)
    cleaned = forms.clean(name, data)
    if cleaned.errors:
        raise FormValidationError(cleaned.errors)
    return cleaned.data


def _start_form(session: Session) -> tuple[FormLibrary, str]:
    definitions = get_engine().definitions
    compiled = definitions.compiled(definitions.latest(session, PROCESS_ID))
    return compiled.forms, compiled.process_properties["startFormJsonSchemaFilename"]


def _one_unit(session: Session, user: Any, names: list[str]) -> int:
    """The unit that holds every ticked domain, among those the 编办 answers for."""
    query = (
        select(Domain.name, Domain.status, Unit.id, Unit.name)
        .join(Unit, Unit.id == Domain.unit_id)
        .where(Domain.name.in_(names), Unit.id.in_(visible_units(session, user)))
        .order_by(Domain.id)
    )
    owners: dict[str, tuple[int, str]] = {}
    for name, status, unit_id, unit_name in session.execute(query):
        if name not in owners or status != "deleted":  # a deleted record only if nothing newer holds the name
            owners[name] = (unit_id, unit_name)
    unknown = [name for name in names if name not in owners]
    if unknown:
        raise FormValidationError({FIELD: f"域名 {'、'.join(unknown)} 不是本编办所辖单位的域名"})
    units = dict(owners.values())
    if len(units) > 1:
        raise FormValidationError({FIELD: f"所选域名属于多个单位（{'、'.join(units.values())}），请按单位分别续费"})
    return next(iter(units))


def open_item(session: Session, user: Any, instance_id: int) -> WorkItem | None:
    """The user's open task on the application, if any (the 编办's 确认收费 right after it renewed)."""
    query = visible_work_items(user).where(WorkItem.instance_id == instance_id).order_by(WorkItem.id).limit(1)
    return session.scalar(query)
