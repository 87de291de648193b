"""Moving running applications to a newer version: a dry run says which can and why not, a move is
audited and can be undone while the application has not moved on, and a refusal changes nothing.

Version 1 is tests/diagrams/replayed.bpmn; each test deploys an edit of it as version 2.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.engine import Engine
from app.engine.errors import NotFoundError, RefusedError
from app.extensions import db
from app.models import AuditEvent, InstanceMigration, TimerSubscription, WorkItem
from app.services import migration
from app.services.audit import Actor
from tests.conftest import APPROVE, BIANBAN, TESTS_ROOT, UNIT, Application, deploy_test_diagram, deploy_xml, reject
from tests.replayed import ENTRY, FILE, PROCESS, edited, laid_out

POLICY = Actor("policy-user", "政策")
# Version 2, compatible with every open task: a 盖章 step after approval, 审核 renamed.
STAMPED = edited(
    ('<bpmn:sequenceFlow id="f_approve" sourceRef="decision" targetRef="wait_day"/>',
     """<bpmn:sequenceFlow id="f_approve" sourceRef="decision" targetRef="stamp"/>
    <bpmn:scriptTask id="stamp" name="盖章"><bpmn:incoming>f_approve</bpmn:incoming>
      <bpmn:outgoing>f_stamped</bpmn:outgoing><bpmn:script>stamped = True</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f_stamped" sourceRef="stamp" targetRef="wait_day"/>"""),
    ('id="review" name="审核"', 'id="review" name="编办审核"'),
)
# Version 2 without 审核: a 复核 of another id takes its place.
RECHECKED = edited(
    ('id="review" name="审核"', 'id="recheck" name="复核"'),
    ('targetRef="review"', 'targetRef="recheck"'),
    ('sourceRef="review"', 'sourceRef="recheck"'),
    ('attachedToRef="review"', 'attachedToRef="recheck"'),
    ("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>recheck</bpmn:flowNodeRef>"),
)
LATER = edited(("add_workdays(today(), 1)", "add_workdays(today(), 3)"))
REMINDED = edited((
    '<bpmn:endEvent id="withdrawn" name="已撤回">',
    """<bpmn:boundaryEvent id="remind" name="超期提醒" attachedToRef="review" cancelActivity="false">
      <bpmn:outgoing>f_remind</bpmn:outgoing>
      <bpmn:timerEventDefinition id="remind_timer"><bpmn:timeDate>end_of_day(add_workdays(today(), 5))</bpmn:timeDate>
      </bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:endEvent id="reminded" name="已提醒"><bpmn:incoming>f_remind</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f_remind" sourceRef="remind" targetRef="reminded"/>
    <bpmn:endEvent id="withdrawn" name="已撤回">""",
), ("<bpmn:flowNodeRef>wait_day</bpmn:flowNodeRef>",
    "<bpmn:flowNodeRef>wait_day</bpmn:flowNodeRef><bpmn:flowNodeRef>remind</bpmn:flowNodeRef>"
    "<bpmn:flowNodeRef>reminded</bpmn:flowNodeRef>"))


@pytest.fixture
def running(engine: Engine, make_unit: Any, start: Any, clock: Any) -> dict[str, Application]:
    """Applications on version 1: at 填报, at 审核, waiting for the timer, and finished."""
    deploy_test_diagram(engine, FILE)
    unit = make_unit()
    found = {
        "at_fill": start(PROCESS, unit),
        "at_review": start(PROCESS, unit).complete(UNIT, ENTRY),
        "at_timer": start(PROCESS, unit).complete(UNIT, ENTRY).complete(BIANBAN, APPROVE),
        "done": start(PROCESS, unit).complete(UNIT, ENTRY).complete(BIANBAN, APPROVE),
    }
    clock.set("2026-09-30 09:00")
    engine.runner.fire_due_timers()
    found["at_timer"] = start(PROCESS, unit).complete(UNIT, ENTRY).complete(BIANBAN, APPROVE)  # waits past the holiday
    assert [a.stage for a in found.values()] == ["填报中", "待审核", "待生效", "已生效"]
    return found


def deploy_v2(engine: Engine, xml: str) -> None:
    row, created = deploy_xml(engine, laid_out(xml), FILE, TESTS_ROOT)
    assert created and row.version == 2


def key(application: Application) -> str:
    return application.instance.business_key


def snapshot(application: Application) -> tuple[Any, ...]:
    instance = application.instance
    items = sorted((w.task_id, w.title, w.assignee) for w in application.tasks)
    return instance.definition_id, instance.version, instance.stage, instance.state, items


def count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_dry_run_says_which_can_move_and_why_not(engine: Engine, running: dict[str, Application]) -> None:
    deploy_v2(engine, RECHECKED)
    keys = [key(running[name]) for name in ("at_fill", "at_review", "at_timer", "done")]
    before = {name: snapshot(a) for name, a in running.items()}
    verdicts = {v.business_key: v for v in migration.dry_run(db.session, engine, PROCESS, 2, keys)}
    assert [verdicts[k].movable for k in keys] == [True, False, True, False]
    assert verdicts[keys[1]].reasons == ["待办环节“审核”在新版本中已删除"]
    assert verdicts[keys[3]].reasons == ["申请已办结，无需迁移"]
    assert (verdicts[keys[0]].from_version, verdicts[keys[0]].to_version) == (1, 2)
    assert {name: snapshot(a) for name, a in running.items()} == before
    assert count(InstanceMigration) == 0
    by_default = migration.dry_run(db.session, engine, PROCESS, 2)
    assert {v.business_key for v in by_default} == set(keys[:3])  # every running one not on version 2


