"""Workflow state to JSON and back, without the spec: specs come from the definition cache.

Version 2 adds `passed`, the elements an application passed in task history that compaction cut
away; a version 1 state reads as having cut nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from app.engine.compaction import PlatformWorkflow

STATE_VERSION = "spiff-3.2/2"


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Like SpiffWorkflow's converter, but the spec is given on restore instead of stored.

    Every state restores as a PlatformWorkflow, whether written as one or (version 1, or a plain
    workflow a benchmark builds) as a BpmnWorkflow.
    """

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        if isinstance(workflow, PlatformWorkflow):
            dct["passed"] = sorted(workflow.passed)
        return dct

    def from_dict(
        self,
        dct: dict[str, Any],
        spec: BpmnProcessSpec | None = None,
        subprocess_specs: dict[str, BpmnProcessSpec] | None = None,
    ) -> PlatformWorkflow:
        workflow = PlatformWorkflow(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        workflow.passed = set(dct.get("passed", []))
        return workflow


class StateSerializer:
    """dump() and load() of a workflow's state as a JSON-ready dict."""

    version = STATE_VERSION

    def __init__(self) -> None:
        config = dict(SPIFF_CONFIG)
        config[BpmnWorkflow] = _SpeclessWorkflowConverter
        config[PlatformWorkflow] = _SpeclessWorkflowConverter
        self._registry = BpmnWorkflowSerializer.configure(config)

    def dump(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        return self._registry.convert(workflow)  # type: ignore[no-any-return]

    def load(
        self, state: dict[str, Any], spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]
    ) -> PlatformWorkflow:
        return self._registry.restore(dict(state), spec=spec, subprocess_specs=subprocess_specs)  # type: ignore[no-any-return]
