"""Preview of an edited procedure on past applications: replayed from their step log, nothing written.

Four applications of tests/diagrams/replayed.bpmn: one approved whose timer fired, one rejected
once and approved again (its timer waits), one withdrawn by the unit (a message), one waiting for
review. Each edit of the diagram must be reported on exactly the applications it concerns.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select

from app.engine import Engine
from app.engine.errors import DeployError, RefusedError
from app.extensions import db
from app.models import OutboxMessage, StepRecord
from app.services import preview
from tests.conftest import APPROVE, BIANBAN, TESTS_ROOT, UNIT, Application, deploy_test_diagram, reject
from tests.replayed import ENTRY, PROCESS, bundle, edited

APPROVE_TO_TIMER = '<bpmn:sequenceFlow id="f_approve" sourceRef="decision" targetRef="wait_day"/>'
STAMP = """<bpmn:sequenceFlow id="f_approve" sourceRef="decision" targetRef="stamp"/>
    <bpmn:scriptTask id="stamp" name="盖章"><bpmn:incoming>f_approve</bpmn:incoming>
      <bpmn:outgoing>f_stamped</bpmn:outgoing><bpmn:script>stamped = True</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f_stamped" sourceRef="stamp" targetRef="wait_day"/>"""


@pytest.fixture
def applications(engine: Engine, make_unit: Any, start: Any, clock: Any) -> dict[str, Application]:
    deploy_test_diagram(engine, "replayed.bpmn")
    unit = make_unit()
    approved = start(PROCESS, unit).complete(UNIT, ENTRY).complete(BIANBAN, APPROVE)
    clock.set("2026-09-30 09:00")  # the next working day has come: the approval's timer fires
    engine.runner.fire_due_timers()
    resubmitted = start(PROCESS, unit).complete(UNIT, ENTRY).complete(BIANBAN, reject("名称不规范"))
    resubmitted.complete(UNIT, {**ENTRY, "domain_name": "规范名称"}).complete(BIANBAN, APPROVE)
    withdrawn = start(PROCESS, unit).complete(UNIT, ENTRY)
    engine.runner.withdraw(withdrawn.instance_id, UNIT)
    waiting = start(PROCESS, unit).complete(UNIT, ENTRY)
    found = {"approved": approved, "resubmitted": resubmitted, "withdrawn": withdrawn, "waiting": waiting}
    assert [a.stage for a in found.values()] == ["已生效", "待生效", "已撤回", "待审核"]
    return found


def outcomes(report: preview.PreviewReport, applications: dict[str, Application]) -> dict[str, str]:
    by_id = {r.instance_id: r.outcome for r in report.results}
    return {name: by_id[a.instance_id] for name, a in applications.items()}


def result_of(report: preview.PreviewReport, application: Application) -> preview.ApplicationPreview:
    return next(r for r in report.results if r.instance_id == application.instance_id)


def run(engine: Engine, xml: str | None = None, last: int = 1000) -> preview.PreviewReport:
    return preview.preview(db.session, engine, PROCESS, bundle(xml) if xml else bundle(), last)


def test_every_action_is_logged_with_its_data_clock_and_service_results(
    engine: Engine, applications: dict[str, Application]
) -> None:
    steps = list(
        db.session.scalars(
            select(StepRecord).where(StepRecord.instance_id == applications["approved"].instance_id)
            .order_by(StepRecord.seq)
        )
    )
    assert [(s.kind, s.element) for s in steps] == [
        ("start", None), ("complete", "fill"), ("complete", "review"), ("timer", None)
    ]
    assert steps[1].data == ENTRY and steps[1].actor == UNIT.name and steps[1].role == UNIT.role
    (notice,) = steps[1].results
    assert notice["element"] == "notify" and notice["operator"] == "notify.send"
    assert steps[3].at > steps[2].at  # the engine's clock, which the test moved
    withdrawal = db.session.scalar(
        select(StepRecord).where(StepRecord.instance_id == applications["withdrawn"].instance_id,
                                 StepRecord.kind == "message")
    )
    assert withdrawal.message == "撤回"


def test_a_replay_takes_the_recorded_path_again(engine: Engine, applications: dict[str, Application]) -> None:
    """A new procedure property may steer any condition: every application is replayed, none changes path."""
    report = run(engine, edited(('<spiffworkflow:property name="unitTypes" value="党政机关"/>',
                                 '<spiffworkflow:property name="unitTypes" value="党政机关"/>'
                                 '<spiffworkflow:property name="note" value="说明"/>')))
    assert set(outcomes(report, applications).values()) == {preview.SAME}
    assert all(r.replayed for r in report.results)


