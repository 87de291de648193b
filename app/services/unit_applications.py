"""The unit's side of its applications: 办事指南 for its type, 我的申请, the task form, the application page.

Everything shown comes from the diagram (stages, instructions, documentation, process properties)
and the forms; no procedure is known here by name. Work items and instances reach these functions
already loaded through the jurisdiction rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.engine import get_engine
from app.engine.definitions import CompiledDefinition, all_task_specs
from app.engine.errors import EngineError
from app.engine.runner import WITHDRAW_MESSAGE
from app.models import AuditEvent, Certificate, Contact, Domain, ProcessInstance, Unit, WorkItem
from app.models.workflow import ABANDONED
from app.services import applications, badges, drafts, paper, payments, procedures, reminders
from app.services.audit import Actor
from app.services.paging import Paged
from app.services.task_pages import Section, sections

UNIT_LANE = "单位"
REJECTED = "reject"
# Form fields one of the unit's contacts fills in: field → Contact attribute.
CONTACT_FIELDS = {"contact_name": "name", "contact_mobile": "mobile", "contact_email": "email"}


# ---- 办事指南 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitGuide:
    guide: procedures.Guide
    start_form: str  # the form the data needed to start is entered on; empty when none
    start_schema: dict[str, Any]  # its schema, from the newest version (empty when none)


def guides_for(session: Session, unit: Unit) -> list[UnitGuide]:
    """The newest version of every procedure the unit's type may start."""
    definitions = get_engine().definitions
    result = []
    for guide in procedures.guides():
        if unit.unit_type in guide.unit_types:
            compiled = definitions.compiled(definitions.latest(session, guide.process_id))
            start_form = compiled.process_properties.get("startFormJsonSchemaFilename", "")
            result.append(UnitGuide(guide, start_form, compiled.forms.schema(start_form) if start_form else {}))
    return result


def guide_for(session: Session, unit: Unit, process_id: str) -> UnitGuide | None:
    return next((g for g in guides_for(session, unit) if g.guide.process_id == process_id), None)


def form_choices(session: Session, unit: Unit, data: dict[str, Any]) -> dict[str, list[tuple[Any, str]]]:
    """Options the page offers: the domains a check of the diagram found, or the unit's registered domains."""
    choices: dict[str, list[tuple[Any, str]]] = {}
    owned = list(
        session.scalars(
            select(Domain)
            .where(Domain.unit_id == unit.id, Domain.status.in_(("active", "expired")))
            .order_by(Domain.expires_on)
        )
    )
    found = data.get("active_domains")
    if isinstance(found, list):
        choices["domains"] = [(d["name"], f"{d['name']}（有效期至 {d['expires_on']}）") for d in found]
    else:  # e.g. 域名续费: the registered domains, expired ones too
        choices["domains"] = [(d.name, f"{d.name}（到期日 {d.expires_on}，{d.status_label}）") for d in owned]
    choices["record_domain"] = [(d.name, d.name) for d in owned if d.status == "active"]  # 域名解析
    return choices


def contact_choices(unit: Unit, schema: dict[str, Any]) -> list[Contact]:
    """The unit's contacts to choose from (选择联系人, seed 001), when the form asks for a contact."""
    fields = schema.get("properties", {})
    return list(unit.contacts) if all(f in fields for f in CONTACT_FIELDS) else []


def with_contact(unit: Unit, schema: dict[str, Any], data: dict[str, Any], contact_id: str) -> dict[str, Any]:
    """The form data with the chosen contact's details: what the procedure stores is still the three fields."""
    contact = next((c for c in contact_choices(unit, schema) if str(c.id) == contact_id), None)
    if contact is None:
        return data
    return {**data, **{field: getattr(contact, attr) for field, attr in CONTACT_FIELDS.items()}}


# ---- 我的申请 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ListRow:
    instance: ProcessInstance
    procedure: str
    open_item: WorkItem | None  # the unit's own open task, if it has to act


