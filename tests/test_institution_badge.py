"""事业单位和社会组织网站标识申请 (workflows/事业单位标识申请.bpmn, process `institution_badge`).

The procedure as the seeds (附件2, 附件4) describe it and the diagram implements it:

1. Only 事业单位 and 社会组织 may apply, and only with a registered, paid (status `active`) and unexpired
   ".公益" domain; otherwise the application is refused with the diagram's message and nothing exists.
2. The unit fills in the badge application (挂标位置, 网站名称, bound Chinese domains — each must be the
   unit's own active domain —, 英文域名, 服务器IP for an own site, 简介, 机构职能/业务范围, 经办人).
   Stage 初审中.
3. The 同级编办 (the 编办 office of the unit's region) reviews within 5 working days; a pass is told to the
   unit by SMS and e-mail and CONAC re-reviews (复审中). A rejection at either level returns to the unit
   with the reason (审核不通过); a resubmission starts again at 初审中.
4. Unlike 党政机关 there is no paper step: as soon as CONAC approves, a blue 事业单位网站标识 is issued and
   the unit is notified (标识已发放). The badge must hang within 5 working days; at the end of that day a
   timer records on the certificate that the deadline has passed.

Times are Beijing wall time; 5 working days after Monday 2026-09-28 end on the 调休 Saturday 2026-10-10.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.engine import Engine
from app.engine.errors import FormValidationError, RefusedError
from app.extensions import db
from app.models import AuditEvent, Certificate, ProcessInstance, TimerSubscription, Unit, WorkItem
from tests.conftest import APPROVE, BIANBAN, CONAC, UNIT, Application, Clock, Step, add_domain, at, reject

PROCESS = "institution_badge"
REFUSAL = "需先注册并缴费 .公益 域名，且域名在有效期内，方可申请网站标识"
INSTITUTION = "鄂尔多斯市中心医院"
DOMAIN = f"{INSTITUTION}.公益"

SUBJECT_FIRST_PASS = "网站标识申请已通过初审"
SUBJECT_FIRST_REJECT = "网站标识申请初审未通过"
SUBJECT_SECOND_REJECT = "网站标识申请复审未通过"
SUBJECT_BADGE = "网站标识代码已发放"


def badge_form(**changes: Any) -> dict[str, Any]:
    """The unit's badge application as filled in on 网上名称管理——标识申请."""
    form = {
        "badge_location": "red_page",
        "site_name": INSTITUTION,
        "domains": [DOMAIN],
        "site_intro": "本网站由鄂尔多斯市中心医院主办，旨在介绍我单位职能、业务范围，面向社会公开工作动态。",
        "business_scope": "医疗、预防、保健、康复服务，医学教学与科研",
        "contact_name": "李经办",
        "contact_mobile": "13900139000",
        "contact_email": "li@example.cn",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


@pytest.fixture
def institution(make_unit: Any) -> Unit:
    """A 事业单位 in 鄂尔多斯 (150600) with a paid, unexpired .公益 domain."""
    unit = make_unit("事业单位", "150600", INSTITUTION)
    add_domain(unit, DOMAIN)
    return unit


SUBMIT = Step(UNIT, badge_form(), "初审中")
FIRST_OK = Step(BIANBAN, APPROVE, "复审中")
SECOND_OK = Step(CONAC, APPROVE, "标识已发放")


def walk(application: Application, steps: list[Step]) -> Application:
    """Act step by step; each step's work item must belong to the acting role."""
    for number, step in enumerate(steps, start=1):
        assert application.task().role == step.actor.role, f"step {number}"
        application.complete(step.actor, step.data)
        assert application.stage == step.stage, f"step {number}"
    return application


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
        pytest.param([(DOMAIN, "active", date(2026, 9, 27))], id="公益 domain expired yesterday"),
        pytest.param([(DOMAIN, "reserved", date(2027, 1, 5))], id="公益 domain applied for but not paid"),
        pytest.param([(f"{INSTITUTION}.政务", "active", date(2027, 1, 5))], id="only a 政务 domain"),
    ],
)
def test_without_a_paid_unexpired_gongyi_domain_the_application_is_refused_and_nothing_is_created(
    make_unit: Any, start: Any, clock: Clock, domains: list[tuple[str, str, date]]
) -> None:
    clock.set("2026-09-28 10:00")
    unit = make_unit("事业单位", "150600", INSTITUTION)
    for name, status, expires_on in domains:
        add_domain(unit, name, status, expires_on)

    with pytest.raises(RefusedError) as refused:
        start(PROCESS, unit)

    assert refused.value.message == REFUSAL
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize("unit_type", ["事业单位", "社会组织"])
def test_institutions_and_social_organisations_may_apply_and_get_a_bs_number(
    make_unit: Any, start: Any, clock: Clock, unit_type: str
) -> None:
    clock.set("2026-09-28 10:00")
    unit = make_unit(unit_type, "150600", INSTITUTION)
    add_domain(unit, DOMAIN)

    application = start(PROCESS, unit)

    assert not application.instance.numbered  # 立即申请 takes no number: the first submission does
    assert application.stage == "填写申请"
    assert [d["name"] for d in application.data()["active_domains"]] == [DOMAIN]
    item = application.task()
    assert (item.task_name, item.role, item.form) == ("fill_application", "单位", "badge-application.schema.json")
    assert walk(application, [SUBMIT]).instance.business_key == "BS2026000001"