def test_the_unchanged_procedure_keeps_every_path(engine: Engine, applications: dict[str, Application]) -> None:
    report = run(engine)
    assert set(outcomes(report, applications).values()) == {preview.SAME}
    assert report.counts()[preview.SAME] == 4 and not report.skipped
    assert not any(r.replayed for r in report.results)  # nothing changed that a run reads
    assert [r.business_key for r in run(engine, last=2).results] == [
        applications["waiting"].instance.business_key, applications["withdrawn"].instance.business_key
    ]


def test_an_added_step_changes_the_path_of_those_that_pass_it(
    engine: Engine, applications: dict[str, Application]
) -> None:
    report = run(engine, edited((APPROVE_TO_TIMER, STAMP)))
    assert outcomes(report, applications) == {
        "approved": preview.DIFFERENT, "resubmitted": preview.DIFFERENT,
        "withdrawn": preview.SAME, "waiting": preview.SAME,
    }
    replayed = {name: result_of(report, a).replayed for name, a in applications.items()}
    assert replayed == {"approved": True, "resubmitted": True, "withdrawn": False, "waiting": False}
    divergence = result_of(report, applications["approved"]).divergence
    assert divergence is not None
    assert (divergence.before, divergence.before_title, divergence.now, divergence.now_title) == (
        "wait_day", "次一个工作日生效", "stamp", "盖章"
    )
    assert "原为“次一个工作日生效”，现为“盖章”" in result_of(report, applications["approved"]).summary


def test_a_longer_deadline_fires_the_timer_at_a_later_step(
    engine: Engine, applications: dict[str, Application]
) -> None:
    """The approved application's timer fired on 30 September; three working days would end after the holiday."""
    report = run(engine, edited(("add_workdays(today(), 1)", "add_workdays(today(), 3)")))
    approved = result_of(report, applications["approved"])
    assert approved.outcome == preview.DIFFERENT
    assert approved.divergence is not None
    assert (approved.divergence.before, approved.divergence.now) == ("wait_day", None)
    assert "现为到此为止" in approved.summary
    assert outcomes(report, applications)["resubmitted"] == preview.SAME


def test_a_removed_task_stops_those_that_did_it(engine: Engine, applications: dict[str, Application]) -> None:
    """审核 replaced by a 复核 of another id: its recorded completions find no task, the withdrawal no wait."""
    report = run(engine, edited(
        ('id="review" name="审核"', 'id="recheck" name="复核"'),
        ('targetRef="review"', 'targetRef="recheck"'),
        ('sourceRef="review"', 'sourceRef="recheck"'),
        ('attachedToRef="review"', 'attachedToRef="recheck"'),
        ("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>recheck</bpmn:flowNodeRef>"),
    ))
    assert outcomes(report, applications) == {
        "approved": preview.STOPPED, "resubmitted": preview.STOPPED,
        "withdrawn": preview.SAME, "waiting": preview.SAME,
    }
    assert result_of(report, applications["approved"]).stopped == "第 3 步：“审核”在新版本中已删除"


def test_a_task_not_reached_any_more_stops_the_replay(engine: Engine, applications: dict[str, Application]) -> None:
    """Rejections now end the application: the resubmission's 填报 is never reached."""
    report = run(engine, edited(
        ('<bpmn:sequenceFlow id="f_reject" sourceRef="decision" targetRef="fill">',
         '<bpmn:sequenceFlow id="f_reject" sourceRef="decision" targetRef="withdrawn">'),
        ("<bpmn:incoming>f_start</bpmn:incoming><bpmn:incoming>f_reject</bpmn:incoming>",
         "<bpmn:incoming>f_start</bpmn:incoming>"),
        ("<bpmn:incoming>f_withdraw</bpmn:incoming>",
         "<bpmn:incoming>f_withdraw</bpmn:incoming><bpmn:incoming>f_reject</bpmn:incoming>"),
    ))
    resubmitted = result_of(report, applications["resubmitted"])
    assert resubmitted.outcome == preview.STOPPED
    assert resubmitted.stopped == "第 4 步：此时尚未到达“填报”"
    assert resubmitted.divergence is not None and resubmitted.divergence.now == "withdrawn"
    assert outcomes(report, applications)["approved"] == preview.SAME


def test_a_new_required_field_is_missing_data(engine: Engine, applications: dict[str, Application]) -> None:
    report = run(engine, edited(('value="decision.schema.json"', 'value="signed-decision.schema.json"')))
    assert outcomes(report, applications) == {
        "approved": preview.MISSING_DATA, "resubmitted": preview.MISSING_DATA,
        "withdrawn": preview.SAME, "waiting": preview.SAME,
    }
    approved = result_of(report, applications["approved"])
    (missing,) = approved.missing
    assert (missing.element, missing.element_title, missing.fields, missing.field_titles) == (
        "review", "审核", ["signer"], ["签发人"]
    )
    assert approved.summary == "缺少新表单要求的数据：“审核”缺少签发人"
    assert len(result_of(report, applications["resubmitted"]).missing) == 2  # both of its reviews


