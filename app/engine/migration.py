"""Moving a running application's workflow onto another version of its procedure.

SpiffWorkflow 3.2 brings the mechanics (SpiffWorkflow/bpmn/util/diff.py): `SpecDiff` aligns the
old version's task specs with the new one's (by id, else by position between aligned
neighbours) and lists, per aligned spec, the attributes whose serialized form changed;
`WorkflowDiff` / `diff_workflow` say of each task of a workflow and its subprocesses whether its
spec was removed or changed; `migrate_workflow` swaps in the new specs and resets every ready
and waiting task (`reset_branch`), so what follows them is predicted from the new version.

It does not say whether a move is sound, and leaves gaps this module fills:
- Refusals (`plan`): an open task or waiting event whose element was removed or changed kind, a
  waiting timer or message whose event changed (a deadline under way is not re-timed), a join
  waiting with different inputs, a split above an open task (boundary events, parallel or
  inclusive branches) with different outputs: the application would wait for a branch that
  never comes, or miss one.
- Finished tasks whose element was removed stay in the tree with their old spec, and a state
  naming a spec the version lacks cannot be loaded again: they are spliced out of the tree.
- A reset clears a task's internal data: a waiting timer would fall due counted from the moment
  of the move. The open tasks get their data and internal data back.
- Our timer events read the engine's clock (timers.py) under class names the serializer does not
  know, and SpecDiff compares unknown objects with ==, which for timers ignores the expression:
  they are registered here, so a changed deadline is seen.
The moved workflow is saved and loaded back on the new version before anyone relies on it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.control import EventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.engine.compaction import PlatformWorkflow
from app.engine.definitions import CompiledDefinition
from app.engine.errors import RefusedError
from app.engine.serializer import StateSerializer
from app.engine.timers import ClockDuration, ClockTimeDate

_REGISTRY = BpmnWorkflowSerializer.configure(
    {**SPIFF_CONFIG, ClockTimeDate: TimerConditionalEventDefinitionConverter,
     ClockDuration: TimerConditionalEventDefinitionConverter}
)
_OPEN = TaskState.READY | TaskState.WAITING
# Splits whose branches wait on each other or on the open task: a changed set of outputs strands one.
_SPLITS = (EventSplit, ParallelGateway, InclusiveGateway, EventBasedGateway)
_JOINS = (ParallelGateway, InclusiveGateway)


def spec_diff(old: Any, new: Any) -> SpecDiff:
    """SpiffWorkflow's comparison of two process specs, timer expressions included."""
    return SpecDiff(_REGISTRY, old, new)


