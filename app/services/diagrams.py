"""The live diagram of an application: its own definition version and how far it has come."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.engine import get_engine
from app.models import ProcessInstance, WorkflowDefinition


def definition_xml(session: Session, instance: ProcessInstance) -> str:
    """The XML of the version the instance runs on (running instances keep theirs after a deploy)."""
    definition = session.get(WorkflowDefinition, instance.definition_id)
    return definition.xml if definition is not None else ""


def progress(instance: ProcessInstance) -> dict[str, list[str]]:
    """Element ids already passed (`done`) and open now (`current`), for markers on the diagram."""
    done, current = get_engine().reader.progress(instance.id)
    return {"done": done, "current": current}
