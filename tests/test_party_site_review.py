"""党政机关网站开办审核/资格复核 (workflows/党政机关开办审核.bpmn, process `party_site_review`).

The procedure as the seeds describe it and the diagram implements it:

1. Only a 党政机关 holding a registered, paid (status `active`) and unexpired ".政务" domain may apply;
   anyone else is refused with the diagram's message before any application exists.
2. The unit fills in the application (申请类型, 挂标位置, 网站名称, the bound Chinese domains — each must be
   the unit's own active domain —, 英文域名, 服务器IP for an own site, 简介, 经办人). Stage 初审中.
3. The 同级编办 (the 编办 office of the unit's own region) reviews within 5 working days. A rejection
   gives a reason the unit sees (stage 审核不通过); the unit revises and resubmits, back to 初审中. A pass
   is told to the unit too (seed 004: the unit waits for the 初审 result by SMS and e-mail).
4. CONAC re-reviews (复审中). A rejection also returns to the unit; a resubmission starts at 初审中 again.
5. After both approvals the unit sees 审核通过 (seed 004) and is told by SMS and e-mail to print the 申请函
   and 申请表 一式三份 with the unit's seal and add a sealed copy of the 经办人's ID card. Its own step
   报送纸质材料 lists what to bring and where; once it has brought the paper it says how (送达/邮寄), and
   the stage is 待提交纸质材料 until the same 编办 confirms the paper, within 10 working days.
6. Paper in order: a red 党政机关网站标识 is issued (Certificate with 标识代码), the unit is notified, stage
   标识已发放. The badge must hang within 5 working days (start day not counted); at the end of that day a
   timer records on the certificate that the deadline has passed.
   Paper with a problem: the application ends (纸质材料未通过，须重新申请); the unit applies anew.

All times are Beijing wall time; 2026-09-28 is the Monday before 国庆 (10-01..10-07 off, Saturday 10-10
worked), so 5 working days after it end on 2026-10-10 and 10 working days on 2026-10-16.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.engine import Engine
from app.engine.errors import FormValidationError, RefusedError
from app.extensions import db
from app.models import (
    AuditEvent,
    BusinessKeySequence,
    Certificate,
    Domain,
    ProcessInstance,
    TimerSubscription,
    Unit,
    WorkItem,
)
from app.taskforms.formats import FORMAT_MESSAGES
from tests.conftest import APPROVE, BIANBAN, CONAC, UNIT, Application, Clock, Step, add_domain, at, reject

PROCESS = "party_site_review"
REFUSAL = "需先注册并缴费 .政务 域名，且域名在有效期内，方可申请网站开办审核/资格复核"
ORGAN = "鄂尔多斯市人民政府"
DOMAIN = f"{ORGAN}.政务"

PAPER_OK = {"decision": "ok"}
PAPER_PROBLEM = {"decision": "problem", "reason": "申请表未加盖单位公章"}

SUBJECT_FIRST_PASS = "网站开办审核/资格复核申请已通过初审"
SUBJECT_FIRST_REJECT = "网站开办审核/资格复核申请初审未通过"
SUBJECT_SECOND_REJECT = "网站开办审核/资格复核申请复审未通过"
SUBJECT_PAPER = "网站开办审核/资格复核已审核通过，请报送纸质材料"
SUBJECT_PAPER_PROBLEM = "纸质材料有问题，请重新提交网站开办申请"
SUBJECT_BADGE = "网站标识代码已发放"


def site_form(**changes: Any) -> dict[str, Any]:
    """The unit's application as filled in on 网站开办审核/资质复核申请."""
    form = {
        "application_type": "new",
        "badge_location": "red_page",
        "site_name": ORGAN,
        "domains": [DOMAIN],
        "site_intro": "本网站由鄂尔多斯市人民政府主办，旨在介绍我单位职能、职责、人员编制，面向社会公开工作动态。",
        "contact_name": "张经办",
        "contact_mobile": "13800138000",
        "contact_email": "zhang@example.cn",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


@pytest.fixture
def organ(make_unit: Any) -> Unit:
    """A city-level 党政机关 in 鄂尔多斯 (150600) with a paid, unexpired .政务 domain."""
    unit = make_unit("党政机关", "150600", ORGAN)
    add_domain(unit, DOMAIN)
    return unit


SUBMIT = Step(UNIT, site_form(), "初审中")
FIRST_OK = Step(BIANBAN, APPROVE, "复审中")
SECOND_OK = Step(CONAC, APPROVE, "审核通过")
PAPER_SENT = Step(UNIT, {"paper_delivery": "in_person"}, "待提交纸质材料")
PAPER_CONFIRMED = Step(BIANBAN, PAPER_OK, "标识已发放")
TO_PAPER = [SUBMIT, FIRST_OK, SECOND_OK, PAPER_SENT]


def walk(application: Application, steps: list[Step]) -> Application:
    """Act step by step; each step's work item must belong to the acting role."""
    for number, step in enumerate(steps, start=1):
        assert application.task().role == step.actor.role, f"step {number}"
        application.complete(step.actor, step.data)
        assert application.stage == step.stage, f"step {number}"
    return application


@dataclass(frozen=True)
class Path:
    steps: list[Step]
    status: str
    certificates: list[str]
    notices: list[str] = field(default_factory=list)


PATHS = {
    "approved and paper confirmed": Path(
        [*TO_PAPER, PAPER_CONFIRMED], "running", ["red"], [SUBJECT_FIRST_PASS, SUBJECT_PAPER, SUBJECT_BADGE]
    ),
    "编办 rejects, unit resubmits": Path(
        [
            Step(UNIT, site_form(site_name="鄂尔多斯政府网"), "初审中"),
            Step(BIANBAN, reject("网站名称须与单位名称一致"), "审核不通过"),
            Step(UNIT, site_form(site_name=ORGAN), "初审中"),
            FIRST_OK,
            SECOND_OK,
            PAPER_SENT,
            PAPER_CONFIRMED,
        ],
        "running",
        ["red"],
        [SUBJECT_FIRST_REJECT, SUBJECT_FIRST_PASS, SUBJECT_PAPER, SUBJECT_BADGE],
    ),
    "CONAC rejects, resubmission goes back to 初审": Path(
        [
            SUBMIT,
            FIRST_OK,
            Step(CONAC, reject("网站简介不规范"), "审核不通过"),
            Step(UNIT, site_form(), "初审中"),
            FIRST_OK,
            SECOND_OK,
            PAPER_SENT,
            PAPER_CONFIRMED,
        ],
        "running",
        ["red"],
        [SUBJECT_FIRST_PASS, SUBJECT_SECOND_REJECT, SUBJECT_FIRST_PASS, SUBJECT_PAPER, SUBJECT_BADGE],
    ),
    "rejected by 编办, then by CONAC": Path(
        [
            SUBMIT,
            Step(BIANBAN, reject("联系人手机号码有误"), "审核不通过"),
            Step(UNIT, site_form(contact_mobile="13900139000"), "初审中"),
            FIRST_OK,
            Step(CONAC, reject("挂标位置与实际不符"), "审核不通过"),
            Step(UNIT, site_form(contact_mobile="13900139000"), "初审中"),
            FIRST_OK,
            SECOND_OK,
        ],
        "running",
        [],
        [SUBJECT_FIRST_REJECT, SUBJECT_FIRST_PASS, SUBJECT_SECOND_REJECT, SUBJECT_FIRST_PASS, SUBJECT_PAPER],
    ),
    "paper materials have a problem": Path(
        [*TO_PAPER, Step(BIANBAN, PAPER_PROBLEM, "纸质材料未通过，须重新申请")],
        "completed",
        [],
        [SUBJECT_FIRST_PASS, SUBJECT_PAPER, SUBJECT_PAPER_PROBLEM],
    ),
}


def subjects(application: Application) -> list[str]:
    """Notification subjects in order, once per notice (each goes out by SMS and e-mail)."""
    messages = application.outbox()
    assert [m.channel for m in messages] == ["sms", "email"] * (len(messages) // 2)
    return [m.subject for m in messages[::2]]


# --- Who may start ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "domains",
    [
        pytest.param([], id="no domain at all"),
        pytest.param([(DOMAIN, "active", date(2026, 9, 27))], id="政务 domain expired yesterday"),
        pytest.param([(DOMAIN, "reserved", date(2027, 1, 5))], id="政务 domain applied for but not paid"),
        pytest.param([(DOMAIN, "released", date(2027, 1, 5))], id="政务 domain released"),
        pytest.param([(f"{ORGAN}.公益", "active", date(2027, 1, 5))], id="only a 公益 domain"),
    ],
)
def test_without_a_paid_unexpired_zhengwu_domain_the_application_is_refused_and_nothing_is_created(
    make_unit: Any, start: Any, domains: list[tuple[str, str, date]]
) -> None:
    unit = make_unit("党政机关", "150600", ORGAN)
    for name, status, expires_on in domains:
        add_domain(unit, name, status, expires_on)

    with pytest.raises(RefusedError) as refused:
        start(PROCESS, unit)

    assert refused.value.message == REFUSAL
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    assert db.session.scalar(select(func.count()).select_from(WorkItem)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert db.session.scalar(select(func.count()).select_from(BusinessKeySequence)) == 0


def test_a_domain_expiring_today_is_still_within_its_term(make_unit: Any, start: Any, clock: Clock) -> None:
    clock.set("2026-09-28 10:00")
    unit = make_unit("党政机关", "150600", ORGAN)
    add_domain(unit, DOMAIN, expires_on=date(2026, 9, 28))

    application = start(PROCESS, unit)

    assert application.stage == "填写申请"


def test_the_unit_chooses_among_its_active_zhengwu_domains_and_gets_a_kb_number(
    organ: Unit, start: Any, clock: Clock
) -> None:
    clock.set("2026-09-28 10:00")
    add_domain(organ, f"{ORGAN}.公益")
    add_domain(organ, "鄂尔多斯旧网站.政务", expires_on=date(2026, 5, 1))

    application = start(PROCESS, organ)

    assert not application.instance.numbered  # 立即申请 takes no number: the first submission does
    assert [d["name"] for d in application.data()["active_domains"]] == [DOMAIN]
    item = application.task()
    assert (item.task_name, item.role, item.office_code, item.stage) == ("fill_application", "单位", None, "填写申请")
    assert item.form == "site-application.schema.json"
    assert walk(application, [SUBMIT]).instance.business_key == "KB2026000001"


@pytest.mark.parametrize("unit_type", ["事业单位", "社会组织"])
def test_only_party_and_government_organs_may_apply(make_unit: Any, start: Any, unit_type: str) -> None:
    unit = make_unit(unit_type, "150600", ORGAN)
    add_domain(unit, DOMAIN)

    with pytest.raises(RefusedError) as refused:
        start(PROCESS, unit)

    assert refused.value.message == "“党政机关网站开办审核/资格复核”仅适用于党政机关"
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


# --- Paths through the procedure --------------------------------------------------------------


@pytest.mark.parametrize("path", list(PATHS.values()), ids=list(PATHS))
def test_paths_through_the_procedure(organ: Unit, start: Any, clock: Clock, path: Path) -> None:
    clock.set("2026-09-28 10:00")

    application = walk(start(PROCESS, organ), path.steps)

    assert application.instance.status == path.status
    certificates = db.session.scalars(select(Certificate).where(Certificate.instance_id == application.instance_id))
    assert [c.colour for c in certificates] == path.certificates
    assert subjects(application) == path.notices


# --- Review -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("region", "office"), [("150600", "编办:150600"), ("150602", "编办:150602")])
def test_the_first_review_goes_to_the_bianban_of_the_units_region_due_in_5_workdays(
    make_unit: Any, start: Any, clock: Clock, region: str, office: str
) -> None:
    clock.set("2026-09-28 10:00")
    unit = make_unit("党政机关", region, ORGAN)
    add_domain(unit, DOMAIN)

    application = walk(start(PROCESS, unit), [SUBMIT])

    item = application.task()
    assert (item.task_name, item.title, item.role, item.office_code) == ("first_review", "初审", "编办", office)
    assert item.due_at == at("2026-10-10 23:59:59")  # 9-29, 9-30, 10-08, 10-09, 10-10 (调休 Saturday)


def test_the_second_review_is_conacs_without_a_deadline(organ: Unit, start: Any, clock: Clock) -> None:
    clock.set("2026-09-28 10:00")

    application = walk(start(PROCESS, organ), [SUBMIT, FIRST_OK])

    item = application.task()
    assert (item.task_name, item.role, item.office_code, item.due_at) == ("second_review", "CONAC", "CONAC", None)


def test_only_the_lanes_role_may_decide_a_review(organ: Unit, start: Any, clock: Clock) -> None:
    clock.set("2026-09-28 10:00")
    application = walk(start(PROCESS, organ), [SUBMIT])

    for intruder in (UNIT, CONAC):
        with pytest.raises(RefusedError) as refused:
            application.complete(intruder, APPROVE)
        assert refused.value.message == "该任务须由“编办”办理"

    assert application.stage == "初审中"


def test_a_bianban_rejection_shows_its_reason_to_the_unit_and_is_audited(organ: Unit, start: Any, clock: Clock) -> None:
    clock.set("2026-09-28 10:00")
    reason = "网站名称须与单位名称一致"

    application = walk(start(PROCESS, organ), [SUBMIT, Step(BIANBAN, reject(reason), "审核不通过")])

    assert application.data()["decision"] == "reject"
    assert application.data()["reason"] == reason
    item = application.task()
    assert (item.task_name, item.role, item.office_code, item.stage) == (
        "revise_application",
        "单位",
        None,
        "审核不通过",
    )
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.instance_id == application.instance_id, AuditEvent.task_name == "first_review"
        )
    ).one()
    assert (event.actor, event.role, event.action, event.decision, event.reason) == (
        BIANBAN.name,
        "编办",
        "complete",
        "reject",
        reason,
    )
    sms, email = application.outbox()
    assert (sms.channel, sms.recipient, email.channel, email.recipient) == (
        "sms",
        "13800138000",
        "email",
        "zhang@example.cn",
    )
    assert sms.subject == SUBJECT_FIRST_REJECT
    assert f"不通过原因：{reason}。" in sms.body


