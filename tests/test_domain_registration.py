"""域名注册 (domain_registration): how a unit gets a “.政务” / “.公益” name.

1. The unit fills in the application (填写申请); submitting reserves the name, so no other
   application can take it while it is under review.
2. The 编办 of the unit's own region reviews it (待审核) within 5 working days.
3. CONAC reviews it again (复审中).
   Either reviewer may reject with a reason: the contact is told it by SMS and e-mail, the unit sees
   审核不通过 and the reason, may change the application (even the name) and resubmit; it then goes
   to 编办 again.
4. After CONAC's approval a fee of 300 元 × years is charged and the contact is told to pay
   (待缴费). The 编办 collects it against an invoice (确认收费) and may change the years
   there (消费变更); the amount and the registration term follow the new years.
5. The 编办 remits collected fees to CONAC in batches; CONAC's 认款 of a batch moves every
   application in it on (待认款 → 注册处理中), once.
6. One working day after 认款, at 00:00 Beijing time, the domain is active for the paid years
   from that day and the contact is told (注册成功).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.engine.errors import ConflictError, FormValidationError, RefusedError
from app.extensions import db
from app.models import (
    AuditEvent,
    CalendarDay,
    Charge,
    Domain,
    MessageSubscription,
    ProcessInstance,
    Remittance,
    TimerSubscription,
)
from app.services import billing
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.taskforms.formats import FORMAT_MESSAGES, to_ascii_domain
from tests.conftest import APPROVE, BIANBAN, CONAC, DOMAIN_APPLICATION, UNIT, Application, at, reject

NAME = DOMAIN_APPLICATION["domain_name"]  # 鄂尔多斯市人民政府.政务

# ---- the procedure as data: (who acts, what they submit, the stage the unit sees afterwards) ----

Step = tuple[Actor, dict[str, Any], str]

SUBMIT: Step = (UNIT, DOMAIN_APPLICATION, "待审核")
BIANBAN_APPROVES: Step = (BIANBAN, APPROVE, "复审中")
CONAC_APPROVES: Step = (CONAC, APPROVE, "待缴费")
BIANBAN_REJECTS: Step = (BIANBAN, reject("域名应使用单位规范简称"), "审核不通过")
CONAC_REJECTS: Step = (CONAC, reject("名称前应冠以上级行政区划名称"), "审核不通过")


def fee_collected(years: int) -> Step:
    return (BIANBAN, {"invoice_no": "FP20261009", "years": years}, "待认款")


HAPPY = [SUBMIT, BIANBAN_APPROVES, CONAC_APPROVES, fee_collected(2)]

PATHS = [
    pytest.param(HAPPY, 2, id="approved-at-once"),
    pytest.param(
        [SUBMIT, BIANBAN_REJECTS, SUBMIT, BIANBAN_APPROVES, CONAC_APPROVES, fee_collected(2)],
        2,
        id="bianban-rejects-unit-resubmits",
    ),
    pytest.param(
        [SUBMIT, BIANBAN_APPROVES, CONAC_REJECTS, SUBMIT, BIANBAN_APPROVES, CONAC_APPROVES, fee_collected(2)],
        2,
        id="conac-rejects-unit-resubmits-bianban-reviews-again",
    ),
    pytest.param([SUBMIT, BIANBAN_APPROVES, CONAC_APPROVES, fee_collected(5)], 5, id="fee-change-to-5-years"),
    pytest.param([SUBMIT, BIANBAN_APPROVES, CONAC_APPROVES, fee_collected(1)], 1, id="fee-change-to-1-year"),
]


def walk(application: Application, steps: list[Step]) -> Application:
    for actor, data, stage in steps:
        application.complete(actor, data)
        assert application.stage == stage, f"after {actor.role} submitted {data}"
    return application


def up_to_renkuan(name: str = NAME) -> list[Step]:
    return [(UNIT, {**DOMAIN_APPLICATION, "domain_name": name}, "待审核"), *HAPPY[1:]]


def domain_of(application: Application) -> Domain:
    return db.session.get(Domain, application.data()["domain_id"])  # type: ignore[return-value]


def form_errors(action: Any) -> dict[str, str]:
    """The field → message map of the FormValidationError the action raises ({} if it raises none)."""
    try:
        action()
    except FormValidationError as refused:
        return refused.errors
    return {}


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))  # type: ignore[return-value]


def audit(application: Application, action: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.instance_id == application.instance_id, AuditEvent.action == action)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


@pytest.fixture
def unit(make_unit: Any) -> Any:
    return make_unit()


# ---- the whole procedure ----


@pytest.mark.parametrize(("steps", "years"), PATHS)
def test_every_path_ends_registered_one_working_day_after_renkuan_for_the_paid_years(
    steps: list[Step], years: int, unit: Any, start: Any, clock: Any, engine: Any, remit_and_confirm: Any
) -> None:
    clock.set("2026-09-28 10:00")
    application = walk(start("domain_registration", unit), steps)
    charge = application.charge()
    assert (charge.purpose, charge.years, charge.status) == ("register", years, "collected")
    assert charge.amount_yuan == 300 * years

    clock.set("2026-10-09 16:00")  # Friday
    remit_and_confirm([charge])
    assert application.stage == "注册处理中"
    engine.runner.fire_due_timers(clock.set("2026-10-10 00:00"))  # 调休 Saturday, a working day

    domain = domain_of(application)
    assert application.stage == "注册成功"
    assert application.instance.status == "completed"
    assert (domain.name, domain.status, domain.years) == (NAME, "active", years)
    assert (domain.registered_on, domain.expires_on) == (date(2026, 10, 10), date(2026 + years, 10, 10))


# ---- step by step ----


def test_the_unit_starts_by_filling_in_the_application(unit: Any, start: Any) -> None:
    application = start("domain_registration", unit)

    item = application.task()
    assert application.stage == "填写申请"
    assert (item.task_name, item.role, item.office_code, item.unit_id) == ("fill_application", "单位", None, unit.id)
    assert not application.instance.numbered  # the first submission numbers it (YM2026…)


def test_submission_reserves_the_name_and_gives_the_regional_bianban_5_working_days(
    unit: Any, start: Any, clock: Any
) -> None:
    clock.set("2026-09-28 10:00")  # Monday; 10-01..10-07 国庆, 10-10 (Saturday) is worked
    application = walk(start("domain_registration", unit), [SUBMIT])

    assert application.instance.business_key == "YM2026000001"
    item = application.task()
    assert (item.task_name, item.role, item.office_code) == ("bianban_review", "编办", "编办:150600")
    assert item.due_at == at("2026-10-10 23:59:59")  # 09-29, 09-30, 10-08, 10-09, 10-10
    domain = domain_of(application)
    assert (domain.name, domain.suffix, domain.status, domain.unit_id) == (NAME, "政务", "reserved", unit.id)


def test_after_bianban_approves_conac_reviews(unit: Any, start: Any) -> None:
    application = walk(start("domain_registration", unit), [SUBMIT, BIANBAN_APPROVES])

    item = application.task()
    assert (item.task_name, item.role, item.office_code) == ("conac_review", "CONAC", "CONAC")


def test_conac_approval_charges_300_yuan_a_year_and_tells_the_contact_to_pay_the_bianban(unit: Any, start: Any) -> None:
    application = walk(start("domain_registration", unit), [SUBMIT, BIANBAN_APPROVES, CONAC_APPROVES])

    charge = application.charge()
    assert (charge.purpose, charge.years, charge.tariff_yuan, charge.amount_yuan) == ("register", 2, 300, 600)
    assert charge.status == "unpaid"
    item = application.task()
    assert (item.task_name, item.role, item.office_code) == ("collect_fee", "编办", "编办:150600")
    messages = application.outbox()
    assert [(m.channel, m.recipient) for m in messages] == [("sms", "13800138000"), ("email", "zhang@example.cn")]
    assert messages[0].subject == "域名审核通过，请缴纳注册费"
    assert "注册年限 2 年" in messages[0].body


def test_fee_change_at_collection_recharges_the_new_years_and_keeps_the_invoice(unit: Any, start: Any) -> None:
    application = walk(start("domain_registration", unit), up_to_renkuan()[:3])

    application.complete(BIANBAN, {"invoice_no": "FP-2026-0042", "years": 4})

    charge = application.charge()
    assert (charge.years, charge.amount_yuan, charge.invoice_no) == (4, 1200, "FP-2026-0042")
    assert charge.status == "collected"
    assert application.data()["years"] == 4


def test_success_is_shown_on_the_next_working_day_and_not_a_minute_earlier(
    unit: Any, start: Any, clock: Any, engine: Any, remit_and_confirm: Any
) -> None:
    application = walk(start("domain_registration", unit), up_to_renkuan())
    clock.set("2026-10-09 16:00")
    remit_and_confirm([application.charge()])

    assert engine.runner.fire_due_timers(clock.set("2026-10-09 23:59")) == []
    assert application.stage == "注册处理中"
    assert domain_of(application).status == "reserved"

    assert engine.runner.fire_due_timers(clock.set("2026-10-10 00:00")) == [application.instance.business_key]
    assert application.stage == "注册成功"
    notice = application.outbox()[-1]
    assert (notice.channel, notice.subject) == ("email", "域名注册成功")
    assert "有效期至 2028-10-10" in notice.body


def test_renkuan_just_after_midnight_beijing_time_counts_from_that_beijing_day(
    unit: Any, start: Any, clock: Any, engine: Any, remit_and_confirm: Any
) -> None:
    application = walk(start("domain_registration", unit), up_to_renkuan())
    clock.set("2026-10-10 00:30")  # still 10-09 in UTC

    remit_and_confirm([application.charge()])

    (timer,) = db.session.scalars(select(TimerSubscription))
    assert timer.due_at == at("2026-10-12 00:00")
    assert engine.runner.fire_due_timers(clock.set("2026-10-11 23:59")) == []


def test_the_registered_domain_keeps_the_contact_of_the_application(
    unit: Any, start: Any, clock: Any, engine: Any, remit_and_confirm: Any
) -> None:
    """Renewal notices go to the domain's contact (域名续费.bpmn reads domain["contact_mobile"])."""
    application = walk(start("domain_registration", unit), up_to_renkuan())
    clock.set("2026-10-09 16:00")
    remit_and_confirm([application.charge()])
    engine.runner.fire_due_timers(clock.set("2026-10-10 00:00"))

    domain = domain_of(application)
    contact = (domain.contact_name, domain.contact_mobile, domain.contact_email)
    assert contact == ("张经办", "13800138000", "zhang@example.cn"), (
        "DIAGRAM BUG: 域名注册.bpmn reserve_domain does not pass contact_name/contact_mobile/contact_email"
    )