def list_page(session: Session, unit_id: int, page: int, page_size: int) -> Paged:
    """One page of the unit's applications, most recently updated first; those it gave up are gone."""
    mine = (ProcessInstance.unit_id == unit_id) & (ProcessInstance.status != ABANDONED)
    total = session.scalar(select(func.count(ProcessInstance.id)).where(mine)) or 0
    page = min(max(page, 1), max(1, -(-total // page_size)))
    instances = list(
        session.scalars(
            select(ProcessInstance)
            .where(mine)
            .order_by(ProcessInstance.updated_at.desc(), ProcessInstance.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    items = _unit_items(session, [i.id for i in instances])
    rows = [ListRow(i, i.definition.name, items.get(i.id)) for i in instances]
    return Paged(rows, total, page, page_size)


def open_unit_item(session: Session, instance_id: int) -> WorkItem | None:
    return _unit_items(session, [instance_id]).get(instance_id)


def _unit_items(session: Session, instance_ids: list[int]) -> dict[int, WorkItem]:
    if not instance_ids:
        return {}
    query = select(WorkItem).where(WorkItem.instance_id.in_(instance_ids), WorkItem.role == UNIT_LANE)
    return {item.instance_id: item for item in session.scalars(query.order_by(WorkItem.id.desc()))}


# ---- the task form ----------------------------------------------------------------------


@dataclass(frozen=True)
class TaskPage:
    item: WorkItem
    instance: ProcessInstance
    procedure: str
    instructions: str
    schema: dict[str, Any]
    values: dict[str, Any]  # the draft, or else what the application holds for this form's fields
    choices: dict[str, list[tuple[Any, str]]]
    reason: str  # 不通过原因 of the last review, if it was a rejection
    draft_saved_at: datetime | None
    contacts: list[Contact]  # the unit's contacts, when the form asks for one
    paper: paper.PaperMaterials | None = None  # what to bring and where, on the step that brings the paper


def task_page(session: Session, user: Any, item: WorkItem) -> TaskPage:
    """What the unit sees on its open task: the diagram's instructions and the form, pre-filled."""
    engine = get_engine()
    instance = task_instance(session, item)
    compiled = engine.definitions.compiled_by_id(session, instance.definition_id)
    data = engine.reader.data(instance.id)
    schema = compiled.forms.schema(item.form or "")
    draft = drafts.find(session, item.task_id, user.id)
    fields = schema.get("properties", {})
    own = {**_from_account(instance.unit, fields), **{k: v for k, v in data.items() if k in fields}}
    done, _current = engine.reader.progress(instance.id)
    return TaskPage(
        item=item,
        instance=instance,
        procedure=compiled.name,
        instructions=compiled.instructions.get(item.task_name, ""),
        schema=schema,
        values=dict(draft.data) if draft else own,
        choices=form_choices(session, instance.unit, data),
        reason=rejection_reason(data),
        draft_saved_at=draft.updated_at if draft else None,
        contacts=contact_choices(instance.unit, schema),
        paper=paper.materials(session, instance, compiled, done),
    )


def _from_account(unit: Unit, fields: dict[str, Any]) -> dict[str, str]:
    """Pre-fill from the registration: the first contact, and the unit name as the site name."""
    contact = unit.contacts[0] if unit.contacts else None
    known = {"site_name": unit.name}
    if contact is not None:
        known |= {field: getattr(contact, attr) for field, attr in CONTACT_FIELDS.items()}
    return {name: value for name, value in known.items() if name in fields and value}


def rejection_reason(data: dict[str, Any]) -> str:
    return str(data.get("reason") or "") if data.get("decision") == REJECTED else ""


def task_instance(session: Session, item: WorkItem) -> ProcessInstance:
    instance = session.get(ProcessInstance, item.instance_id)
    assert instance is not None  # a work item always belongs to an instance
    return instance


# ---- the application page ---------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    state: str  # done / current / todo


@dataclass(frozen=True)
class Waiting:
    """An open step of someone else, in plain words."""

    title: str
    text: str
    due_at: datetime | None


@dataclass(frozen=True)
class ApplicationPage:
    instance: ProcessInstance
    procedure: str
    steps: list[Step]
    unit_item: WorkItem | None
    instructions: str  # of the unit's open task
    waiting: list[Waiting]  # what others do now (or how it ended)
    paper: paper.PaperMaterials | None  # what to bring and where, while the paper step is open
    reason: str  # 不通过原因, while the unit has to act on it (or the application ended with it)
    sections: list[Section]
    timeline: list[AuditEvent]
    documents_available: bool
    reminder: reminders.ReminderState
    withdrawable: bool
    certificates: list[Certificate]  # badges issued by this application
    bill: payments.Bill | None = None  # what the application charges, while some of it is unpaid (待缴费)


def application_page(session: Session, instance: ProcessInstance, now: datetime) -> ApplicationPage:
    """Stage, next step, materials, the submitted data and the history of one of the unit's applications."""
    engine = get_engine()
    compiled = engine.definitions.compiled_by_id(session, instance.definition_id)
    data = engine.reader.data(instance.id)
    passed, current = engine.reader.progress(instance.id)
    items = applications.list_work_items(session, instance_id=instance.id)
    unit_item = next((i for i in items if i.role == UNIT_LANE), None)
    others = [i for i in items if i.role != UNIT_LANE]
    documents = _documents_available(compiled, passed)
    return ApplicationPage(
        instance=instance,
        procedure=compiled.name,
        steps=steps(procedures.main_stages(compiled), instance.stage, visited_stages(compiled, passed)),
        unit_item=unit_item,
        instructions=compiled.instructions.get(unit_item.task_name, "") if unit_item else "",
        waiting=_waiting(compiled, instance, passed, current, others),
        paper=paper.materials(session, instance, compiled, passed) if items else None,
        reason=rejection_reason(data) if unit_item or instance.status == "completed" else "",
        sections=sections([compiled.forms.schema(f) for f in unit_forms(compiled)], data),
        timeline=applications.timeline(session, instance.id),
        documents_available=documents,
        reminder=reminders.state(session, instance, now),
        withdrawable=_withdrawable(compiled, others),
        certificates=badges.for_instance(session, instance.id),
        bill=_due(session, instance),
    )


def _due(session: Session, instance: ProcessInstance) -> payments.Bill | None:
    bill = payments.bill_of(session, instance.id)
    return bill if bill is not None and bill.unpaid and instance.status == "running" else None


def steps(stages: list[str], current: str, visited: set[str] | None = None) -> list[Step]:
    """The diagram's stages in order: those before the current one done, the current one highlighted.

    With `visited` (stages this application has been through), a stage before the current one that
    it never reached is a branch not taken (e.g. 审核不通过 on a first approval) and is left out.
    """
    now = {part for part in current.split("、") if part in stages}
    last = max((stages.index(s) for s in now), default=-1)
    if not now and current:  # a stage off the usual path (e.g. 审核不通过): shown after the last one reached
        reached = [i for i, s in enumerate(stages) if visited and s in visited]
        last = max(reached, default=-1)
        stages = [*stages[: last + 1], current, *stages[last + 1 :]]
        now = {current}
        last += 1
    result = []
    for index, stage in enumerate(stages):
        if stage in now:
            result.append(Step(stage, "current"))
        elif index > last:
            result.append(Step(stage, "todo"))
        elif visited is None or stage in visited:
            result.append(Step(stage, "done"))
    return result


def visited_stages(compiled: CompiledDefinition, passed: list[str]) -> set[str]:
    return {compiled.element_properties(e).get("stage", "") for e in passed} - {""}


def unit_forms(compiled: CompiledDefinition) -> list[str]:
    """Forms the unit fills in on this diagram (its start form and the user tasks in its lane)."""
    names = [compiled.process_properties.get("startFormJsonSchemaFilename", "")]
    for spec in all_task_specs(compiled.spec, compiled.subprocess_specs):
        if spec.lane == UNIT_LANE and spec.manual:
            names.append(compiled.element_properties(spec.bpmn_id).get("formJsonSchemaFilename", ""))
    return [n for n in dict.fromkeys(names) if n]


def withdrawable_elements(compiled: CompiledDefinition) -> set[str]:
    """Tasks with a boundary event catching the unit's 撤回 message."""
    attached = set()
    for spec in all_task_specs(compiled.spec, compiled.subprocess_specs):
        if getattr(getattr(spec, "event_definition", None), "name", None) == WITHDRAW_MESSAGE:
            attached |= {o.bpmn_id for i in spec.inputs for o in i.outputs if o.bpmn_id and o is not spec}
    return attached


def _withdrawable(compiled: CompiledDefinition, items: list[WorkItem]) -> bool:
    """The unit may 撤回 while a reviewer's task that the diagram lets it withdraw from is unclaimed."""
    elements = withdrawable_elements(compiled)
    return any(i.assignee is None and i.task_name in elements for i in items)


def _waiting(
    compiled: CompiledDefinition,
    instance: ProcessInstance,
    passed: list[str],
    current: list[str],
    items: list[WorkItem],
) -> list[Waiting]:
    """Others' open tasks and staged waits (timers, messages); for a finished application, how it ended: the
    end event it reached. Not every element of its last stage: those are waits it has been through (e.g.
    the 挂标期限 of 标识已发放), which would read as steps still to come."""
    docs = _summaries(compiled)
    due = {i.task_name: i.due_at for i in items}
    if instance.status == "completed":
        ends = compiled.end_events()
        shown = [e for e in passed if e in ends]
    else:
        shown = [e for e in current if e in due or _is_staged_wait(compiled, e)]
    return [Waiting(compiled.names.get(e, e), docs[e], due.get(e)) for e in shown if docs.get(e)]


def _is_staged_wait(compiled: CompiledDefinition, element: str) -> bool:
    props = compiled.element_properties(element)
    return bool(props.get("stage")) and not props.get("formJsonSchemaFilename")


def _summaries(compiled: CompiledDefinition) -> dict[str, str]:
    """The first paragraph of each element's documentation: what happens there, in plain words."""
    return {element: text.strip().split("\n")[0] for element, text in compiled.element_docs.items()}


def _documents_available(compiled: CompiledDefinition, passed: list[str]) -> bool:
    after = compiled.process_properties.get("documentsAvailableAfter")
    return bool(after) and after in passed


# ---- submitting -------------------------------------------------------------------------


class SubmissionHeld(Exception):
    """Not submitted: problems to fix, or normalised values to confirm; the draft keeps what will be stored."""

    def __init__(self, errors: dict[str, str], notes: dict[str, str]) -> None:
        super().__init__("；".join([*errors.values(), *notes.values()]))
        self.errors = errors
        self.notes = notes


def submit(
    session: Session,
    item: WorkItem,
    actor: Actor,
    user_id: int,
    data: dict[str, Any],
    expected_version: int | None,
    now: datetime,
) -> ProcessInstance:
    """Complete the unit's open task; a refused or failed submission keeps what was typed as a draft.

    Values the input policy rewrote visibly (a domain name's dots, case or A-label) are shown to
    the user once before they are submitted: the form comes back filled with them.
    """
    task_id = item.task_id  # read now: a refused completion rolls back and expires the row
    cleaned = applications.version_of(session, item.instance_id).forms.clean(item.form or "", data)
    if cleaned.errors or cleaned.rewritten:
        drafts.save(session, task_id, user_id, cleaned.data, now)
        raise SubmissionHeld(cleaned.errors, {f: _rewrite_note(*pair) for f, pair in cleaned.rewritten.items()})
    data = cleaned.data
    try:
        instance = get_engine().runner.complete(task_id, actor, data, expected_version)
    except EngineError:
        drafts.save(session, task_id, user_id, data, now)
        raise
    drafts.delete(session, task_id)
    return instance


def _rewrite_note(typed: str, stored: str) -> str:
    return f"已按域名规范写为“{stored}”（您输入的是“{typed}”），请核对无误后再次提交。"