def test_a_resubmission_is_reviewed_again_by_the_bianban_with_a_fresh_deadline(
    organ: Unit, start: Any, clock: Clock
) -> None:
    clock.set("2026-09-28 10:00")
    application = walk(start(PROCESS, organ), [SUBMIT, Step(BIANBAN, reject("网站简介不规范"), "审核不通过")])

    clock.set("2026-10-12 09:00")
    revised = "本网站由鄂尔多斯市人民政府主办，旨在公开政务信息、提供在线服务、促进电子政务建设。"
    walk(application, [Step(UNIT, site_form(site_intro=revised), "初审中")])

    item = application.task()
    assert (item.task_name, item.office_code) == ("first_review", "编办:150600")
    assert item.due_at == at("2026-10-19 23:59:59")
    assert application.data()["site_intro"] == revised


def test_a_conac_rejection_returns_to_the_unit_and_the_resubmission_starts_at_first_review(
    organ: Unit, start: Any, clock: Clock
) -> None:
    clock.set("2026-09-28 10:00")
    reason = "挂标位置与实际不符"

    application = walk(start(PROCESS, organ), [SUBMIT, FIRST_OK, Step(CONAC, reject(reason), "审核不通过")])

    assert application.data()["reason"] == reason
    assert subjects(application) == [SUBJECT_FIRST_PASS, SUBJECT_SECOND_REJECT]
    assert f"不通过原因：{reason}。" in application.outbox()[-1].body
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.instance_id == application.instance_id, AuditEvent.task_name == "second_review"
        )
    ).one()
    assert (event.role, event.decision, event.reason) == ("CONAC", "reject", reason)

    walk(application, [Step(UNIT, site_form(badge_location="own_site", server_ip="202.96.1.10"), "初审中")])

    assert application.task().role == "编办"
    assert application.data()["server_ip"] == "202.96.1.10"