def test_a_party_or_government_organ_may_not_apply(make_unit: Any, start: Any) -> None:
    unit = make_unit("党政机关", "150600", INSTITUTION)
    add_domain(unit, DOMAIN)

    with pytest.raises(RefusedError) as refused:
        start(PROCESS, unit)

    assert refused.value.message == "“事业单位和社会组织网站标识申请”仅适用于事业单位、社会组织"
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


# --- Paths through the procedure --------------------------------------------------------------

PATHS = {
    "approved at both levels": ([SUBMIT, FIRST_OK, SECOND_OK], [SUBJECT_FIRST_PASS, SUBJECT_BADGE]),
    "编办 rejects, unit resubmits": (
        [
            SUBMIT,
            Step(BIANBAN, reject("机构职能/业务范围与登记文件不一致"), "审核不通过"),
            Step(UNIT, badge_form(business_scope="医疗、预防、保健、康复服务"), "初审中"),
            FIRST_OK,
            SECOND_OK,
        ],
        [SUBJECT_FIRST_REJECT, SUBJECT_FIRST_PASS, SUBJECT_BADGE],
    ),
    "CONAC rejects, resubmission goes back to 初审": (
        [
            SUBMIT,
            FIRST_OK,
            Step(CONAC, reject("网站名称与单位名称不符"), "审核不通过"),
            Step(UNIT, badge_form(), "初审中"),
            FIRST_OK,
            SECOND_OK,
        ],
        [SUBJECT_FIRST_PASS, SUBJECT_SECOND_REJECT, SUBJECT_FIRST_PASS, SUBJECT_BADGE],
    ),
    "rejected at both levels in turn": (
        [
            SUBMIT,
            Step(BIANBAN, reject("联系人电子邮箱无效"), "审核不通过"),
            Step(UNIT, badge_form(contact_email="li.jingban@example.cn"), "初审中"),
            FIRST_OK,
            Step(CONAC, reject("请选定本单位全部已注册域名"), "审核不通过"),
            Step(UNIT, badge_form(contact_email="li.jingban@example.cn"), "初审中"),
            FIRST_OK,
            SECOND_OK,
        ],
        [SUBJECT_FIRST_REJECT, SUBJECT_FIRST_PASS, SUBJECT_SECOND_REJECT, SUBJECT_FIRST_PASS, SUBJECT_BADGE],
    ),
}


@pytest.mark.parametrize(("steps", "notices"), list(PATHS.values()), ids=list(PATHS))
def test_paths_through_the_procedure_end_with_a_blue_badge(
    institution: Unit, start: Any, clock: Clock, steps: list[Step], notices: list[str]
) -> None:
    clock.set("2026-09-28 10:00")

    application = walk(start(PROCESS, institution), steps)

    certificates = db.session.scalars(select(Certificate).where(Certificate.instance_id == application.instance_id))
    assert [c.colour for c in certificates] == ["blue"]
    assert subjects(application) == notices
    assert application.tasks == []


# --- Review -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("region", "office"), [("150600", "编办:150600"), ("150602", "编办:150602")])
def test_the_first_review_goes_to_the_bianban_of_the_units_region_due_in_5_workdays(
    make_unit: Any, start: Any, clock: Clock, region: str, office: str
) -> None:
    clock.set("2026-09-28 10:00")
    unit = make_unit("社会组织", region, INSTITUTION)
    add_domain(unit, DOMAIN)

    application = walk(start(PROCESS, unit), [SUBMIT])

    item = application.task()
    assert (item.task_name, item.role, item.office_code) == ("first_review", "编办", office)
    assert item.due_at == at("2026-10-10 23:59:59")


def test_a_rejection_shows_its_reason_to_the_unit_and_is_audited(institution: Unit, start: Any, clock: Clock) -> None:
    clock.set("2026-09-28 10:00")
    reason = "机构职能/业务范围与登记文件不一致"

    application = walk(start(PROCESS, institution), [SUBMIT, Step(BIANBAN, reject(reason), "审核不通过")])

    assert application.data()["reason"] == reason
    assert application.task().task_name == "revise_application"
    assert application.task().role == "单位"
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.instance_id == application.instance_id, AuditEvent.task_name == "first_review"
        )
    ).one()
    assert (event.role, event.decision, event.reason) == ("编办", "reject", reason)
    assert f"不通过原因：{reason}。" in application.outbox()[-1].body


