"""What each deployed procedure says about itself: title, guide text, stages, who may apply."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.engine import get_engine
from app.extensions import db
from app.models import WorkflowDefinition


@dataclass(frozen=True)
class Guide:
    process_id: str
    name: str
    version: int
    documentation: str
    stages: list[str]
    unit_types: list[str]


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
    result = []
    for row in rows:
        compiled = engine.definitions.compiled(row)
        unit_types = compiled.process_properties.get("unitTypes", "")
        result.append(
            Guide(
                row.process_id,
                row.name,
                row.version,
                compiled.documentation,
                compiled.stages,
                [t.strip() for t in unit_types.split(",") if t.strip()],
            )
        )
    return result