def test_a_changed_deadline_or_new_boundary_event_of_an_open_task_refuses(
    engine: Engine, running: dict[str, Application]
) -> None:
    deploy_v2(engine, LATER)
    (timer,) = migration.dry_run(db.session, engine, PROCESS, 2, [key(running["at_timer"])])
    assert timer.reasons == ["正在等待的定时“次一个工作日生效”在新版本中有改动"]
    deploy_xml(engine, laid_out(REMINDED), FILE, TESTS_ROOT)
    chosen = [key(running["at_review"]), key(running["at_fill"])]
    review, fill = migration.dry_run(db.session, engine, PROCESS, 3, chosen)
    assert review.reasons == ["“审核”的分支（边界事件、并行或包容分支）在新版本中有增减，须办完当前环节后再迁移"]
    assert fill.movable


def test_migrate_and_undo_round_trip(engine: Engine, running: dict[str, Application]) -> None:
    deploy_v2(engine, STAMPED)
    application = running["at_review"]
    db.session.execute(
        WorkItem.__table__.update().where(WorkItem.instance_id == application.instance_id).values(assignee=BIANBAN.name)
    )
    db.session.commit()
    before = snapshot(application)

    (moved,) = migration.migrate(db.session, engine, PROCESS, 2, [key(application)], POLICY)
    assert moved.movable and moved.migration_id is not None
    assert moved.notes == ["待办环节“编办审核”按新版本的名称、表单和说明办理"]
    instance = application.instance
    assert instance.definition.version == 2 and instance.version == before[1] + 1
    (item,) = application.tasks
    assert (item.title, item.assignee, item.task_id) == ("编办审核", BIANBAN.name, before[4][0][0])
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "migrate"))
    assert (event.actor, event.instance_id) == (POLICY.name, application.instance_id)
    assert event.detail == {"from_version": 1, "to_version": 2, "migration": moved.migration_id}

    result = migration.undo(db.session, engine, key(application), POLICY)
    assert (result.restored_version, result.left_version) == (1, 2)
    after = snapshot(application)
    assert after[0] == before[0] and after[2:] == before[2:]  # same version, stage, state and work items
    assert application.instance.version == before[1] + 2  # the counter never goes back
    assert count(AuditEvent, AuditEvent.action == "migrate_undo") == 1
    assert db.session.get(InstanceMigration, moved.migration_id).undone_by == POLICY.name  # type: ignore[union-attr]
    with pytest.raises(RefusedError, match="没有可撤销的迁移"):
        migration.undo(db.session, engine, key(application), POLICY)

    application.complete(BIANBAN, APPROVE)  # on version 1 again: no 盖章
    assert "stamp" not in engine.reader.progress(application.instance_id)[0]


def test_a_moved_application_follows_the_new_version(engine: Engine, running: dict[str, Application]) -> None:
    deploy_v2(engine, STAMPED)
    application = running["at_review"]
    migration.migrate(db.session, engine, PROCESS, 2, [key(application)], POLICY)
    application.complete(BIANBAN, APPROVE)
    assert application.stage == "待生效"
    assert "stamp" in engine.reader.progress(application.instance_id)[0]
    assert application.data()["stamped"] is True


def test_a_waiting_timer_keeps_its_due_time(engine: Engine, running: dict[str, Application], clock: Any) -> None:
    deploy_v2(engine, STAMPED)
    application = running["at_timer"]
    waiting = select(TimerSubscription.due_at).where(TimerSubscription.instance_id == application.instance_id)
    due = db.session.scalar(waiting)
    clock.set("2026-10-05 09:00")  # a move during the holiday does not push the deadline
    (moved,) = migration.migrate(db.session, engine, PROCESS, 2, [key(application)], POLICY)
    assert moved.migration_id is not None
    assert db.session.scalar(waiting) == due
    clock.set("2026-10-09 09:00")
    engine.runner.fire_due_timers()
    assert application.stage == "已生效"


def test_undo_is_refused_once_the_application_moved_on(engine: Engine, running: dict[str, Application]) -> None:
    deploy_v2(engine, STAMPED)
    application = running["at_review"]
    migration.migrate(db.session, engine, PROCESS, 2, [key(application)], POLICY)
    application.complete(BIANBAN, reject("请补充"))
    before = snapshot(application)
    with pytest.raises(RefusedError, match=f"申请 {key(application)} 在迁移后已继续办理，不能撤销迁移"):
        migration.undo(db.session, engine, key(application), POLICY)
    assert snapshot(application) == before
    assert count(AuditEvent, AuditEvent.action == "migrate_undo") == 0


