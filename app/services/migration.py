"""Move chosen running applications to another version of their procedure; say first which can, and undo.

Each application moves in a transaction of its own, under the runner's row lock: one that cannot
move is left as it was and the others still move. A move keeps the application's state, stage,
version counter and version from before, so that it can be undone while the application has not
moved on since. Moves and undos are audited ("migrate", "migrate_undo").

Service API for the studio (all texts Chinese):

    dry_run(session, engine, process_id, to_version, business_keys=None) -> list[MoveVerdict]
        movable and reasons per application; nothing is written.
    migrate(session, engine, process_id, to_version, business_keys, actor) -> list[MoveVerdict]
        migration_id is set for each application moved; the others say why not and are untouched.
    undo(session, engine, business_key, actor) -> UndoResult
        RefusedError when there is no move to undo or the application moved on since.
    history(session, process_id) -> list[MigrationEntry]   newest first, with whether each can be undone

`business_keys` None means every running application of the procedure on another version.
An unknown version or application number, or an application of another procedure, refuses the
whole request (NotFoundError / RefusedError) before anything is looked at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.engine import migration
from app.engine.compaction import PlatformWorkflow, compact
from app.engine.errors import EngineError, NotFoundError, RefusedError
from app.engine.faults import UNDONE, failure_from, fault_reported
from app.engine.runner import WORKER
from app.models import InstanceMigration, ProcessInstance, WorkflowDefinition, WorkItem
from app.models.workflow import ABANDONED
from app.services import audit, versions
from app.services.audit import Actor

if TYPE_CHECKING:
    from app.engine import Engine


@dataclass(frozen=True)
class MoveVerdict:
    """One application and the target version: whether it can move (dry run) or did (migrate: migration_id)."""

    instance_id: int
    business_key: str
    from_version: int
    to_version: int
    movable: bool
    reasons: list[str] = field(default_factory=list)  # why it cannot move
    notes: list[str] = field(default_factory=list)  # what moving changes for it
    migration_id: int | None = None


@dataclass(frozen=True)
class UndoResult:
    business_key: str
    migration_id: int
    restored_version: int
    left_version: int


@dataclass(frozen=True)
class MigrationEntry:
    id: int
    business_key: str
    from_version: int
    to_version: int
    at: datetime
    by: str
    undone_at: datetime | None
    undone_by: str | None
    undoable: bool


def dry_run(
    session: Session, engine: Engine, process_id: str, to_version: int, business_keys: Sequence[str] | None = None
) -> list[MoveVerdict]:
    """Whether each chosen application can move to `to_version`, and why not; reads only."""
    target = _target(session, process_id, to_version)
    return [_dry_one(session, engine, i, target) for i in _chosen(session, process_id, target, business_keys)]


def migrate(
    session: Session,
    engine: Engine,
    process_id: str,
    to_version: int,
    business_keys: Sequence[str] | None,
    actor: Actor,
) -> list[MoveVerdict]:
    """Move each chosen application that can move, each in its own transaction."""
    target = _target(session, process_id, to_version)
    chosen = _chosen(session, process_id, target, business_keys)
    session.rollback()
    return [_migrate_one(session, engine, instance_id, target, actor) for instance_id in chosen]


def undo(session: Session, engine: Engine, business_key: str, actor: Actor) -> UndoResult:
    """Put an application back as it was before its latest move, if it has not moved on since."""
    instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == business_key))
    if instance_id is None:
        raise NotFoundError(f"没有找到申请 {business_key}")
    try:
        with fault_reported(UNDONE):
            result = _undo(session, engine, instance_id, actor)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


def history(session: Session, process_id: str) -> list[MigrationEntry]:
    """Every move of an application of the procedure, newest first."""
    source, target = WorkflowDefinition.__table__.alias("source"), WorkflowDefinition.__table__.alias("target")
    query = (
        select(InstanceMigration, ProcessInstance.business_key, ProcessInstance.version, source.c.version,
               target.c.version)
        .join(ProcessInstance, ProcessInstance.id == InstanceMigration.instance_id)
        .join(source, source.c.id == InstanceMigration.from_definition_id)
        .join(target, target.c.id == InstanceMigration.to_definition_id)
        .where(source.c.process_id == process_id)
        .order_by(InstanceMigration.id.desc())
    )
    entries, latest_seen = [], set()
    for record, key, counter, from_version, to_version in session.execute(query):
        latest = record.instance_id not in latest_seen
        latest_seen.add(record.instance_id)
        undoable = latest and record.undone_at is None and counter == record.version_after
        entries.append(MigrationEntry(record.id, key, from_version, to_version, record.at, record.by,
                                      record.undone_at, record.undone_by, undoable))
    return entries


# ---- choosing ------------------------------------------------------------------------


def _target(session: Session, process_id: str, to_version: int) -> WorkflowDefinition:
    target = versions.find(session, process_id, to_version)
    if target is None:
        raise NotFoundError(f"流程 {process_id} 没有版本 v{to_version}")
    return target


def _chosen(
    session: Session, process_id: str, target: WorkflowDefinition, business_keys: Sequence[str] | None
) -> list[int]:
    query = select(ProcessInstance.id, ProcessInstance.business_key, WorkflowDefinition.process_id).join(
        WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id
    )
    if business_keys is None:
        query = query.where(
            WorkflowDefinition.process_id == process_id,
            ProcessInstance.status == "running",
            ProcessInstance.definition_id != target.id,
        )
        return [row.id for row in session.execute(query.order_by(ProcessInstance.id))]
    keys = list(dict.fromkeys(k.strip() for k in business_keys if k.strip()))
    found = {row.business_key: row for row in session.execute(query.where(ProcessInstance.business_key.in_(keys)))}
    missing = [k for k in keys if k not in found]
    if missing:
        raise NotFoundError(f"没有找到申请 {'、'.join(missing)}")
    foreign = [k for k in keys if found[k].process_id != process_id]
    if foreign:
        raise RefusedError(f"申请 {'、'.join(foreign)} 不是流程 {process_id} 的申请")
    return [found[k].id for k in keys]


# ---- one application -----------------------------------------------------------------


def _dry_one(session: Session, engine: Engine, instance_id: int, target: WorkflowDefinition) -> MoveVerdict:
    try:
        instance = session.get(ProcessInstance, instance_id)
        return _try(session, engine, (instance, target), WORKER)[0]  # type: ignore[arg-type]
    except Exception as exc:  # a state the platform cannot read: that application's verdict, not the whole list's
        return _not_moved(session, instance_id, target, failure_from(exc, UNDONE).message)


def _try(
    session: Session, engine: Engine, moving: tuple[ProcessInstance, WorkflowDefinition], actor: Actor
) -> tuple[MoveVerdict, PlatformWorkflow | None]:
    """The verdict, with the moved workflow when it can move (nothing is saved)."""
    instance, target = moving
    verdict = MoveVerdict(instance.id, instance.business_key, instance.definition.version, target.version, False)
    refusal = _status_refusal(instance, target)
    if refusal:
        return replace(verdict, reasons=[refusal]), None
    definitions = engine.definitions
    old = definitions.compiled_by_id(session, instance.definition_id)
    new = definitions.compiled(target)
    workflow = engine.runner.serializer.load(instance.state, old.spec, old.subprocess_specs)
    compact(workflow)  # as the runner loads it
    workflow.script_engine = engine.runner.script_engine_for(instance, new, actor)
    try:
        moved, plan = migration.move(workflow, old, new, engine.runner.serializer)
    except migration.MoveRefused as refused:
        return replace(verdict, reasons=refused.reasons), None
    return replace(verdict, movable=True, notes=plan.notes), moved


def _status_refusal(instance: ProcessInstance, target: WorkflowDefinition) -> str | None:
    if instance.definition_id == target.id:
        return f"已在 v{target.version} 上，无需迁移"
    if instance.status == "completed":
        return "申请已办结，无需迁移"
    if instance.status == ABANDONED:
        return "申请已由单位放弃，无需迁移"
    if instance.status == "error":
        return "申请处于异常状态，请先由管理员排除原因并重试"
    return None


def _migrate_one(
    session: Session, engine: Engine, instance_id: int, target: WorkflowDefinition, actor: Actor
) -> MoveVerdict:
    try:
        instance = engine.runner.lock(instance_id)
        verdict, moved = _try(session, engine, (instance, target), actor)
        if moved is None:
            session.rollback()
            return verdict
        record_id = _move(session, engine, instance, target, moved, actor)
        session.commit()
        return replace(verdict, migration_id=record_id)
    except EngineError as refusal:
        return _not_moved(session, instance_id, target, refusal.message)
    except Exception as exc:  # a fault of the platform: this application stays as it was, the others still move
        return _not_moved(session, instance_id, target, failure_from(exc, UNDONE).message)


def _not_moved(session: Session, instance_id: int, target: WorkflowDefinition, reason: str) -> MoveVerdict:
    session.rollback()
    instance = session.get(ProcessInstance, instance_id)
    key, version = (instance.business_key, instance.definition.version) if instance else (str(instance_id), 0)
    return MoveVerdict(instance_id, key, version, target.version, False, [reason])


def _move(
    session: Session,
    engine: Engine,
    instance: ProcessInstance,
    target: WorkflowDefinition,
    moved: PlatformWorkflow,
    actor: Actor,
) -> int:
    record = InstanceMigration(
        instance_id=instance.id,
        from_definition_id=instance.definition_id,
        to_definition_id=target.id,
        old_state=instance.state,
        old_stage=instance.stage,
        version_before=instance.version,
        at=engine.runner.clock(),
        by=actor.name,
    )
    from_version = instance.definition.version
    _rebase(session, engine, instance, target, moved, actor)
    record.version_after = instance.version
    session.add(record)
    session.flush()
    detail = {"from_version": from_version, "to_version": target.version, "migration": record.id}
    audit.record(session, actor, "migrate", instance.id, detail=detail)
    return record.id


def _undo(session: Session, engine: Engine, instance_id: int, actor: Actor) -> UndoResult:
    instance = engine.runner.lock(instance_id)
    record = session.scalar(
        select(InstanceMigration)
        .where(InstanceMigration.instance_id == instance_id)
        .order_by(InstanceMigration.id.desc())
        .limit(1)
    )
    if record is None or record.undone_at is not None:
        raise RefusedError(f"申请 {instance.business_key} 没有可撤销的迁移")
    if instance.version != record.version_after or instance.definition_id != record.to_definition_id:
        raise RefusedError(f"申请 {instance.business_key} 在迁移后已继续办理，不能撤销迁移")
    old = engine.definitions.compiled_by_id(session, record.from_definition_id)
    workflow = engine.runner.serializer.load(record.old_state, old.spec, old.subprocess_specs)
    left_version = instance.definition.version
    set_committed_value(instance, "stage", record.old_stage)  # the stage to fall back on, as before the move
    restored = session.execute(select(WorkflowDefinition).where(WorkflowDefinition.id == record.from_definition_id))
    definition = restored.scalar_one()
    _rebase(session, engine, instance, definition, workflow, actor)
    record.undone_at, record.undone_by = engine.runner.clock(), actor.name
    detail = {"from_version": left_version, "to_version": definition.version, "migration": record.id}
    audit.record(session, actor, "migrate_undo", instance.id, detail=detail)
    return UndoResult(instance.business_key, record.id, definition.version, left_version)


def _rebase(
    session: Session,
    engine: Engine,
    instance: ProcessInstance,
    definition: WorkflowDefinition,
    workflow: PlatformWorkflow,
    actor: Actor,
) -> None:
    """Save `workflow` as running on `definition` and project it anew; open tasks keep their claim and dates."""
    kept = _kept_work_items(session, instance.id)
    session.execute(delete(WorkItem).where(WorkItem.instance_id == instance.id))
    table = ProcessInstance.__table__
    session.execute(update(table).where(table.c.id == instance.id).values(definition_id=definition.id))
    set_committed_value(instance, "definition_id", definition.id)
    set_committed_value(instance, "definition", definition)
    engine.runner.save_moved(instance, engine.definitions.compiled(definition), workflow, actor)
    for task_id, (role, values) in kept.items():
        session.execute(
            update(WorkItem).where(WorkItem.task_id == task_id, WorkItem.role == role).values(**values)
        )


def _kept_work_items(session: Session, instance_id: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """Task id → (role, claim and dates): a task still open with the same role keeps them."""
    query = select(WorkItem.task_id, WorkItem.role, WorkItem.assignee, WorkItem.created_at, WorkItem.due_at).where(
        WorkItem.instance_id == instance_id
    )
    return {
        task_id: (role, {"assignee": assignee, "created_at": created, "due_at": due})
        for task_id, role, assignee, created, due in session.execute(query)
    }