# ---- rejection and resubmission ----


def test_rejection_by_bianban_returns_to_the_unit_with_the_reason(unit: Any, start: Any) -> None:
    application = walk(start("domain_registration", unit), [SUBMIT, BIANBAN_REJECTS])

    item = application.task()
    assert (item.task_name, item.role) == ("revise_application", "单位")
    assert application.data()["reason"] == "域名应使用单位规范简称"
    (review,) = [e for e in audit(application, "complete") if e.task_name == "bianban_review"]
    assert (review.role, review.actor, review.decision) == ("编办", "bianban-user", "reject")
    assert review.reason == "域名应使用单位规范简称"
    sms, email = application.outbox()
    assert [(sms.channel, sms.recipient), (email.channel, email.recipient)] == [
        ("sms", "13800138000"),
        ("email", "zhang@example.cn"),
    ]
    assert sms.subject == email.subject == "域名申请审核未通过"
    assert sms.body == email.body == (
        f"您单位申请的域名“{NAME}”未通过审核。不通过原因：域名应使用单位规范简称。请登录平台，在“我的申请”中打开本申请，"
        "按原因修改后重新提交，重新提交的申请将再次经同级编办审核和CONAC复审。"
    )


def test_rejection_by_conac_returns_to_the_unit_with_the_reason(unit: Any, start: Any) -> None:
    application = walk(start("domain_registration", unit), [SUBMIT, BIANBAN_APPROVES, CONAC_REJECTS])

    assert application.task().task_name == "revise_application"
    assert application.data()["reason"] == "名称前应冠以上级行政区划名称"
    (review,) = [e for e in audit(application, "complete") if e.task_name == "conac_review"]
    assert (review.role, review.decision, review.reason) == ("CONAC", "reject", "名称前应冠以上级行政区划名称")
    assert count(Charge) == 0
    assert [m.subject for m in application.outbox()] == ["域名申请审核未通过"] * 2
    assert "不通过原因：名称前应冠以上级行政区划名称。请登录平台" in application.outbox()[0].body