def test_the_first_review_pass_is_told_to_the_unit_before_conacs_review(
    institution: Unit, start: Any, clock: Clock
) -> None:
    clock.set("2026-09-28 10:00")

    application = walk(start(PROCESS, institution), [SUBMIT, FIRST_OK])

    sms, email = application.outbox()
    assert (sms.recipient, email.recipient) == ("13900139000", "li@example.cn")
    assert sms.subject == email.subject == SUBJECT_FIRST_PASS
    assert sms.body.startswith(f"您单位“{INSTITUTION}”的网站标识申请已通过同级机构编制部门初审，现由CONAC复审")
    assert application.task().task_name == "second_review"


# --- Badge without paper ------------------------------------------------------------------------


def test_conac_approval_issues_the_blue_badge_at_once_without_any_paper_step(
    institution: Unit, start: Any, clock: Clock
) -> None:
    clock.set("2026-09-28 10:00")

    application = walk(start(PROCESS, institution), [SUBMIT, FIRST_OK, SECOND_OK])

    certificate = db.session.scalars(select(Certificate)).one()
    assert (certificate.unit_id, certificate.instance_id) == (institution.id, application.instance_id)
    assert (certificate.colour, certificate.site_name, certificate.domains) == ("blue", INSTITUTION, [DOMAIN])
    assert certificate.code == f"CA1506002026{certificate.id:07d}"
    assert certificate.hang_deadline == date(2026, 10, 10)
    assert application.tasks == []
    assert db.session.scalar(select(func.count()).select_from(WorkItem)) == 0
    assert all("纸质" not in m.subject + m.body for m in application.outbox())
    notice = application.outbox()[-1]
    assert notice.subject == SUBJECT_BADGE
    assert f"网站标识代码已生成：{certificate.code}" in notice.body
    assert "截止日期：2026-10-10" in notice.body
    assert "请登录平台“标识管理”获取标识代码" in notice.body  # the menus the platform has
    assert "请在平台“红页管理”中完善网络红页" in notice.body
    tasks = db.session.scalars(
        select(AuditEvent.task_name).where(
            AuditEvent.instance_id == application.instance_id, AuditEvent.action == "complete"
        )
    ).all()
    assert tasks == ["fill_application", "first_review", "second_review"]


def test_the_hanging_deadline_is_recorded_on_the_certificate_at_the_end_of_its_last_day(
    institution: Unit, start: Any, clock: Clock, engine: Engine
) -> None:
    clock.set("2026-09-28 10:00")
    application = walk(start(PROCESS, institution), [SUBMIT, FIRST_OK, SECOND_OK])
    reminder = db.session.scalars(select(TimerSubscription)).one()  # reminder and check: tests/test_placement.py
    assert reminder.task_name == "hang_reminder"
    clock.set("2026-10-09 09:00")
    assert engine.runner.fire_due_timers() == ["BS2026000001"]
    timer = db.session.scalars(select(TimerSubscription)).one()
    assert (timer.task_name, timer.due_at) == ("hang_deadline", at("2026-10-10 23:59:59"))

    clock.set("2026-10-10 23:59")
    assert engine.runner.fire_due_timers() == []
    clock.set("2026-10-11 00:00")
    assert engine.runner.fire_due_timers() == ["BS2026000001"]

    certificate = db.session.scalars(select(Certificate)).one()
    assert certificate.deadline_passed_at == at("2026-10-11 00:00")
    assert (application.stage, application.instance.status) == ("逾期未挂标", "completed")  # no red page published


# --- Form and domain checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param({"business_scope": None}, "business_scope", "请填写机构职能/业务范围", id="no business scope"),
        pytest.param({"badge_location": "own_site"}, "server_ip", "请填写网站服务器IP", id="own site without IP"),
        pytest.param(
            {"site_name": "<img src=x>"},
            "site_name",
            "网站名称格式不正确（不能包含 < > 等字符）",
            id="HTML in the site name",
        ),
        pytest.param({"application_type": "new"}, "", "表单包含不允许的字段", id="a 党政机关 field"),
    ],
)
def test_badge_form_errors_name_the_field_in_chinese_and_nothing_is_saved(
    institution: Unit, start: Any, clock: Clock, changes: dict[str, Any], field: str, message: str
) -> None:
    clock.set("2026-09-28 10:00")
    application = start(PROCESS, institution)

    with pytest.raises(FormValidationError) as invalid:
        application.complete(UNIT, badge_form(**changes))

    assert invalid.value.errors == {field: message}
    assert application.stage == "填写申请"
    assert "site_name" not in application.data()


def test_binding_another_units_domain_is_refused_and_nothing_is_saved(
    institution: Unit, make_unit: Any, start: Any, clock: Clock
) -> None:
    clock.set("2026-09-28 10:00")
    other = "鄂尔多斯市第二医院.公益"
    add_domain(make_unit("事业单位", "150600", "鄂尔多斯市第二医院"), other)
    application = start(PROCESS, institution)

    with pytest.raises(FormValidationError) as invalid:
        application.complete(UNIT, badge_form(domains=[DOMAIN, other]))

    assert invalid.value.errors == {"domains": f"域名 {other} 不是本单位已注册且在有效期内的域名"}
    assert application.stage == "填写申请"
    assert "domains" not in application.data()
