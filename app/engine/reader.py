"""Reading one application's workflow without acting on it: its data and how far it has come."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.engine.compaction import PlatformWorkflow
from app.engine.definitions import DefinitionStore
from app.engine.errors import NotFoundError
from app.engine.serializer import StateSerializer
from app.models import ProcessInstance


class InstanceReader:
    """Detail pages and documents read through this; lists never do (they query work items)."""

    def __init__(
        self, session_factory: Callable[[], Session], definitions: DefinitionStore, serializer: StateSerializer
    ) -> None:
        self._session_factory = session_factory
        self.definitions = definitions
        self.serializer = serializer

    def data(self, instance_id: int) -> dict[str, Any]:
        """The data of an application as its latest step left it (for display and documents)."""
        workflow = self._workflow(instance_id)
        latest = workflow.last_task or workflow.task_tree
        return dict(latest.data)

    def progress(self, instance_id: int) -> tuple[list[str], list[str]]:
        """Element ids already passed and element ids open now, for marking the live diagram."""
        workflow = self._workflow(instance_id)
        done = {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id}
        done |= workflow.passed  # passed in rounds whose tasks compaction cut away
        open_now = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
        # A boundary event waits beside its task (e.g. 撤回 on 初审); it is not a step of its own.
        current = {
            t.task_spec.bpmn_id for t in open_now if t.task_spec.bpmn_id and not isinstance(t.task_spec, BoundaryEvent)
        }
        return sorted(done - current), sorted(current)

    def _workflow(self, instance_id: int) -> PlatformWorkflow:
        """The workflow of the row as loaded in this session, deserialised once per loaded state.

        A task page reads the data, the progress and the overview of one application: three loads of the
        same state. The workflow is kept beside the row (the ORM object's `info`, gone with the session) and
        reused while the row holds the very state it was made from; a refresh loads a new state object.
        Readers never change the workflow, so sharing it is safe.
        """
        session = self._session_factory()
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFoundError("没有找到该申请")
        kept = inspect(instance).info
        state, workflow = kept.get(_READ, (None, None))
        if workflow is None or state is not instance.state:
            compiled = self.definitions.compiled_by_id(session, instance.definition_id)
            workflow = self.serializer.load(instance.state, compiled.spec, compiled.subprocess_specs)
            kept[_READ] = (instance.state, workflow)
        return workflow


_READ = "reader.workflow"  # the key of the kept workflow in the row's ORM `info`