def test_a_reason_the_reviewer_ended_with_a_full_stop_reads_with_one(unit: Any, start: Any) -> None:
    application = walk(
        start("domain_registration", unit), [SUBMIT, (BIANBAN, reject("域名应使用单位规范简称。"), "审核不通过")]
    )

    body = application.outbox()[0].body
    assert "不通过原因：域名应使用单位规范简称。请登录平台" in body and "。。" not in body


def test_a_rejection_without_a_reason_is_refused(unit: Any, start: Any) -> None:
    application = walk(start("domain_registration", unit), [SUBMIT])

    errors = form_errors(lambda: application.complete(BIANBAN, {"decision": "reject"}))

    assert errors == {"reason": "请填写审核意见（不通过原因）"}
    assert application.stage == "待审核"


def test_a_resubmission_with_another_name_goes_back_to_bianban_and_frees_the_old_name(
    make_unit: Any, unit: Any, start: Any, clock: Any
) -> None:
    application = walk(start("domain_registration", unit), [SUBMIT, BIANBAN_REJECTS])
    renamed = {**DOMAIN_APPLICATION, "domain_name": "鄂尔多斯市政府.政务"}

    clock.set("2026-10-12 09:00")  # Monday
    walk(application, [(UNIT, renamed, "待审核")])

    item = application.task()
    assert (item.task_name, item.office_code) == ("bianban_review", "编办:150600")
    assert item.due_at == at("2026-10-19 23:59:59")  # 10-13, 10-14, 10-15, 10-16, 10-19
    assert [d.name for d in db.session.scalars(select(Domain))] == ["鄂尔多斯市政府.政务"]
    other = walk(start("domain_registration", make_unit()), [SUBMIT])
    assert domain_of(other).name == NAME