# --- Paper materials ----------------------------------------------------------------------------


def test_after_both_reviews_the_unit_is_asked_for_sealed_paper_materials_in_triplicate_with_an_id_copy(
    organ: Unit, start: Any, clock: Clock
) -> None:
    clock.set("2026-09-28 10:00")

    application = walk(start(PROCESS, organ), TO_PAPER)

    sms, email = [m for m in application.outbox() if m.subject == SUBJECT_PAPER]
    assert sms.subject == email.subject == SUBJECT_PAPER
    assert sms.body == email.body
    for text in (
        "在“我的申请”中打开本申请，点击“打印申请函”和“打印申请表”",
        "报送后在“报送纸质材料”步骤中选择报送方式并提交",
        "《关于申请对网站开办审核和资格复核的函》《党政机关网站开办审核和资格复核申请表》一式三份并加盖单位公章",
        "连同经办人身份证复印件一份（加盖单位公章）",
        "报送同级机构编制部门备案",
    ):
        assert text in sms.body


def test_after_conac_approval_the_unit_sees_审核通过_on_its_paper_step_then_待提交纸质材料(
    organ: Unit, start: Any, clock: Clock
) -> None:
    clock.set("2026-09-28 10:00")

    application = walk(start(PROCESS, organ), [SUBMIT, FIRST_OK, SECOND_OK])

    item = application.task()
    assert (item.task_name, item.title, item.role, item.stage, item.form) == (
        "submit_paper",
        "报送纸质材料",
        "单位",
        "审核通过",
        "paper-submission.schema.json",
    )
    assert db.session.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.role == "编办")) == 0

    clock.set("2026-10-09 09:00")  # the unit brings the paper after 国庆
    walk(application, [Step(UNIT, {"paper_delivery": "post", "paper_note": "EMS 1077"}, "待提交纸质材料")])

    item = application.task()
    assert (item.task_name, item.office_code, item.stage) == ("confirm_paper", "编办:150600", "待提交纸质材料")
    assert item.due_at == at("2026-10-22 23:59:59")  # 10 working days from the paper, 10-10 (调休 Saturday) counted
    assert (application.data()["paper_delivery"], application.data()["paper_note"]) == ("post", "EMS 1077")