def test_an_application_whose_open_task_is_gone_is_refused_and_untouched(
    engine: Engine, running: dict[str, Application]
) -> None:
    deploy_v2(engine, RECHECKED)
    refused, other = running["at_review"], running["at_fill"]
    before = snapshot(refused)
    verdicts = migration.migrate(db.session, engine, PROCESS, 2, [key(refused), key(other)], POLICY)
    assert [(v.movable, v.migration_id is not None) for v in verdicts] == [(False, False), (True, True)]
    assert verdicts[0].reasons == ["待办环节“审核”在新版本中已删除"]
    assert snapshot(refused) == before
    assert count(InstanceMigration, InstanceMigration.instance_id == refused.instance_id) == 0
    assert count(AuditEvent, AuditEvent.action == "migrate") == 1  # only the one that moved
    refused.complete(BIANBAN, APPROVE)  # still runs on version 1
    assert refused.stage == "待生效"


def test_bad_requests_are_refused_before_anything_moves(engine: Engine, running: dict[str, Application]) -> None:
    deploy_v2(engine, STAMPED)
    with pytest.raises(NotFoundError, match="流程 replayed 没有版本 v7"):
        migration.migrate(db.session, engine, PROCESS, 7, None, POLICY)
    with pytest.raises(NotFoundError, match="没有找到申请 XX2026000001"):
        migration.migrate(db.session, engine, PROCESS, 2, [key(running["at_fill"]), "XX2026000001"], POLICY)
    with pytest.raises(RefusedError, match="不是流程 domain_registration 的申请"):
        migration.dry_run(db.session, engine, "domain_registration", 1, [key(running["at_fill"])])
    with pytest.raises(NotFoundError, match="没有找到申请 XX2026000001"):
        migration.undo(db.session, engine, "XX2026000001", POLICY)
    assert count(InstanceMigration) == 0
    assert {a.instance.definition.version for a in running.values()} == {1}


def test_history_lists_moves_and_which_can_be_undone(engine: Engine, running: dict[str, Application]) -> None:
    deploy_v2(engine, STAMPED)
    first, second = running["at_fill"], running["at_review"]
    migration.migrate(db.session, engine, PROCESS, 2, [key(first), key(second)], POLICY)
    migration.undo(db.session, engine, key(first), POLICY)
    entries = {e.business_key: e for e in migration.history(db.session, PROCESS)}
    assert (entries[key(first)].undone_by, entries[key(first)].undoable) == (POLICY.name, False)
    assert (entries[key(second)].undone_at, entries[key(second)].undoable) == (None, True)


def test_cli_dry_run_migrate_and_undo(app: Any, engine: Engine, running: dict[str, Application]) -> None:
    deploy_v2(engine, RECHECKED)
    cli = app.test_cli_runner()
    review, fill = key(running["at_review"]), key(running["at_fill"])
    dry = cli.invoke(args=["migrate", PROCESS, "--to", "2", "--dry-run", "--instances", f"{review},{fill}"])
    assert dry.exit_code == 0, dry.output
    assert f"{review}  v1 → v2  不能迁移：待办环节“审核”在新版本中已删除" in dry.output
    assert "可以迁移 1 件，不能迁移 1 件" in dry.output
    moved = cli.invoke(args=["migrate", PROCESS, "--to", "2", "--instances", fill])
    assert moved.exit_code == 0 and "已迁移 1 件" in moved.output, moved.output
    undone = cli.invoke(args=["migrate", "undo", fill])
    assert undone.exit_code == 0 and "已撤销迁移：v2 → v1" in undone.output, undone.output
    again = cli.invoke(args=["migrate", "undo", fill])
    assert again.exit_code == 1 and "没有可撤销的迁移" in again.output
    unknown = cli.invoke(args=["migrate", PROCESS, "--to", "9"])
    assert unknown.exit_code == 1 and "没有版本 v9" in unknown.output


def test_an_open_countersign_moves_and_its_copies_still_merge(engine: Engine, make_unit: Any, start: Any) -> None:
    """SpiffWorkflow wires a copy of a multi-instance task to it as it creates the copy, on the spec object:
    on the version moved to (parsed afresh, no copy ever created from it) the open copy must still count."""
    deploy_test_diagram(engine, "countersign.bpmn")
    application = start("countersign", make_unit()).complete(UNIT, ENTRY).complete(BIANBAN, APPROVE)
    first, second = [item.task_id for item in sorted(application.tasks, key=lambda item: item.id)]
    engine.runner.complete(first, Actor("conac-1", "CONAC"), APPROVE)
    xml = (TESTS_ROOT / "diagrams" / "countersign.bpmn").read_text(encoding="utf-8")
    deploy_xml(engine, xml.replace('name="会签"', 'name="联合会签"'), "countersign.bpmn", TESTS_ROOT)
    (moved,) = migration.migrate(db.session, engine, "countersign", 2, None, POLICY)
    assert moved.migration_id is not None
    (item,) = application.tasks
    assert (item.task_id, item.title) == (second, "联合会签")
    engine.runner.complete(item.task_id, Actor("conac-2", "CONAC"), APPROVE)
    assert application.stage == "已通过"
