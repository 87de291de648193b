"""What each deployed procedure says about itself: title, guide text, stages, who may apply, and the
deadlines, fees and paper materials its diagram's properties set."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from app.engine import get_engine
from app.engine.definitions import CompiledDefinition
from app.extensions import db
from app.models import WorkflowDefinition
from app.services import guide_text, tariffs
from app.services.calendar import to_beijing_date

DUE_PROPERTY = "dueInWorkdays"  # an element property: the task's deadline in working days


@dataclass(frozen=True)
class Deadline:
    step: str  # the task's name in the diagram
    workdays: str


@dataclass(frozen=True)
class PaperList:
    titles: list[str]
    copies: str
    id_card_copy: bool


@dataclass(frozen=True)
class Guide:
    process_id: str
    name: str
    version: int
    documentation: str
    stages: list[str]
    unit_types: list[str]
    main_stages: list[str] = field(default_factory=list)  # the usual path, in order
    deadlines: list[Deadline] = field(default_factory=list)
    fees: dict[str, int] = field(default_factory=dict)  # domain suffix → yuan per year, in force today
    paper: PaperList | None = None
    blocks: list[guide_text.Block] = field(default_factory=list)  # the documentation laid out


def guides() -> list[Guide]:
    """The newest version of every procedure, described from its diagram."""
    newest = (
        select(WorkflowDefinition.process_id, func.max(WorkflowDefinition.version).label("version"))
        .group_by(WorkflowDefinition.process_id)
        .subquery()
    )
    rows = db.session.scalars(
        select(WorkflowDefinition)
        .join(
            newest,
            (WorkflowDefinition.process_id == newest.c.process_id) & (WorkflowDefinition.version == newest.c.version),
        )
        .order_by(WorkflowDefinition.process_id)
    )
    engine = get_engine()
    today = to_beijing_date(engine.runner.clock())
    return [describe(row, engine.definitions.compiled(row), today) for row in rows]


def describe(row: WorkflowDefinition, compiled: CompiledDefinition, today: date) -> Guide:
    props = compiled.process_properties
    return Guide(
        process_id=row.process_id,
        name=row.name,
        version=row.version,
        documentation=compiled.documentation,
        stages=compiled.stages,
        unit_types=_listed(props.get("unitTypes", ""), ","),
        main_stages=main_stages(compiled),
        deadlines=deadlines(compiled),
        fees=tariffs.fees_on(props, today),
        paper=_paper(props),
        blocks=guide_text.blocks(compiled.documentation, row.name),
    )


def main_stages(compiled: CompiledDefinition) -> list[str]:
    """The step bar: the diagram's `mainStages` property (the usual path), else every stage it names."""
    return _listed(compiled.process_properties.get("mainStages", ""), ",") or compiled.stages


def deadlines(compiled: CompiledDefinition) -> list[Deadline]:
    """The tasks the diagram gives a deadline (`dueInWorkdays`), in the diagram's order."""
    return [
        Deadline(compiled.names.get(element, element), props[DUE_PROPERTY])
        for element, props in compiled.properties.items()
        if props.get(DUE_PROPERTY, "").strip()
    ]


def _paper(props: dict[str, str]) -> PaperList | None:
    titles = _listed(props.get("paperMaterials", ""), ";")
    if not titles:
        return None
    return PaperList(titles, props.get("paperCopies", "1"), props.get("idCardCopyRequired") == "true")


def _listed(value: str, separator: str) -> list[str]:
    return [part.strip() for part in value.split(separator) if part.strip()]
