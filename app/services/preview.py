"""Preview an edited procedure on past applications, before deploying it.

The last N applications of the procedure are replayed in memory on the candidate from their
step log, and the path each would take now is compared with the path the step log recorded.
Per application the report says whether the path stays the same, where it first differs, where
the candidate stops (a recorded step's task is gone or not reached), and which fields a new
form requires that the recorded submission lacks. Nothing is written to any table.

Service API for the studio (all texts Chinese):

    preview(session, engine, process_id, bundle, last=1000) -> PreviewReport
        bundle: the edited diagram with its files (app.engine.bundles.Bundle); it is compiled and
        linted like a deploy (DeployError lists the problems). RefusedError for a bundle of
        another procedure or an N out of range.
    PreviewReport.results: list[ApplicationPreview]  (newest application first)
    PreviewReport.skipped: list[Skipped]              (applications that cannot be replayed, with why)
    PreviewReport.counts() -> dict[outcome, int]; .seconds: wall time of the whole preview
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.bundles import Bundle
from app.engine.definitions import CompiledDefinition
from app.engine.edits import edit_scope
from app.engine.errors import RefusedError
from app.engine.preview import RecordedStep, Recording, Replay, Replayer, first_divergence
from app.engine.step_log import START
from app.models import Domain, ProcessInstance, StepRecord, WorkflowDefinition
from app.models.workflow import ABANDONED
from app.services import calendar, process_context

if TYPE_CHECKING:
    from app.engine import Engine

SAME, DIFFERENT, STOPPED, MISSING_DATA = "same", "different", "stopped", "missing_data"
OUTCOME_TITLES = {SAME: "路径不变", DIFFERENT: "路径改变", STOPPED: "中途停止", MISSING_DATA: "缺少新表单要求的数据"}
MAX_LAST = 10_000
_CHUNK = 500  # ids per IN list, well inside every backend's limit


@dataclass(frozen=True)
class Divergence:
    """The first element where the paths part: before (as it went) and now (on the candidate).

    An element None means that path ended there (the application waits or is finished); its title is then "".
    """

    position: int  # 1-based position in the path
    before: str | None
    before_title: str
    now: str | None
    now_title: str


@dataclass(frozen=True)
class MissingFields:
    element: str
    element_title: str
    fields: list[str]
    field_titles: list[str]


@dataclass(frozen=True)
class ApplicationPreview:
    instance_id: int
    business_key: str
    version: int  # the version the application ran on
    outcome: str  # one of OUTCOME_TITLES; a stop outranks missing data, which outranks a different path
    summary: str  # one Chinese line for the list
    divergence: Divergence | None = None
    stopped: str | None = None  # why the candidate stops, with the step
    missing: list[MissingFields] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. a new service task whose result the replay could not know
    replayed: bool = True  # False: the edit changed no element its run read, so its path stays (app/engine/edits.py)


@dataclass(frozen=True)
class Skipped:
    business_key: str
    reason: str


@dataclass(frozen=True)
class PreviewReport:
    process_id: str
    name: str  # the candidate's title
    last: int
    results: list[ApplicationPreview]
    skipped: list[Skipped]
    seconds: float

    def counts(self) -> dict[str, int]:
        counted = dict.fromkeys(OUTCOME_TITLES, 0)
        for result in self.results:
            counted[result.outcome] += 1
        return counted


def preview(session: Session, engine: Engine, process_id: str, bundle: Bundle, last: int = 1000) -> PreviewReport:
    """Replay the last `last` applications of `process_id` on `bundle`; reads only."""
    began = time.perf_counter()
    if not 1 <= last <= MAX_LAST:
        raise RefusedError(f"预演的申请件数须在 1 到 {MAX_LAST} 之间")
    candidate = engine.definitions.check(bundle, session)
    if candidate.process_id != process_id:
        raise RefusedError(f"流程图中的流程编号是 {candidate.process_id}，不是 {process_id}")
    overrides = calendar.admin_overrides()
    replayer = Replayer(session, engine.runner.limits, lambda: overrides)
    applications, skipped = [], []
    for row, steps in _applications(session, process_id, last):
        if steps and steps[0].kind == START:
            applications.append((row, steps, engine.definitions.compiled_by_id(session, row.definition_id)))
        else:
            skipped.append(Skipped(row.business_key, "在启用办理步骤记录之前开始，无法预演"))
    scopes = {row.definition_id: edit_scope(original, candidate) for row, _, original in applications}
    touched = {row.id for row, steps, _ in applications if scopes[row.definition_id].touches(_path(steps))}
    names = _Names(session, touched)
    results = []
    for row, steps, original in applications:
        if row.id in touched:
            now = replayer.replay(candidate, Recording(steps, names.of(row, steps[0].at), original.names))
        else:  # the edit changed nothing this run read: the same path, only the forms may ask for more
            now = Replay(path=_path(steps), missing=replayer.forms.of_steps(candidate, steps))
        results.append(_compare(row, (original, candidate), _path(steps), now, row.id in touched))
    return PreviewReport(process_id, candidate.name, last, results, skipped, time.perf_counter() - began)


@dataclass(frozen=True)
class _Application:
    id: int
    business_key: str
    definition_id: int
    version: int
    unit_id: int


def _applications(session: Session, process_id: str, last: int) -> list[tuple[_Application, list[RecordedStep]]]:
    """The newest `last` applications of the procedure (any version, any status but given up before
    submitting) with their step logs."""
    query = (
        select(ProcessInstance.id, ProcessInstance.business_key, ProcessInstance.definition_id,
               WorkflowDefinition.version, ProcessInstance.unit_id)
        .join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
        .where(WorkflowDefinition.process_id == process_id, ProcessInstance.status != ABANDONED)
        .order_by(ProcessInstance.id.desc())
        .limit(last)
    )
    rows = list(session.execute(query))
    steps = _steps(session, [r.id for r in rows])
    return [(_Application(*r), steps.get(r.id, [])) for r in rows]


def _steps(session: Session, ids: list[int]) -> dict[int, list[RecordedStep]]:
    table = StepRecord.__table__
    columns = (table.c.instance_id, table.c.kind, table.c.element, table.c.message, table.c.data, table.c.results,
               table.c.path, table.c.at)
    found: dict[int, list[RecordedStep]] = defaultdict(list)
    for chunk in range(0, len(ids), _CHUNK):
        query = (
            select(*columns)
            .where(table.c.instance_id.in_(ids[chunk : chunk + _CHUNK]))
            .order_by(table.c.instance_id, table.c.seq)
        )
        for instance_id, *values in session.execute(query):
            found[instance_id].append(RecordedStep(*values))
    return found


def _path(steps: list[RecordedStep]) -> list[str]:
    return [element for step in steps for element in step.path]


class _Names:
    """The process context of the applications to replay, read for many at once: per unit, and their domains."""

    def __init__(self, session: Session, instance_ids: set[int]) -> None:
        self.session = session
        self.units: dict[int, dict[str, Any]] = {}
        self.domains: dict[int, list[str]] = defaultdict(list)
        ids = sorted(instance_ids)
        for chunk in range(0, len(ids), _CHUNK):
            query = (
                select(Domain.instance_id, Domain.name)
                .where(Domain.instance_id.in_(ids[chunk : chunk + _CHUNK]))
                .order_by(Domain.instance_id, Domain.id)
            )
            for instance_id, name in session.execute(query):
                self.domains[instance_id].append(name)

    def of(self, row: _Application, started: datetime) -> dict[str, Any]:
        """As process_context.values has them, without the version's and the day's part (a replay adds it)."""
        if row.unit_id not in self.units:
            day = calendar.to_beijing_date(started)
            unit = process_context.values(self.session, row.unit_id, None, {}, day)
            for key in process_context.procedure_values({}, day):
                unit.pop(key)
            self.units[row.unit_id] = unit
        domains = self.domains.get(row.id, [])
        return {**self.units[row.unit_id], "application_domains": domains,
                "application_suffix": process_context.suffix_of(domains)}


def _compare(
    row: _Application,
    versions: tuple[CompiledDefinition, CompiledDefinition],
    recorded: list[str],
    now: Replay,
    replayed: bool,
) -> ApplicationPreview:
    original, candidate = versions
    divergence = _divergence(recorded, now, original, candidate)
    missing = [
        MissingFields(m.element, _title(candidate, original, m.element), m.fields, m.titles) for m in now.missing
    ]
    stopped = f"第 {now.halt.step + 1} 步：{now.halt.reason}" if now.halt else None
    notes = [
        f"新增的系统步骤“{_title(candidate, original, element)}”结果未知，按空结果继续预演"
        for element in now.unknown_services
    ]
    outcome, summary = _outcome(divergence, stopped, missing)
    return ApplicationPreview(
        row.id, row.business_key, row.version, outcome, summary, divergence, stopped, missing, notes, replayed
    )


def _divergence(
    before: list[str], now: Replay, original: CompiledDefinition, candidate: CompiledDefinition
) -> Divergence | None:
    found = first_divergence(before, now.path)
    if found is None:
        return None
    index, was, is_now = found
    was_title = original.names.get(was, was) if was else ""
    now_title = _title(candidate, original, is_now) if is_now else ""
    return Divergence(index + 1, was, was_title, is_now, now_title)


def _outcome(divergence: Divergence | None, stopped: str | None, missing: list[MissingFields]) -> tuple[str, str]:
    """The headline: a stop first, then missing data, then a different path."""
    if stopped:
        return STOPPED, f"中途停止，{stopped}"
    if missing:
        lacks = "；".join(f"“{m.element_title}”缺少{'、'.join(m.field_titles)}" for m in missing)
        return MISSING_DATA, f"缺少新表单要求的数据：{lacks}"
    if divergence:
        was = f"“{divergence.before_title}”" if divergence.before else "到此为止"
        now = f"“{divergence.now_title}”" if divergence.now else "到此为止"
        return DIFFERENT, f"路径改变：第 {divergence.position} 个环节原为{was}，现为{now}"
    return SAME, "路径不变"


def _title(candidate: CompiledDefinition, original: CompiledDefinition, element: Any) -> str:
    return candidate.names.get(element) or original.names.get(element) or str(element)