class MoveRefused(RefusedError):
    """The application cannot move; `reasons` say why (Chinese)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("；".join(reasons))
        self.reasons = reasons


@dataclass
class MovePlan:
    """Whether a workflow can move: what stops it (`problems`) and what the move changes for it (`notes`)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def movable(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Part:
    """The top workflow or a subprocess, the spec it moves to, and SpiffWorkflow's diffs of the two."""

    process: Any
    spec: Any
    specs: SpecDiff
    diff: WorkflowDiff

    @classmethod
    def of(cls, process: Any, spec: Any) -> _Part:
        specs = spec_diff(process.spec, spec)
        return cls(process, spec, specs, WorkflowDiff(process, specs))


def plan(workflow: PlatformWorkflow, old: CompiledDefinition, new: CompiledDefinition) -> MovePlan:
    """What stands in the way of moving `workflow` from `old` to `new`, without changing it."""
    result = MovePlan()
    parts = _parts(workflow, new, result)
    for part in parts:
        changed = part.specs.changed
        for task in part.process.get_tasks(state=_OPEN, skip_subprocesses=True):
            _check_open(task, part, changed, old, new, result)
        _check_splits(part, changed, old, result)
    return result


def move(
    workflow: PlatformWorkflow, old: CompiledDefinition, new: CompiledDefinition, serializer: StateSerializer
) -> tuple[PlatformWorkflow, MovePlan]:
    """The workflow moved onto `new` (saved and loaded back on it); MoveRefused if it cannot move.

    `workflow` needs the script engine of an action under `new`: a reset timer evaluates its expression
    (before it gets its own due time back).
    """
    checked = plan(workflow, old, new)
    if not checked.movable:
        raise MoveRefused(checked.problems)
    kept = {t.id: (copy.deepcopy(t.data), copy.deepcopy(t.internal_data)) for t in workflow.get_tasks(state=_OPEN)}
    for part in _parts(workflow, new, MovePlan()):
        migrate_workflow(part.diff, part.process, part.spec)
        _splice_removed(part.process)
    workflow.subprocess_specs = new.subprocess_specs
    for task in workflow.get_tasks(state=_OPEN):
        if task.id in kept:
            task.data, task.internal_data = kept[task.id]
    _check_settled(workflow, new)
    return serializer.load(serializer.dump(workflow), new.spec, new.subprocess_specs), checked


def _parts(workflow: PlatformWorkflow, new: CompiledDefinition, result: MovePlan) -> list[_Part]:
    """As SpiffWorkflow's diff_workflow, keeping the spec diffs: they say which attributes changed."""
    parts = [_Part.of(workflow, new.spec)]
    for process in workflow.subprocesses.values():
        spec = new.subprocess_specs.get(process.spec.name)
        if spec is None:
            result.problems.append(f"子流程“{process.spec.name}”在新版本中已删除")
        else:
            parts.append(_Part.of(process, spec))
    return parts


def _check_open(
    task: Task, part: _Part, changed: dict[Any, list[str]], old: CompiledDefinition, new: CompiledDefinition,
    result: MovePlan,
) -> None:
    title, waiting = _title(task.task_spec, old), task.state == TaskState.WAITING
    if part.diff.alignment.get(task) is None:
        where = "待办环节" if task.task_spec.manual else "正在等待的" if waiting else "当前所在的"
        result.problems.append(f"{where}“{title}”在新版本中已删除")
        return
    keys = changed.get(task.task_spec, [])
    if "typename" in keys:
        result.problems.append(f"当前所在的“{title}”在新版本中改变了类型")
    elif waiting and "event_definition" in keys:
        result.problems.append(f"正在等待的{_event_kind(task)}“{title}”在新版本中有改动")
    elif waiting and isinstance(task.task_spec, _JOINS) and "inputs" in keys:
        result.problems.append(f"正在汇合的“{title}”在新版本中改变了汇合的分支")
    elif task.task_spec.manual:
        _note_open_task(part.diff.alignment[task], keys, new, result)


def _event_kind(task: Task) -> str:
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        return "定时"
    return "消息" if isinstance(definition, MessageEventDefinition) else "事件"


def _note_open_task(new_spec: Any, keys: list[str], new: CompiledDefinition, result: MovePlan) -> None:
    title = _title(new_spec, new)
    if "lane" in keys:
        result.notes.append(f"待办环节“{title}”改由“{new_spec.lane}”办理，原签收人不再保留")
    if "extensions" in keys or "bpmn_name" in keys:
        result.notes.append(f"待办环节“{title}”按新版本的名称、表单和说明办理")


def _check_splits(part: _Part, changed: dict[Any, list[str]], old: CompiledDefinition, result: MovePlan) -> None:
    """Splits between the meeting point of the open tasks and each of them must keep their outputs."""
    open_tasks = part.process.get_tasks(state=_OPEN, skip_subprocesses=True)
    if not open_tasks:
        return
    paths = [_path_from_root(t) for t in open_tasks]
    shared = _shared_length(paths)
    seen: set[Any] = set()
    for path in paths:
        for task in path[max(shared - 1, 0) : -1]:
            spec = task.task_spec
            if spec in seen or not isinstance(spec, _SPLITS) or "outputs" not in changed.get(spec, []):
                continue
            seen.add(spec)
            result.problems.append(
                f"“{_title(spec, old)}”的分支（边界事件、并行或包容分支）在新版本中有增减，须办完当前环节后再迁移"
            )


def _path_from_root(task: Task) -> list[Task]:
    path = []
    current: Task | None = task
    while current is not None:
        path.append(current)
        current = current.parent
    path.reverse()
    return path


def _shared_length(paths: list[list[Task]]) -> int:
    shared = min(len(p) for p in paths)
    for index in range(shared):
        if len({p[index].id for p in paths}) > 1:
            return index
    return shared


def _splice_removed(process: Any) -> None:
    """Finished tasks whose element the new version lacks leave the tree; their children take their place."""
    specs = process.spec.task_specs
    for task in list(process.tasks.values()):
        if specs.get(task.task_spec.name) is task.task_spec or not task.has_state(TaskState.FINISHED_MASK):
            continue
        parent = task.parent
        if parent is None:
            continue
        at = parent._children.index(task.id)
        parent._children[at : at + 1] = [child.id for child in task.children]
        for child in task.children:
            child._parent = parent.id
        if process.last_task is task:  # the application's latest data lives on in the task before it
            parent.data, process.last_task = task.data, parent
        del process.tasks[task.id]


def _check_settled(workflow: PlatformWorkflow, new: CompiledDefinition) -> None:
    """Only user tasks and waits may be open after a move: nothing runs during it."""
    problems = [
        f"迁移后“{_title(t.task_spec, new)}”须立即由系统执行，不能就地迁移"
        for t in workflow.get_tasks(state=TaskState.READY, manual=False)
    ]
    for process in _processes(workflow):
        stale = [t for t in process.tasks.values() if process.spec.task_specs.get(t.task_spec.name) is not t.task_spec]
        problems += [f"“{_title(t.task_spec, new)}”在新版本中不存在，不能就地迁移" for t in stale]
    if problems:
        raise MoveRefused(list(dict.fromkeys(problems)))


def _processes(workflow: PlatformWorkflow) -> Iterator[Any]:
    yield workflow
    yield from workflow.subprocesses.values()


def _title(spec: Any, compiled: CompiledDefinition) -> str:
    """An element's name; helper specs (a boundary event split, an end join) go by the element they serve."""
    element = spec.bpmn_id or spec.name.split(".")[0]
    return compiled.names.get(element, element)