def test_the_paper_step_needs_the_way_the_paper_was_brought(organ: Unit, start: Any, clock: Clock) -> None:
    clock.set("2026-09-28 10:00")
    application = walk(start(PROCESS, organ), [SUBMIT, FIRST_OK, SECOND_OK])

    with pytest.raises(FormValidationError) as invalid:
        application.complete(UNIT, {"paper_note": "<b>明天送</b>"})

    assert invalid.value.errors == {
        "paper_delivery": "请填写报送方式",
        "paper_note": "报送说明格式不正确（不能包含 < > 等字符）",
    }
    assert application.stage == "审核通过"


def test_the_first_review_pass_is_told_to_the_unit(organ: Unit, start: Any, clock: Clock) -> None:
    clock.set("2026-09-28 10:00")

    application = walk(start(PROCESS, organ), [SUBMIT, FIRST_OK])

    sms, email = application.outbox()
    assert (sms.channel, sms.recipient, email.channel, email.recipient) == (
        "sms",
        "13800138000",
        "email",
        "zhang@example.cn",
    )
    assert sms.subject == email.subject == SUBJECT_FIRST_PASS
    assert sms.body == (
        f"您单位“{ORGAN}”的网站开办审核/资格复核申请已通过同级机构编制部门初审，现由CONAC复审，状态显示“复审中”。"
        "复审结果将以短信和邮件通知您，也可登录平台在“我的申请”中查看。"
    )