# ---- refusals: nothing changes ----


def test_a_name_held_by_another_application_is_refused_on_the_name_field_and_nothing_changes(
    make_unit: Any, unit: Any, start: Any
) -> None:
    walk(start("domain_registration", unit), [SUBMIT])
    second = start("domain_registration", make_unit())
    before = (second.stage, second.instance.version, second.task().task_id)

    errors = form_errors(lambda: second.complete(UNIT, DOMAIN_APPLICATION))

    assert errors == {"domain_name": f"域名 {NAME} 已被注册或正在申请中"}
    assert (second.stage, second.instance.version, second.task().task_id) == before
    assert count(Domain) == 1


def test_a_name_registered_without_an_application_on_the_platform_is_refused_too(
    make_unit: Any, unit: Any, start: Any
) -> None:
    """E.g. a domain taken over from the old registration system: it has no process instance."""
    taken_over = dict(name=NAME, ascii_name=to_ascii_domain(NAME), suffix="政务", years=1, host_mode="none")
    db.session.add(Domain(unit_id=unit.id, status="active", expires_on=date(2027, 10, 10), **taken_over))
    db.session.commit()
    application = start("domain_registration", make_unit())

    errors = form_errors(lambda: application.complete(UNIT, DOMAIN_APPLICATION))

    assert errors == {"domain_name": f"域名 {NAME} 已被注册或正在申请中"}, (
        "ENGINE BUG: app/services/domains.py reserve() filters `Domain.instance_id != instance_id`, "
        "which is NULL (not true) for a domain without an application, so its name can be taken again"
    )
    assert count(Domain) == 1


INVALID_APPLICATIONS = [
    pytest.param("contact_mobile", "1380013800", FORMAT_MESSAGES["cn-mobile"], id="mobile-10-digits"),
    pytest.param("contact_mobile", "12800138000", FORMAT_MESSAGES["cn-mobile"], id="mobile-bad-prefix"),
    pytest.param("domain_name", "鄂尔多斯市人民政府.cn", FORMAT_MESSAGES["cn-domain"], id="not-zhengwu-or-gongyi"),
    pytest.param("years", 11, "注册年限不能大于 10", id="years-11"),
    pytest.param("years", 0, "注册年限不能小于 1", id="years-0"),
    pytest.param("contact_name", "<b>张经办</b>", "联系人姓名格式不正确（不能包含 < > 等字符）", id="html-in-name"),
    pytest.param("contact_email", "zhang@", FORMAT_MESSAGES["email"], id="bad-email"),
    pytest.param("contact_email", "zhang@[10.0.0.1]", FORMAT_MESSAGES["email"], id="email-ip-literal"),
    pytest.param("host_ip", "127.0.0.1", FORMAT_MESSAGES["ipv4"], id="loopback-host-ip"),
]


