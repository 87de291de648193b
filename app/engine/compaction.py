"""Keeping an application's task tree bounded, however many rounds its diagram loops through.

SpiffWorkflow keeps every task it ever ran, and each loop back hangs the next round below the
last one: the state grows by a round per round, every step walks more of it, and past some
hundred rounds its task iterator (1 000 levels) and recursive ancestor walks give out. The
history belongs in the audit table. On every save (and on load, for states saved before this
existed) the runner cuts the tree down to what SpiffWorkflow still reads, checked against its
source:

- Everything below the meeting point of the unfinished tasks (and of the last completed task,
  whose data is the application's latest data) stays. While a parallel or inclusive join waits,
  the branch that arrived last keeps a WAITING join task, so the split and every branch of the
  current round are below that point; a boundary event's split is the parent of the open task
  it guards (BoundaryEventJoin reads the split's children).
- Above it, SpiffWorkflow only asks "the nearest ancestor whose spec is X" (`find_ancestor`),
  "the nearest ancestor whose spec is one of these inputs" (a parallel join in a loop walks up
  past itself to decide which inputs the loop makes it skip, even back to the start event), and
  "is this task an ancestor" of tasks it finds in the tree. A chain that keeps, in order, the
  nearest ancestor of each spec answers all three as the whole ancestry did (inclusive gateways
  left out, see `_nearest_of_each_spec`).
- What hangs off that chain is finished history of earlier rounds. Dropping it is not only
  cheaper but fixes SpiffWorkflow misreading it: a join counts a join task of an earlier round
  as an arrived branch (a parallel or inclusive join in a loop fires before its branches are
  done), and merges earlier rounds' data back in; an inclusive join does not even see a later
  round below an earlier one.

The tree left is what happened since the meeting point plus a chain no longer than the diagram
has elements, whatever the number of rounds.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import AdHocSubprocessSpec, BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState


class PlatformWorkflow(BpmnWorkflow):
    """A BpmnWorkflow that remembers the elements it passed in the history cut away (for the live diagram),
    and the elements it completes while loaded, in order (`trail`: an action's path, for the step log)."""

    def __init__(
        self, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(spec, subprocess_specs, **kwargs)
        self.passed: set[str] = set()
        self.trail: list[str] = []

    def _task_completed_notify(self, task: Task) -> None:
        if task.task_spec.bpmn_id:
            self.trail.append(task.task_spec.bpmn_id)
        super()._task_completed_notify(task)


def compact(workflow: PlatformWorkflow) -> None:
    """Drop the finished tasks no unfinished task can reach back to, in the process and its subprocesses."""
    for process in (workflow, *workflow.subprocesses.values()):
        # An ad hoc subprocess reads its branches off its root's children: leave its shape alone.
        if not isinstance(process.spec, AdHocSubprocessSpec):
            _cut(process, workflow.passed)
    _drop_orphaned_subprocesses(workflow)


def _cut(process: Any, passed: set[str]) -> None:
    anchors = [t for t in process.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not anchors:
        return  # finished: nothing will act on it again, and its last save was already compact
    if process.last_task is not None:
        anchors.append(process.last_task)
    keep = _meeting_point(anchors)
    if keep is None or keep is process.task_tree:
        return
    path = _path_from_root(keep)
    chain = [path[0], *_nearest_of_each_spec(path[1:-1]), keep]
    if len(chain) == len(path) and all(len(t._children) == 1 for t in path[:-1]):
        return  # no history hangs off the way down
    for parent, child in pairwise(chain):
        parent._children = [child.id]
        child._parent = parent.id
    # Only finished tasks go, so the event manager (it holds waiting catch events) keeps none of them.
    for task in _unreachable(process):
        if task.has_state(TaskState.COMPLETED) and task.task_spec.bpmn_id:
            passed.add(task.task_spec.bpmn_id)
        del process.tasks[task.id]


def _meeting_point(anchors: list[Task]) -> Task | None:
    """The deepest completed task that is an ancestor (or one) of every anchor."""
    path = _path_from_root(anchors[0])
    index = {task.id: depth for depth, task in enumerate(path)}
    common = len(path) - 1
    for anchor in anchors[1:]:
        task: Task | None = anchor
        while task is not None and task.id not in index:
            task = task.parent
        if task is None:
            return None
        common = min(common, index[task.id])
    return next((t for t in reversed(path[: common + 1]) if t.has_state(TaskState.COMPLETED)), None)


def _nearest_of_each_spec(ancestors: list[Task]) -> list[Task]:
    """Of each spec, the occurrence nearest the end of `ancestors`, in their order.

    Inclusive gateways excepted: an inclusive join looks for its branches from the root down, not
    past a task of its own spec, so an earlier round's would hide the current one from it.
    """
    seen: set[str] = set()
    kept = []
    for task in reversed(ancestors):
        if task.task_spec.name not in seen and not isinstance(task.task_spec, InclusiveGateway):
            seen.add(task.task_spec.name)
            kept.append(task)
    kept.reverse()
    return kept


def _path_from_root(task: Task) -> list[Task]:
    path = []
    current: Task | None = task
    while current is not None:  # a loop, not recursion: the tree may be deeper than the stack
        path.append(current)
        current = current.parent
    path.reverse()
    return path


def _unreachable(process: Any) -> list[Task]:
    reachable: set[Any] = set()
    stack = [process.task_tree]
    while stack:
        task = stack.pop()
        reachable.add(task.id)
        stack.extend(task.children)
    return [t for i, t in process.tasks.items() if i not in reachable]


def _drop_orphaned_subprocesses(workflow: PlatformWorkflow) -> None:
    """A subprocess whose calling task was cut is history too (and so are the ones it called)."""
    while True:
        present = set(workflow.tasks)
        for subprocess in workflow.subprocesses.values():
            present.update(subprocess.tasks)
        orphans = [owner for owner in workflow.subprocesses if owner not in present]
        if not orphans:
            return
        for owner in orphans:
            subprocess = workflow.subprocesses.pop(owner)
            workflow.passed.update(
                t.task_spec.bpmn_id
                for t in subprocess.tasks.values()
                if t.has_state(TaskState.COMPLETED) and t.task_spec.bpmn_id
            )