def test_a_reason_ending_in_a_full_stop_is_not_followed_by_another(organ: Unit, start: Any, clock: Clock) -> None:
    clock.set("2026-09-28 10:00")
    rejected = Step(BIANBAN, reject("网站名称须与单位名称一致。"), "审核不通过")

    application = walk(start(PROCESS, organ), [SUBMIT, rejected])

    (body,) = {m.body for m in application.outbox()}
    assert "不通过原因：网站名称须与单位名称一致。请登录平台" in body
    assert "。。" not in body


def test_the_paper_confirmation_is_the_same_bianbans_due_in_10_workdays(organ: Unit, start: Any, clock: Clock) -> None:
    clock.set("2026-09-28 10:00")

    application = walk(start(PROCESS, organ), TO_PAPER)

    item = application.task()
    assert (item.task_name, item.title, item.role, item.office_code) == (
        "confirm_paper",
        "确认纸质材料",
        "编办",
        "编办:150600",
    )
    assert item.form == "paper-confirmation.schema.json"
    assert item.due_at == at("2026-10-16 23:59:59")
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_confirmed_paper_issues_a_red_badge_to_hang_within_5_workdays(organ: Unit, start: Any, clock: Clock) -> None:
    clock.set("2026-09-28 10:00")

    application = walk(start(PROCESS, organ), [*TO_PAPER, PAPER_CONFIRMED])

    certificate = db.session.scalars(select(Certificate)).one()
    assert (certificate.unit_id, certificate.instance_id) == (organ.id, application.instance_id)
    assert (certificate.colour, certificate.status, certificate.site_name, certificate.domains) == (
        "red",
        "valid",
        ORGAN,
        [DOMAIN],
    )
    assert certificate.code == f"CA1506002026{certificate.id:07d}"
    assert certificate.issued_at == at("2026-09-28 10:00")
    assert certificate.hang_deadline == date(2026, 10, 10)  # 国庆 off, Saturday 10-10 worked
    assert certificate.deadline_passed_at is None
    assert application.data()["badge"]["code"] == certificate.code
    assert application.tasks == []
    assert application.instance.status == "running"

    notice = application.outbox()[-1]
    assert notice.subject == SUBJECT_BADGE
    assert f"网站标识代码已生成：{certificate.code}" in notice.body
    assert "5个工作日内（截止日期：2026-10-10）" in notice.body
    assert "请登录平台“标识管理”获取标识代码" in notice.body  # the menus the platform has
    assert "请在平台“红页管理”中完善网络红页" in notice.body
    paper = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.instance_id == application.instance_id, AuditEvent.task_name == "confirm_paper"
        )
    ).one()
    assert (paper.actor, paper.role, paper.decision) == (BIANBAN.name, "编办", "ok")