@pytest.mark.parametrize(("field", "value", "message"), INVALID_APPLICATIONS)
def test_invalid_application_data_is_refused_in_chinese_and_nothing_is_saved(
    field: str, value: Any, message: str, unit: Any, start: Any
) -> None:
    application = start("domain_registration", unit)
    version = application.instance.version

    errors = form_errors(lambda: application.complete(UNIT, {**DOMAIN_APPLICATION, field: value}))

    assert errors == {field: message}
    assert (application.stage, application.instance.version) == ("填写申请", version)
    assert count(Domain) == 0
    assert audit(application, "complete") == []


def test_a_server_ip_is_required_when_the_unit_says_it_has_one(unit: Any, start: Any) -> None:
    application = start("domain_registration", unit)

    errors = form_errors(lambda: application.complete(UNIT, {**DOMAIN_APPLICATION, "host_mode": "ip"}))

    assert errors == {"host_ip": "请填写网站服务器IP"}


@pytest.mark.parametrize(
    ("steps", "intruder", "lane"),
    [
        pytest.param(HAPPY[:1], UNIT, "编办", id="unit-reviews-itself"),
        pytest.param(HAPPY[:1], CONAC, "编办", id="conac-skips-bianban"),
        pytest.param(HAPPY[:2], BIANBAN, "CONAC", id="bianban-does-the-conac-review"),
        pytest.param(HAPPY[:3], UNIT, "编办", id="unit-confirms-its-own-fee"),
        pytest.param([SUBMIT, BIANBAN_REJECTS], BIANBAN, "单位", id="bianban-resubmits-for-the-unit"),
    ],
)
def test_only_the_role_of_the_lane_may_complete_a_task(
    steps: list[Step], intruder: Actor, lane: str, unit: Any, start: Any
) -> None:
    application = walk(start("domain_registration", unit), steps)
    before = (application.stage, application.instance.version)
    form = {"编办": APPROVE, "CONAC": APPROVE, "单位": DOMAIN_APPLICATION}[lane]
    if application.task().task_name == "collect_fee":
        form = fee_collected(2)[1]

    with pytest.raises(RefusedError, match=f"该任务须由“{lane}”办理"):
        application.complete(intruder, form)

    assert (application.stage, application.instance.version) == before


def test_completing_an_already_completed_task_is_a_conflict(unit: Any, start: Any, engine: Any) -> None:
    application = walk(start("domain_registration", unit), [SUBMIT])
    review = application.task().task_id
    engine.runner.complete(review, BIANBAN, APPROVE)

    with pytest.raises(ConflictError):
        engine.runner.complete(review, BIANBAN, reject("重复办理"))

    assert application.stage == "复审中"
    assert len([e for e in audit(application, "complete") if e.task_name == "bianban_review"]) == 1


# ---- 认款: one confirmation of a remittance batch moves its applications on, once ----


def awaiting_renkuan(start: Any, make_unit: Any, how_many: int) -> list[Application]:
    names = ["鄂尔多斯市人民政府.政务", "东胜区人民政府.政务", "康巴什区人民政府.政务", "达拉特旗人民政府.政务"]
    return [walk(start("domain_registration", make_unit()), up_to_renkuan(names[i])) for i in range(how_many)]


def test_one_renkuan_moves_every_application_of_the_batch_on_exactly_once(
    make_unit: Any, start: Any, clock: Any, remit_and_confirm: Any
) -> None:
    applications = awaiting_renkuan(start, make_unit, 3)
    clock.set("2026-10-09 16:00")

    moved = remit_and_confirm([a.charge() for a in applications])

    assert sorted(moved) == sorted(a.instance.business_key for a in applications)
    for application in applications:
        assert application.stage == "注册处理中"
        assert application.charge().status == "confirmed"
        (message,) = audit(application, "message")
        assert (message.role, message.detail["message"]) == ("CONAC", "认款")
        assert message.detail["confirmed_on"] == "2026-10-09"
    assert count(TimerSubscription) == 3
    assert count(MessageSubscription) == 0