def test_a_new_service_task_runs_with_an_unknown_result(engine: Engine, applications: dict[str, Application]) -> None:
    notify_again = STAMP.replace(
        '<bpmn:scriptTask id="stamp" name="盖章">',
        '<bpmn:serviceTask id="stamp" name="通知已通过"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="notify.send" resultVariable="approved_notice">'
        '<spiffworkflow:parameters>'
        '<spiffworkflow:parameter id="mobile" type="str" value="contact_mobile"/>'
        '<spiffworkflow:parameter id="email" type="str" value="contact_email"/>'
        '<spiffworkflow:parameter id="subject" type="str" value="&quot;已通过&quot;"/>'
        '<spiffworkflow:parameter id="body" type="str" value="&quot;申请已通过。&quot;"/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>",
    ).replace("<bpmn:script>stamped = True</bpmn:script></bpmn:scriptTask>", "</bpmn:serviceTask>")
    report = run(engine, edited((APPROVE_TO_TIMER, notify_again)))
    approved = result_of(report, applications["approved"])
    assert approved.outcome == preview.DIFFERENT
    assert approved.notes == ["新增的系统步骤“通知已通过”结果未知，按空结果继续预演"]


def test_a_preview_writes_nothing(engine: Engine, applications: dict[str, Application]) -> None:
    before = table_counts()
    outbox = db.session.scalar(select(func.max(OutboxMessage.id)))
    run(engine, edited(("add_workdays(today(), 1)", "add_workdays(today(), 3)")))
    run(engine, edited((APPROVE_TO_TIMER, STAMP)))
    db.session.commit()  # whatever a preview might have left in the session would be written now
    assert table_counts() == before
    assert db.session.scalar(select(func.max(OutboxMessage.id))) == outbox  # notify.send was not called again
    assert {a.stage for a in applications.values()} == {"已生效", "待生效", "已撤回", "待审核"}


def table_counts() -> dict[str, tuple[int, Any]]:
    counts = {}
    for table in db.metadata.sorted_tables:
        count = db.session.scalar(select(func.count()).select_from(table))
        newest = db.session.scalar(select(func.max(table.c.id))) if "id" in table.c else None
        counts[table.name] = (count, newest)
    return counts


def test_applications_without_a_step_log_are_left_out(engine: Engine, applications: dict[str, Application]) -> None:
    db.session.execute(delete(StepRecord).where(StepRecord.instance_id == applications["waiting"].instance_id))
    db.session.commit()
    report = run(engine)
    (skipped,) = report.skipped
    assert skipped.business_key == applications["waiting"].instance.business_key
    assert skipped.reason == "在启用办理步骤记录之前开始，无法预演"
    assert len(report.results) == 3


def test_a_candidate_that_cannot_be_deployed_or_belongs_elsewhere_is_refused(
    engine: Engine, applications: dict[str, Application]
) -> None:
    with pytest.raises(DeployError, match=r"表单文件 missing\.schema\.json 不存在"):
        run(engine, edited(('value="decision.schema.json"', 'value="missing.schema.json"')))
    with pytest.raises(RefusedError, match="流程图中的流程编号是 replayed，不是 rounds"):
        preview.preview(db.session, engine, "rounds", bundle(), 10)
    with pytest.raises(RefusedError, match="预演的申请件数须在 1 到 10000 之间"):
        run(engine, last=0)


def test_cli_prints_the_report(app: Any, engine: Engine, applications: dict[str, Application], tmp_path: Any) -> None:
    diagram = tmp_path / "replayed.bpmn"
    diagram.write_bytes(bundle(edited((APPROVE_TO_TIMER, STAMP))).diagram)
    cli = app.test_cli_runner()
    result = cli.invoke(args=["preview", PROCESS, str(diagram), "--root", str(TESTS_ROOT), "--last", "10"])
    assert result.exit_code == 0, result.output
    assert "预演“预演和迁移测试流程”：最近 4 件申请" in result.output
    assert "路径不变 2 件，路径改变 2 件" in result.output
    approved = applications["approved"].instance.business_key
    assert f"{approved} (v1)  路径改变：第 6 个环节原为“次一个工作日生效”，现为“盖章”" in result.output
    refused = cli.invoke(args=["preview", "rounds", str(diagram), "--root", str(TESTS_ROOT)])
    assert refused.exit_code == 1 and "不是 rounds" in refused.output