def test_the_hanging_deadline_is_recorded_on_the_certificate_at_the_end_of_its_last_day(
    organ: Unit, start: Any, clock: Clock, engine: Engine
) -> None:
    clock.set("2026-09-28 10:00")
    application = walk(start(PROCESS, organ), [*TO_PAPER, PAPER_CONFIRMED])
    reminder = db.session.scalars(select(TimerSubscription)).one()  # reminder and check: tests/test_placement.py
    assert (reminder.instance_id, reminder.task_name) == (application.instance_id, "hang_reminder")
    clock.set("2026-10-09 09:00")
    assert engine.runner.fire_due_timers() == ["KB2026000001"]
    timer = db.session.scalars(select(TimerSubscription)).one()
    assert (timer.instance_id, timer.task_name, timer.estimated) == (application.instance_id, "hang_deadline", False)
    assert timer.due_at == at("2026-10-10 23:59:59")

    clock.set("2026-10-10 23:59")
    assert engine.runner.fire_due_timers() == []
    assert application.stage == "标识已发放"

    clock.set("2026-10-11 00:00")
    assert engine.runner.fire_due_timers() == ["KB2026000001"]

    certificate = db.session.scalars(select(Certificate)).one()
    assert certificate.deadline_passed_at == at("2026-10-11 00:00")
    # No red page was published, so no badge hangs: the application ends 逾期未挂标.
    assert (application.stage, application.instance.status) == ("逾期未挂标", "completed")
    assert db.session.scalar(select(func.count()).select_from(TimerSubscription)) == 0
    fired = db.session.scalars(
        select(AuditEvent).where(AuditEvent.instance_id == application.instance_id, AuditEvent.action == "timer")
    ).all()
    assert [(event.actor, event.role) for event in fired] == [("system", "系统")] * 2


