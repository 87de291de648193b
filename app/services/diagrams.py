"""The live diagram of an application: its own definition version and how far it has come, drawn, and
told in words beside the drawing (the step open now and the procedure's stages), so nobody has to read
the diagram to know where an application stands."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.engine import get_engine
from app.models import ProcessInstance, WorkflowDefinition
from app.services import procedures, unit_applications


@dataclass(frozen=True)
class StageMark:
    name: str
    state: str  # done / current / next / later; on a finished application: done / result


@dataclass(frozen=True)
class Overview:
    current_steps: list[str]  # names of the diagram's elements open now
    stages: list[StageMark]
    finished: bool
    stage: str  # the application's stage (its result, once finished)


def definition_xml(session: Session, instance: ProcessInstance) -> str:
    """The XML of the version the instance runs on (running instances keep theirs after a deploy)."""
    definition = session.get(WorkflowDefinition, instance.definition_id)
    return definition.xml if definition is not None else ""


def progress(instance: ProcessInstance) -> dict[str, list[str]]:
    """Element ids already passed (`done`) and open now (`current`), for markers on the diagram."""
    done, current = get_engine().reader.progress(instance.id)
    return {"done": done, "current": current}


def overview(session: Session, instance: ProcessInstance) -> Overview:
    """The step open now and the procedure's usual stages (`mainStages`), each marked done, current or to come."""
    engine = get_engine()
    compiled = engine.definitions.compiled_by_id(session, instance.definition_id)
    passed, current = engine.reader.progress(instance.id)
    visited = unit_applications.visited_stages(compiled, passed)
    steps = unit_applications.steps(procedures.main_stages(compiled), instance.stage, visited)
    finished = instance.status == "completed"
    names = [compiled.names[e] for e in current if compiled.names.get(e, e) != e]  # unnamed: no words to show
    return Overview(list(dict.fromkeys(names)), _marked(steps, finished), finished, instance.stage)


def _marked(steps: list[unit_applications.Step], finished: bool) -> list[StageMark]:
    """A finished application shows the stages it went through and its result, nothing still to come;
    an open one names the first stage after the current one as the next."""
    if finished:
        return [StageMark(s.name, "result" if s.state == "current" else "done") for s in steps if s.state != "todo"]
    first_todo = next((i for i, s in enumerate(steps) if s.state == "todo"), -1)
    return [
        StageMark(s.name, s.state if s.state != "todo" else ("next" if i == first_todo else "later"))
        for i, s in enumerate(steps)
    ]