def test_confirming_the_same_batch_again_is_refused_and_changes_nothing(
    make_unit: Any, start: Any, clock: Any, engine: Any
) -> None:
    applications = awaiting_renkuan(start, make_unit, 2)
    remittance = billing.create_remittance(db.session, "编办:150600", [a.charge().id for a in applications], "bb")
    db.session.commit()
    engine.runner.confirm_remittance(remittance.id, CONAC)
    before = [(a.stage, a.instance.version) for a in applications]

    with pytest.raises(RefusedError, match="不能重复认款"):
        engine.runner.confirm_remittance(remittance.id, CONAC)

    assert [(a.stage, a.instance.version) for a in applications] == before
    assert all(len(audit(a, "message")) == 1 for a in applications)


def test_an_application_whose_charge_is_in_another_batch_does_not_move(
    make_unit: Any, start: Any, remit_and_confirm: Any
) -> None:
    first, second, other = awaiting_renkuan(start, make_unit, 3)
    billing.create_remittance(db.session, "编办:150600", [other.charge().id], "bb")
    db.session.commit()

    moved = remit_and_confirm([first.charge(), second.charge()])

    assert other.instance.business_key not in moved
    assert (other.stage, other.charge().status) == ("待认款", "remitted")
    assert audit(other, "message") == []


def test_a_charge_not_yet_collected_cannot_be_remitted(unit: Any, start: Any) -> None:
    application = walk(start("domain_registration", unit), up_to_renkuan()[:3])  # 待缴费

    with pytest.raises(ServiceRefusal, match="尚未确认收取"):
        billing.create_remittance(db.session, "编办:150600", [application.charge().id], "bb")
    db.session.rollback()

    assert count(Remittance) == 0
    assert application.charge().status == "unpaid"


def test_a_bianban_cannot_remit_the_charge_of_another_region(make_unit: Any, start: Any) -> None:
    application = walk(start("domain_registration", make_unit(region_code="150100")), up_to_renkuan())

    with pytest.raises(ServiceRefusal, match="不属于本编办"):
        billing.create_remittance(db.session, "编办:150600", [application.charge().id], "bb")
    db.session.rollback()

    assert application.charge().status == "collected"


# ---- a deadline in 2027, a year chinesecalendar does not cover ----


def test_renkuan_on_31_december_2026_registers_on_an_estimated_1_january_2027(
    unit: Any, start: Any, clock: Any, engine: Any, remit_and_confirm: Any
) -> None:
    application = walk(start("domain_registration", unit), up_to_renkuan())
    clock.set("2026-12-31 15:00")  # Thursday
    remit_and_confirm([application.charge()])

    (timer,) = db.session.scalars(select(TimerSubscription))
    assert (timer.due_at, timer.estimated) == (at("2027-01-01 00:00"), True)  # Mon–Fri guess: 元旦 unknown
    assert engine.runner.fire_due_timers(clock.set("2026-12-31 23:59")) == []
    engine.runner.fire_due_timers(clock.set("2027-01-01 00:00"))
    assert application.stage == "注册成功"
    assert domain_of(application).registered_on == date(2027, 1, 1)


def test_an_admin_holiday_on_1_january_2027_moves_registration_to_monday_4_january(
    unit: Any, start: Any, clock: Any, engine: Any, remit_and_confirm: Any
) -> None:
    db.session.add(CalendarDay(day=date(2027, 1, 1), is_workday=False, note="元旦"))
    db.session.commit()
    application = walk(start("domain_registration", unit), up_to_renkuan())
    clock.set("2026-12-31 15:00")
    remit_and_confirm([application.charge()])

    (timer,) = db.session.scalars(select(TimerSubscription))
    assert (timer.due_at, timer.estimated) == (at("2027-01-04 00:00"), False)
    assert engine.runner.fire_due_timers(clock.set("2027-01-01 00:00")) == []
    assert application.stage == "注册处理中"
    engine.runner.fire_due_timers(clock.set("2027-01-04 00:00"))
    assert application.stage == "注册成功"
    assert domain_of(application).expires_on == date(2029, 1, 4)
    assert db.session.get(ProcessInstance, application.instance_id).status == "completed"  # type: ignore[union-attr]