def test_a_paper_problem_ends_the_application_without_a_badge_and_the_unit_may_apply_again(
    organ: Unit, start: Any, clock: Clock
) -> None:
    clock.set("2026-09-28 10:00")

    application = walk(start(PROCESS, organ), [*TO_PAPER, Step(BIANBAN, PAPER_PROBLEM, "纸质材料未通过，须重新申请")])

    assert application.instance.status == "completed"
    assert application.tasks == []
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    assert db.session.scalar(select(func.count()).select_from(TimerSubscription)) == 0
    notice = application.outbox()[-1]
    assert notice.subject == SUBJECT_PAPER_PROBLEM
    assert f"存在问题：{PAPER_PROBLEM['reason']}。" in notice.body
    assert "请重新提交网站开办申请" in notice.body

    again = start(PROCESS, organ)

    assert again.instance_id != application.instance_id
    assert again.stage == "填写申请"
    assert walk(again, [SUBMIT]).instance.business_key == "KB2026000002"


# --- Form and domain checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param({"badge_location": "own_site"}, "server_ip", "请填写网站服务器IP", id="own site without IP"),
        pytest.param(
            {"badge_location": "own_site", "server_ip": "202.96.1.300"},
            "server_ip",
            FORMAT_MESSAGES["ipv4"],
            id="own site with a wrong IP",
        ),
        pytest.param(
            {"site_name": "<script>alert(1)</script>"},
            "site_name",
            "网站名称格式不正确（不能包含 < > 等字符）",
            id="HTML in the site name",
        ),
        pytest.param(
            {"site_intro": "<b>本网站由鄂尔多斯市人民政府主办</b>"},
            "site_intro",
            "网站简介格式不正确（不能包含 < > 等字符）",
            id="HTML in the introduction",
        ),
        pytest.param({"domains": []}, "domains", "绑定的中文域名至少选择 1 项", id="no domain bound"),
        pytest.param(
            {"domains": ["ordos.gov.cn"]},
            "domains",
            FORMAT_MESSAGES["cn-domain"],
            id="an English domain as Chinese domain",
        ),
        pytest.param(
            {"english_domain": "http://ordos.gov.cn"},
            "english_domain",
            FORMAT_MESSAGES["hostname"],
            id="URL as English domain",
        ),
        pytest.param(
            {"contact_mobile": "1380013800"}, "contact_mobile", FORMAT_MESSAGES["cn-mobile"], id="short mobile"
        ),
        pytest.param(
            {"badge_location": "own_site", "server_ip": "10.0.0.8"},
            "server_ip",
            FORMAT_MESSAGES["ipv4"],
            id="own site with a private IP",
        ),
        pytest.param(
            {"application_type": "transfer"}, "application_type", "请从选项中正确选择申请类型", id="unknown type"
        ),
        pytest.param({"contact_name": None}, "contact_name", "请填写联系人（经办人）姓名", id="no contact"),
    ],
)
def test_application_form_errors_name_the_field_in_chinese_and_nothing_is_saved(
    organ: Unit, start: Any, clock: Clock, changes: dict[str, Any], field: str, message: str
) -> None:
    clock.set("2026-09-28 10:00")
    application = start(PROCESS, organ)
    version = application.instance.version

    with pytest.raises(FormValidationError) as invalid:
        application.complete(UNIT, site_form(**changes))

    assert invalid.value.errors == {field: message}
    assert application.stage == "填写申请"
    assert application.instance.version == version
    assert "site_name" not in application.data()


@pytest.mark.parametrize(
    ("task_steps", "data", "field", "message"),
    [
        pytest.param(
            [SUBMIT], {"decision": "reject"}, "reason", "请填写审核意见（不通过原因）", id="初审 without reason"
        ),
        pytest.param(
            [SUBMIT, FIRST_OK],
            {"decision": "reject", "reason": "<a>"},
            "reason",
            "审核意见（不通过原因）格式不正确（不能包含 < > 等字符）",
            id="复审 reason with HTML",
        ),
        pytest.param(TO_PAPER, {"decision": "problem"}, "reason", "请填写问题说明", id="paper problem without reason"),
    ],
)
def test_a_rejection_needs_a_plain_text_reason(
    organ: Unit, start: Any, clock: Clock, task_steps: list[Step], data: dict[str, str], field: str, message: str
) -> None:
    clock.set("2026-09-28 10:00")
    application = walk(start(PROCESS, organ), task_steps)
    actor = next(a for a in (UNIT, BIANBAN, CONAC) if a.role == application.task().role)

    with pytest.raises(FormValidationError) as invalid:
        application.complete(actor, data)

    assert invalid.value.errors == {field: message}
    assert application.stage == task_steps[-1].stage


