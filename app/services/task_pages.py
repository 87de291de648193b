"""What a reviewer's task page shows: the application read-only by form, the instructions, the form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.engine import get_engine
from app.engine.definitions import CompiledDefinition
from app.models import AuditEvent, ProcessInstance, Unit, User, WorkItem
from app.models.account import UNIT_ROLE
from app.services import applications, paper, payments
from app.services.assignment import colleagues
from app.services.payments import Bill


@dataclass(frozen=True)
class Section:
    """Part of the application as submitted: a form's title and its (field title, value) rows."""

    title: str
    rows: list[tuple[str, str]]


@dataclass(frozen=True)
class TaskPage:
    item: WorkItem
    instance: ProcessInstance
    unit: Unit
    procedure: str
    instructions: str
    schema: dict[str, Any]  # the decision form of this task
    sections: list[Section]
    colleagues: list[User]
    timeline: list[AuditEvent]
    bill: Bill | None = None  # the application's fees, when it charges any
    fee_years_field: str = ""  # the form field that sets the years paid for (task property feeYearsField)
    values: dict[str, Any] = field(default_factory=dict)  # what the form starts with
    paper: paper.PaperMaterials | None = None  # the materials to check, once the unit brings paper


def task_page(session: Session, user: Any, item: WorkItem) -> TaskPage:
    """What a reviewer sees on a task: the application read-only, the diagram's instructions, the form."""
    engine = get_engine()
    instance = session.get(ProcessInstance, item.instance_id)
    assert instance is not None  # a work item always belongs to an instance
    compiled = engine.definitions.compiled_by_id(session, instance.definition_id)
    data = engine.reader.data(instance.id)
    earlier_forms = [compiled.forms.schema(name) for name in application_forms(compiled) if name != item.form]
    done, _current = engine.reader.progress(instance.id)
    return TaskPage(
        item=item,
        instance=instance,
        unit=session.get(Unit, instance.unit_id),  # type: ignore[arg-type]
        procedure=compiled.name,
        instructions=compiled.instructions.get(item.task_name, ""),
        schema=compiled.forms.schema(item.form or ""),
        sections=sections(earlier_forms, data),
        colleagues=colleagues(session, user),
        timeline=applications.timeline(session, instance.id),
        paper=paper.materials(session, instance, compiled, done),
        **_fee_collection(session, compiled, item, instance.id),
    )


def _fee_collection(session: Session, compiled: CompiledDefinition, item: WorkItem, instance_id: int) -> dict[str, Any]:
    """On a task that collects the fees (property feeYearsField), the amount due and the years applied for."""
    bill = payments.bill_of(session, instance_id)
    years_field = compiled.element_properties(item.task_name).get("feeYearsField", "")
    values = {years_field: bill.years} if years_field and bill and bill.unpaid else {}
    return {"bill": bill, "fee_years_field": years_field if bill else "", "values": values}


def application_forms(compiled: CompiledDefinition) -> list[str]:
    """The unit's forms (the start form and those of the unit's lane), in document order. Reviewers' decision
    forms are left out: their fields (decision, reason) are overwritten at every step, so a value shown under
    one of them would be another step's decision; the timeline shows each decision where it was taken."""
    names = []
    for element_id, props in compiled.properties.items():
        if props.get("startFormJsonSchemaFilename"):
            names.append(props["startFormJsonSchemaFilename"])
        task_spec = compiled.spec.task_specs.get(element_id)
        if props.get("formJsonSchemaFilename") and task_spec is not None and task_spec.lane == UNIT_ROLE:
            names.append(props["formJsonSchemaFilename"])
    return list(dict.fromkeys(names))


def sections(schemas: list[dict[str, Any]], data: dict[str, Any]) -> list[Section]:
    """The data fields each form defines, titled by the form; a field shows once, under its first form."""
    shown: set[str] = set()
    result = []
    for schema in schemas:
        rows = []
        for name, prop in schema.get("properties", {}).items():
            if name in shown or data.get(name) in (None, "", []):
                continue
            shown.add(name)
            rows.append((str(prop.get("title") or name), display(data[name], prop)))
        if rows:
            result.append(Section(str(schema.get("title", "")), rows))
    return result


def display(value: Any, prop: dict[str, Any]) -> str:
    """A value as the form offered it: option titles for codes, 是/否, lists joined with 、."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(display(v, prop.get("items", {})) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}：{display(v, {})}" for k, v in value.items())
    titles = {str(o["const"]): str(o.get("title", o["const"])) for o in prop.get("oneOf", []) if "const" in o}
    return titles.get(str(value), str(value))