@pytest.mark.parametrize(
    "foreign",
    [
        pytest.param("another unit", id="another unit's active domain"),
        pytest.param("unregistered", id="a name nobody registered"),
        pytest.param("own expired", id="the unit's own expired domain"),
        pytest.param("own unpaid", id="the unit's own unpaid domain"),
    ],
)
def test_binding_a_domain_that_is_not_the_units_active_domain_is_refused_and_nothing_is_saved(
    organ: Unit, make_unit: Any, start: Any, clock: Clock, foreign: str
) -> None:
    clock.set("2026-09-28 10:00")
    name = "包头市人民政府.政务"
    if foreign == "another unit":
        add_domain(make_unit("党政机关", "150200", "包头市人民政府"), name)
    elif foreign == "own expired":
        add_domain(organ, name, expires_on=date(2026, 6, 30))
    elif foreign == "own unpaid":
        add_domain(organ, name, status="reserved")
    application = start(PROCESS, organ)

    with pytest.raises(FormValidationError) as invalid:
        application.complete(UNIT, site_form(domains=[DOMAIN, name]))

    assert invalid.value.errors == {"domains": f"域名 {name} 不是本单位已注册且在有效期内的域名"}
    assert application.stage == "填写申请"
    assert application.task().task_name == "fill_application"
    assert "domains" not in application.data()
    assert db.session.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.role == "编办")) == 0
    assert db.session.scalars(select(AuditEvent.action)).all() == ["start"]


def test_a_resubmission_rechecks_the_bound_domains(organ: Unit, start: Any, clock: Clock) -> None:
    clock.set("2026-09-28 10:00")
    domain = db.session.scalars(select(Domain).where(Domain.name == DOMAIN)).one()
    domain.expires_on = date(2026, 10, 9)
    db.session.commit()
    application = walk(start(PROCESS, organ), [SUBMIT, Step(BIANBAN, reject("网站简介不规范"), "审核不通过")])

    clock.set("2026-10-12 09:00")  # the domain expired on 10-09
    with pytest.raises(FormValidationError) as invalid:
        application.complete(UNIT, site_form())

    assert invalid.value.errors == {"domains": f"域名 {DOMAIN} 不是本单位已注册且在有效期内的域名"}
    assert application.stage == "审核不通过"
    assert application.task().task_name == "revise_application"


def test_a_resubmission_replaces_the_application_so_a_field_left_out_is_gone(
    organ: Unit, start: Any, clock: Clock
) -> None:
    clock.set("2026-09-28 10:00")
    first = site_form(badge_location="own_site", server_ip="202.96.1.10", english_domain="ordos.gov.cn")
    reason = "本单位无自建网站，请改为挂在网络红页，并删除不属于本单位的英文域名"
    application = walk(
        start(PROCESS, organ),
        [Step(UNIT, first, "初审中"), Step(BIANBAN, reject(reason), "审核不通过"), Step(UNIT, site_form(), "初审中")],
    )

    data = application.data()
    assert data["badge_location"] == "red_page"
    assert "english_domain" not in data  # the 编办 must review what the unit submitted, not an earlier version
    assert "server_ip" not in data


# --- Numbers carry the Beijing year ---------------------------------------------------------------


def test_the_application_number_carries_the_beijing_year(organ: Unit, start: Any, clock: Clock) -> None:
    clock.set("2027-01-01 07:30")  # New Year's morning in Beijing is still 2026-12-31 in UTC

    application = walk(start(PROCESS, organ), [SUBMIT])  # numbered on its first submission

    assert application.instance.business_key == "KB2027000001"


def test_the_badge_code_carries_the_beijing_year_of_issue(organ: Unit, start: Any, clock: Clock) -> None:
    clock.set("2026-12-31 16:00")
    application = walk(start(PROCESS, organ), TO_PAPER)

    clock.set("2027-01-01 07:30")  # still 2026-12-31 in UTC
    walk(application, [PAPER_CONFIRMED])

    certificate = db.session.scalars(select(Certificate)).one()
    assert certificate.code == f"CA1506002027{certificate.id:07d}"
