"""Five realistic changes of procedure, each made only to diagram, form or template data (issue 8).

Each test starts an application on the shipped version, edits the shipped file in memory as policy staff
would in the modeler (tests/bpmn_edits.py; forms and print templates in a copy of the repository
folders), deploys it as `flask deploy` does, runs a new application end to end through the changed path
and the old one to its end on the old path, and checks that no Python source changed:

(a) 党政机关开办审核: the copy of the 经办人's ID card is no longer required (seed 004).
(b) 事业单位标识申请: the unit brings a paper 申请表 to the 同级编办, who checks it before CONAC's 复审.
(c) 党政机关开办审核: the 编办 has 10 working days for its 初审 instead of 5, and is reminded on its 待办
    page 2 working days before the deadline.
(d) 党政机关开办审核: a unit whose 隶属关系 is 中央和国家机关 has its 初审 by the 中央编办电子政务中心 instead of
    the 编办, a 再审 there after CONAC, and sends its paper there through the 机要 channel.
(e) 事业单位标识申请: CONAC's 复审 becomes a 会签 of two different reviewers.

Times are Beijing wall time. In 2026, 9-25 (中秋) and 10-01..10-07 (国庆) are off, Saturday 10-10 is worked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.engine import Engine
from app.engine.errors import RefusedError
from app.extensions import db
from app.models import AuditEvent, Certificate, OutboxMessage, TimerSubscription, Unit, WorkflowDefinition
from app.services import documents
from app.services.audit import Actor
from app.services.unit_applications import rejection_reason
from tests.bpmn_edits import (
    Diagram,
    Form,
    end_event,
    gateway,
    literal,
    problems,
    python_sources,
    script_task,
    service_task,
    user_task,
)
from tests.conftest import (
    APPROVE,
    BIANBAN,
    CONAC,
    UNIT,
    Application,
    Clock,
    Step,
    add_domain,
    at,
    deploy_xml,
    ensure_office,
    reject,
)
from tests.test_documents import pdf_text, repository_copy

ROOT = Path(__file__).resolve().parent.parent
PARTY, BADGE = "party_site_review", "institution_badge"
PARTY_FILE, BADGE_FILE = "党政机关开办审核.bpmn", "事业单位标识申请.bpmn"
CENTRAL = "中央和国家机关"
ZHONGXIN = Actor("zhongxin", "电子政务中心", office_code="电子政务中心")
CONAC2 = Actor("conac-user-2", "CONAC")
PAPER_SENT = Step(UNIT, {"paper_delivery": "in_person"}, "待提交纸质材料")  # the unit has brought its paper


def site_form(unit: Unit, domain: str) -> dict[str, Any]:
    """A 党政机关's 开办审核 application (site-application form)."""
    return {
        "application_type": "new",
        "badge_location": "red_page",
        "site_name": unit.name,
        "domains": [domain],
        "site_intro": f"本网站由{unit.name}主办，旨在介绍我单位职能、职责、人员编制，面向社会公开工作动态。",
        "contact_name": "张经办",
        "contact_mobile": "13800138000",
        "contact_email": "zhang@example.cn",
    }


def badge_form(unit: Unit, domain: str) -> dict[str, Any]:
    """A 事业单位's 网站标识 application (badge-application form)."""
    return {
        "badge_location": "red_page",
        "site_name": unit.name,
        "domains": [domain],
        "site_intro": f"本网站由{unit.name}主办，旨在介绍我单位职能、业务范围，面向社会公开工作动态。",
        "business_scope": "医疗、预防、保健、康复服务，医学教学与科研",
        "contact_name": "李经办",
        "contact_mobile": "13900139000",
        "contact_email": "li@example.cn",
    }


def walk(application: Application, steps: list[Step]) -> Application:
    """Act step by step; each step's (single) work item must belong to the acting role."""
    for number, step in enumerate(steps, start=1):
        assert application.task().role == step.actor.role, f"step {number}"
        application.complete(step.actor, step.data)
        assert application.stage == step.stage, f"step {number}: {application.stage}"
    return application


def shipped(file_name: str) -> bytes:
    return (ROOT / "workflows" / file_name).read_bytes()


def deploy(engine: Engine, xml: bytes, file_name: str, files_root: Path = ROOT) -> WorkflowDefinition:
    """What `flask deploy` does with the edited file: checks it, then stores version 2."""
    assert problems(xml) == []
    row, created = deploy_xml(engine, xml, file_name, files_root)
    assert (row.version, created) == (2, True)
    return row


def subjects(application: Application) -> list[str]:
    """The unit's notices in order, once each (each goes out by SMS and e-mail)."""
    messages = [m for m in application.outbox() if m.channel in ("sms", "email")]
    assert [m.channel for m in messages] == ["sms", "email"] * (len(messages) // 2)
    return [m.subject for m in messages[::2]]


def decisions(application: Application, element: str) -> list[tuple[str, str | None, str | None]]:
    """Who decided the element's tasks in this application, what, and why (the audit trail)."""
    query = select(AuditEvent.actor, AuditEvent.decision, AuditEvent.reason).where(
        AuditEvent.instance_id == application.instance_id, AuditEvent.task_name == element
    )
    return [tuple(row) for row in db.session.execute(query.order_by(AuditEvent.id))]


def badge_of(application: Application) -> Certificate:
    query = select(Certificate).where(Certificate.instance_id == application.instance_id)
    return db.session.scalars(query).one()


def offices(application: Application) -> list[tuple[str, str | None]]:
    return sorted((item.task_name, item.office_code) for item in application.tasks)


# --- (a) The ID-card copy is no longer required ------------------------------------------------------------


def without_id_card_copy(xml: bytes) -> bytes:
    """The paper materials no longer include a sealed copy of the 经办人's ID card: one process property."""
    diagram = Diagram(xml)
    diagram.set_property(PARTY, "idCardCopyRequired", "false")
    return diagram.to_bytes()


def test_a_dropping_the_id_card_copy_changes_one_property_and_only_new_applications_follow_it(
    make_unit: Any, start: Any, clock: Clock, engine: Engine
) -> None:
    clock.set("2026-09-28 10:00")
    code = python_sources()
    organ = make_unit("党政机关", "150600", "鄂尔多斯市人民政府")
    add_domain(organ, "鄂尔多斯市人民政府.政务")
    form = site_form(organ, "鄂尔多斯市人民政府.政务")
    old = walk(start(PARTY, organ), [Step(UNIT, form, "初审中")])

    row = deploy(engine, without_id_card_copy(shipped(PARTY_FILE)), PARTY_FILE)

    first = engine.definitions.compiled_by_id(db.session, old.instance.definition_id)
    second = engine.definitions.compiled(row)
    changed = {k for k in first.properties | second.properties if first.properties.get(k) != second.properties.get(k)}
    assert changed == {PARTY}  # nothing but the process's own properties, and of them one value:
    assert set(first.process_properties.items()) ^ set(second.process_properties.items()) == {
        ("idCardCopyRequired", "true"),
        ("idCardCopyRequired", "false"),
    }
    to_paper = [
        Step(UNIT, form, "初审中"),
        Step(BIANBAN, APPROVE, "复审中"),
        Step(CONAC, APPROVE, "审核通过"),
        PAPER_SENT,
    ]
    new = walk(start(PARTY, organ), to_paper)
    notice = new.outbox()[-1].body
    assert "身份证" not in notice and "一式三份并加盖单位公章，报送同级机构编制部门备案" in notice
    walk(new, [Step(BIANBAN, {"decision": "ok"}, "标识已发放")])

    walk(old, [*to_paper[1:], Step(BIANBAN, {"decision": "ok"}, "标识已发放")])
    assert old.instance.definition.version == 1
    (paper_notice,) = {m.body for m in old.outbox() if "请报送纸质材料" in m.subject}
    assert "连同经办人身份证复印件一份（加盖单位公章）" in paper_notice
    assert python_sources() == code


# --- (b) A paper step at the 编办 before CONAC's review ---------------------------------------------------

PAPER_NOTICE = (
    "您单位“{{ site_name }}”的网站标识申请已通过同级机构编制部门初审。请将"
    "{{ procedure.paperMaterials.split(';') | join('、') }}一式{{ procedure.paperCopies | cn }}份并加盖单位公章，"
    "报送同级机构编制部门。同级编办核对材料无误后，申请提交CONAC复审。"
)
PAPER_PROBLEM_NOTICE = (
    "您单位“{{ site_name }}”报送的纸质材料存在问题：{{ reason }}。"
    "请登录平台查看，修改申请后重新提交，初审通过后重新报送纸质材料。"
)
PAPER_CHECK = (
    "单位的网站标识申请已通过初审，正在向本部门报送纸质材料。收到材料后，请核对：\n"
    "1. {{ procedure.paperMaterials.split(';') | join('、') }}是否齐全，"
    "是否一式{{ procedure.paperCopies | cn }}份并加盖单位公章；\n"
    "2. 申请表内容是否与在线申请一致（单位名称、网站名称、域名、挂标位置等）。\n"
    "材料齐全无误的选择“通过”，申请提交CONAC复审；材料有问题的选择“不通过”并写明问题，申请退回单位修改。"
    "请原则上自收到纸质材料之日起{{ procedure.paperReviewDays }}个工作日内完成核对。"
)


def paper_step_before_review(xml: bytes) -> bytes:
    """After the 编办's 初审 the unit is told to bring its paper 申请表 and certificate copy (一式两份) to the
    编办, who checks them: in order, CONAC reviews; with a problem, the application goes back to the unit."""
    diagram = Diagram(xml)
    for name, value in {
        "paperMaterials": "网站标识申请表;事业单位法人证书或社会组织登记证书复印件",
        "paperCopies": "2",
        "paperReviewDays": "10",
        "mainStages": "填写申请,初审中,待提交纸质材料,复审中,审核通过,标识已发放",
    }.items():
        diagram.set_property(BADGE, name, value)
    _tell_units_about_the_paper(diagram)
    diagram.make_room(y=530, by=140)  # a row for the paper step in the 编办 lane
    diagram.make_room(x=940, by=420)
    notify = service_task(
        "notify_paper",
        "通知报送纸质材料",
        "notify.send",
        {
            "mobile": "contact_mobile",
            "email": "contact_email",
            "subject": literal("网站标识申请已通过初审，请报送纸质材料"),
            "body": literal(PAPER_NOTICE),
        },
    )
    diagram.insert("flow_first_pass_second", notify, "lane_bianban", (870, 580), then="flow_notify_confirm")
    check = user_task(
        "confirm_paper",
        "核对纸质材料",
        Form("review-decision.schema.json", "待提交纸质材料", PAPER_CHECK),
        dueInWorkdays="{{ procedure.paperReviewDays }}",
    )
    diagram.insert("flow_notify_confirm", check, "lane_bianban", (1010, 580), then="flow_confirm_gw")
    diagram.insert(
        "flow_confirm_gw", gateway("gw_paper", "纸质材料是否无误"), "lane_bianban", (1130, 580), then="flow_paper_ok"
    )
    diagram.set_default("gw_paper", "flow_paper_ok")
    diagram.set_flow("flow_paper_ok", name="材料无误")
    problem = service_task(
        "notify_paper_problem",
        "通知材料有问题",
        "notify.send",
        {
            "mobile": "contact_mobile",
            "email": "contact_email",
            "subject": literal("纸质材料有问题，请修改后重新提交"),
            "body": literal(PAPER_PROBLEM_NOTICE),
        },
    )
    diagram.add_node(problem, "lane_bianban", (1260, 580))
    diagram.connect(
        "flow_paper_problem", "gw_paper", "notify_paper_problem", name="材料有问题", condition='decision == "reject"'
    )
    diagram.connect("flow_problem_revise", "notify_paper_problem", "merge_revise", via=((1260, 140), (1550, 140)))
    return diagram.to_bytes()


def _tell_units_about_the_paper(diagram: Diagram) -> None:
    """The 办事指南 and the instructions say what the paper is and when it goes where."""
    diagram.replace_text(
        BADGE,
        "2. 同级编办初审：同级机构编制部门对单位资质、联系人、网站名称、域名名称进行审核。",
        "2. 同级编办初审：同级机构编制部门对单位资质、联系人、网站名称、域名名称进行审核。初审通过后，单位将纸质材料"
        "报送同级机构编制部门（状态“待提交纸质材料”），核对无误后进入CONAC复审；材料有问题的退回单位修改。",
    )
    diagram.replace_text(BADGE, "不需要向同级机构编制部门报送纸质材料。", "")
    diagram.replace_text(
        BADGE,
        "在线申请表（网上填报）。不需要报送纸质材料。",
        "1. 在线申请表（网上填报）。\n2. {{ procedure.paperMaterials.split(';') | join('、') }}，"
        "一式{{ procedure.paperCopies | cn }}份，加盖单位公章，初审通过后报送同级机构编制部门。",
    )
    diagram.replace_text(
        "fill_application",
        "复审通过后系统即生成网站标识代码，不需要报送纸质材料。",
        "初审通过后须将纸质材料报送同级编办，核对无误后由CONAC复审；复审通过后系统即生成网站标识代码。",
    )
    diagram.replace_text("first_review", "之后由CONAC复审；", "之后单位报送纸质材料，由本部门核对无误后提交CONAC复审；")


def test_b_institutions_bring_paper_to_the_bianban_before_conac_reviews(
    make_unit: Any, start: Any, clock: Clock, engine: Engine
) -> None:
    clock.set("2026-09-28 10:00")
    code = python_sources()
    hospital = make_unit("事业单位", "150600", "鄂尔多斯市中心医院")
    add_domain(hospital, "鄂尔多斯市中心医院.公益")
    submit = Step(UNIT, badge_form(hospital, "鄂尔多斯市中心医院.公益"), "初审中")
    old = walk(start(BADGE, hospital), [submit])

    row = deploy(engine, paper_step_before_review(shipped(BADGE_FILE)), BADGE_FILE)

    guide = engine.definitions.compiled(row).documentation
    assert "网站标识申请表、事业单位法人证书或社会组织登记证书复印件，一式两份" in guide
    assert "不需要" not in guide
    new = walk(start(BADGE, hospital), [submit, Step(BIANBAN, APPROVE, "待提交纸质材料")])
    item = new.task()
    assert (item.task_name, item.role, item.office_code) == ("confirm_paper", "编办", "编办:150600")
    assert item.due_at == at("2026-10-16 23:59:59")  # 10 working days
    assert "一式两份并加盖单位公章，报送同级机构编制部门" in new.outbox()[-1].body
    problem = "申请表未加盖单位公章"
    walk(new, [Step(BIANBAN, reject(problem), "审核不通过")])
    assert rejection_reason(new.data()) == problem and problem in new.outbox()[-1].body
    walk(new, [submit, Step(BIANBAN, APPROVE, "待提交纸质材料"), Step(BIANBAN, APPROVE, "复审中")])
    walk(new, [Step(CONAC, APPROVE, "标识已发放")])
    assert subjects(new) == [
        "网站标识申请已通过初审",
        "网站标识申请已通过初审，请报送纸质材料",
        "纸质材料有问题，请修改后重新提交",
        "网站标识申请已通过初审",
        "网站标识申请已通过初审，请报送纸质材料",
        "网站标识代码已发放",
    ]
    assert [d for _actor, d, _reason in decisions(new, "confirm_paper")] == ["reject", "approve"]
    assert badge_of(new).colour == "blue"

    walk(old, [Step(BIANBAN, APPROVE, "复审中"), Step(CONAC, APPROVE, "标识已发放")])
    assert old.instance.definition.version == 1
    assert subjects(old) == ["网站标识申请已通过初审", "网站标识代码已发放"]
    assert python_sources() == code


# --- (c) 10 working days for the 初审, with a reminder 2 working days before -------------------------------

REMINDER = (
    'start_of_day(add_workdays(today(), int(procedure["firstReviewDays"]) - int(procedure["reminderDaysBefore"])))'
)
REMINDER_NOTICE = (
    "“{{ site_name }}”的网站开办审核/资格复核申请初审期限（{{ procedure.firstReviewDays }}个工作日）"
    "将于{{ procedure.reminderDaysBefore | cn }}个工作日后届满，请尽快办理。"
)


def longer_first_review_with_reminder(xml: bytes) -> bytes:
    """The 编办 has 10 working days for its 初审; 2 working days before the deadline its 待办 page shows a
    reminder, and the review stays open (a non-interrupting timer on the task)."""
    diagram = Diagram(xml)
    diagram.set_property(PARTY, "firstReviewDays", "10")
    diagram.set_property(PARTY, "reminderDaysBefore", "2")
    diagram.replace_text(
        "first_review",
        "请原则上在{{ procedure.firstReviewDays }}个工作日内完成初审。",
        "请原则上在{{ procedure.firstReviewDays }}个工作日内完成初审；"
        "期限届满前{{ procedure.reminderDaysBefore | cn }}个工作日，待办页将提醒本部门。",
    )
    diagram.make_room(y=530, by=120)  # room below the 初审 for the reminder
    diagram.add_boundary_timer("first_review_reminder", "初审到期前提醒", "first_review", REMINDER)
    remind = service_task(
        "remind_first_review",
        "提醒编办初审即将到期",
        "notify.office",
        {"role": literal("编办"), "subject": literal("初审即将到期"), "body": literal(REMINDER_NOTICE)},
        documentation="在同级编办的待办页显示提醒；初审任务不受影响，仍由编办办理。",
    )
    diagram.add_node(remind, "lane_bianban", (750, 600))
    diagram.add_node(end_event("first_review_reminded", "已提醒"), "lane_bianban", (620, 600))
    diagram.connect("flow_reminder_notify", "first_review_reminder", "remind_first_review")
    diagram.connect("flow_reminded_end", "remind_first_review", "first_review_reminded")
    return diagram.to_bytes()


def test_c_the_first_review_gets_10_working_days_and_a_reminder_2_working_days_before(
    demo: dict[str, Any], login: Any, start: Any, clock: Clock, engine: Engine
) -> None:
    clock.set("2026-09-22 10:00")  # a Tuesday: 中秋, 国庆 and the worked Saturday 10-10 lie ahead
    code = python_sources()
    organ = demo["unit1"].unit
    add_domain(organ, "鄂尔多斯市人民政府办公室.政务")
    submit = Step(UNIT, site_form(organ, "鄂尔多斯市人民政府办公室.政务"), "初审中")
    old = walk(start(PARTY, organ), [submit])

    row = deploy(engine, longer_first_review_with_reminder(shipped(PARTY_FILE)), PARTY_FILE)

    assert (
        "请原则上在10个工作日内完成初审；期限届满前两个工作日"
        in engine.definitions.compiled(row).instructions["first_review"]
    )
    new = walk(start(PARTY, organ), [submit])
    # 9-23, 9-24, 9-28, 9-29, 9-30, 10-08, 10-09, 10-10 (Saturday, worked), 10-12, 10-13
    assert new.task().due_at == at("2026-10-13 23:59:59")
    assert old.task().due_at == at("2026-09-30 23:59:59")  # version 1: 5 working days
    timers = db.session.execute(
        select(TimerSubscription.instance_id, TimerSubscription.task_name, TimerSubscription.due_at)
    )
    assert [tuple(t) for t in timers] == [(new.instance_id, "first_review_reminder", at("2026-10-10 00:00"))]

    assert engine.runner.fire_due_timers(at("2026-10-09 23:59:59")) == []
    clock.set("2026-10-09 23:59:59")
    assert "初审即将到期" not in login("bianban").get("/review/").get_data(as_text=True)
    clock.set("2026-10-10 00:00")  # 2 working days before the deadline (10-12, 10-13 remain after it)
    assert engine.runner.fire_due_timers() == [new.instance.business_key]
    inbox = login("bianban").get("/review/").get_data(as_text=True)
    notice = (
        "“鄂尔多斯市人民政府办公室”的网站开办审核/资格复核申请初审期限（10个工作日）将于两个工作日后届满，请尽快办理。"
    )
    assert "初审即将到期" in inbox and notice in inbox
    (message,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "office")).all()
    assert (message.recipient, message.instance_id) == ("编办:150600", new.instance_id)
    assert offices(new) == [("first_review", "编办:150600")]  # the review stays open

    rest = [Step(BIANBAN, APPROVE, "复审中"), Step(CONAC, APPROVE, "审核通过"), PAPER_SENT]
    walk(new, [*rest, Step(BIANBAN, {"decision": "ok"}, "标识已发放")])
    walk(old, [*rest, Step(BIANBAN, {"decision": "ok"}, "标识已发放")])
    assert old.instance.definition.version == 1
    assert [
        m.instance_id for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "office"))
    ] == [new.instance_id]
    assert python_sources() == code


# --- (d) Central organs: 初审 and 再审 by the 电子政务中心, paper through the 机要 channel ------------------------

IS_CENTRAL = f'unit_affiliation == "{CENTRAL}"'
WHO = "{% if unit_affiliation == '" + CENTRAL + "' %}{central}{% else %}{regional}{% endif %}"


def either(central: str, regional: str) -> str:
    """A text that differs for central organs."""
    return WHO.replace("{central}", central).replace("{regional}", regional)


def central_organs_go_to_the_egov_centre(xml: bytes) -> bytes:
    """Units whose 隶属关系 is 中央和国家机关: 初审 by the 中央编办电子政务中心 instead of the 编办, 再审 there after
    CONAC's 复审, and paper materials sent there through the 机要 channel. Other units are unchanged."""
    diagram = Diagram(xml)
    diagram.add_lane("lane_egov", "电子政务中心", 240)
    diagram.make_room(x=1060, by=400)
    _central_first_review(diagram)
    _central_re_review(diagram)
    _central_paper(diagram)
    _tell_central_organs(diagram)
    return diagram.to_bytes()


def _central_first_review(diagram: Diagram) -> None:
    route = gateway("route_first_review", "初审机构")
    diagram.insert("flow_verify_first", route, "lane_unit", (730, 280), then="flow_route_first")
    diagram.set_default("route_first_review", "flow_route_first")
    diagram.set_flow("flow_route_first", name="其他单位")
    review = user_task(
        "central_first_review",
        "初审（电子政务中心）",
        Form(
            "review-decision.schema.json",
            "初审中",
            "本申请单位的隶属关系为“中央和国家机关”，由中央编办电子政务中心初审。请审核单位资质、联系人、网站名称、"
            "域名名称；全部审查合格的选择“通过”，之后由CONAC复审、本中心再审；不通过的选择“不通过”并写明原因。"
            "请原则上在{{ procedure.firstReviewDays }}个工作日内完成初审。",
        ),
        dueInWorkdays="{{ procedure.firstReviewDays }}",
    )
    diagram.add_node(review, "lane_egov", (640, 900))
    diagram.connect(
        "flow_route_central_first",
        "route_first_review",
        "central_first_review",
        name=CENTRAL,
        condition=IS_CENTRAL,
        via=((640, 280),),
    )
    diagram.connect(
        "flow_central_first_gw", "central_first_review", "gw_first_review", via=((790, 900), (790, 370), (870, 370))
    )


def _central_re_review(diagram: Diagram) -> None:
    route = gateway("route_re_review", "是否须再审")
    diagram.insert("flow_second_approve", route, "lane_conac", (1090, 710), then="flow_route_passed")
    diagram.set_default("route_re_review", "flow_route_passed")
    diagram.set_flow("flow_route_passed", name="其他单位")
    review = user_task(
        "re_review",
        "再审",
        Form(
            "review-decision.schema.json",
            "再审中",
            "本申请已通过本中心初审和CONAC复审，请再审。通过的，系统通知单位通过机要渠道向本中心报送纸质材料；"
            "不通过的选择“不通过”并写明原因，单位修改后重新提交，重新进入初审。",
        ),
    )
    diagram.add_node(review, "lane_egov", (1090, 900))
    diagram.connect("flow_route_re_review", "route_re_review", "re_review", name=CENTRAL, condition=IS_CENTRAL)
    diagram.add_node(gateway("gw_re_review", "再审是否通过"), "lane_egov", (1240, 900))
    diagram.connect("flow_re_review_gw", "re_review", "gw_re_review")
    approved = 'decision == "approve"'
    diagram.connect(
        "flow_re_review_approve",
        "gw_re_review",
        "review_passed",
        name="通过",
        condition=approved,
        via=((1240, 820), (1530, 820)),
    )
    notify = service_task(
        "notify_re_review_reject",
        "通知再审不通过",
        "notify.send",
        {
            "mobile": "contact_mobile",
            "email": "contact_email",
            "subject": literal("网站开办审核/资格复核申请再审未通过"),
            "body": literal(
                "您单位“{{ site_name }}”的网站开办审核/资格复核申请未通过中央编办电子政务中心再审。不通过原因："
                "{{ reason }}。请登录平台修改后重新提交申请，重新提交后将重新进入电子政务中心初审。"
            ),
        },
    )
    diagram.add_node(notify, "lane_egov", (1380, 900))
    diagram.connect(
        "flow_re_review_reject",
        "gw_re_review",
        "notify_re_review_reject",
        name="不通过",
        condition='decision == "reject"',
    )
    diagram.connect("flow_notify3_merge", "notify_re_review_reject", "merge_revise", via=((1380, 140), (1530, 140)))


def _central_paper(diagram: Diagram) -> None:
    route = gateway("route_paper", "纸质材料报送机构")
    diagram.insert("flow_submit_confirm", route, "lane_unit", (1820, 290), then="flow_route_confirm")
    diagram.set_default("route_paper", "flow_route_confirm")
    diagram.set_flow("flow_route_confirm", name="其他单位")
    confirm = user_task(
        "central_confirm_paper",
        "确认纸质材料（电子政务中心）",
        Form(
            "paper-confirmation.schema.json",
            "待提交纸质材料",
            "单位的申请已通过本中心初审、CONAC复审和本中心再审，纸质材料通过机要渠道报送本中心。收到材料后请逐项核对："
            "申请函和申请表是否齐全、一式{{ procedure.paperCopies | cn }}份并加盖单位公章，内容是否与在线申请一致。"
            "材料无误的选择“材料齐全无误”，系统随即生成网站标识代码；材料有问题的选择“材料有问题”并写明问题，本次申请终止。",
        ),
        dueInWorkdays="{{ procedure.paperReviewDays }}",
    )
    diagram.add_node(confirm, "lane_egov", (1820, 900))
    diagram.connect(
        "flow_route_central_confirm",
        "route_paper",
        "central_confirm_paper",
        name=CENTRAL,
        condition=IS_CENTRAL,
        via=((1750, 290), (1750, 900)),
    )
    diagram.connect(
        "flow_central_confirm_gw", "central_confirm_paper", "gw_paper", via=((1890, 900), (1890, 380), (1960, 380))
    )


def _tell_central_organs(diagram: Diagram) -> None:
    diagram.replace_text(
        PARTY,
        "党政机关。新开办的网站",
        "党政机关。隶属关系为“中央和国家机关”的中央单位，初审和纸质材料确认由中央编办电子政务中心办理，CONAC复审后"
        "还须经电子政务中心再审，纸质材料通过机要渠道报送电子政务中心。新开办的网站",
    )
    diagram.replace_text(
        "notify_first_reject",
        "未通过同级机构编制部门初审",
        "未通过" + either("中央编办电子政务中心", "同级机构编制部门") + "初审",
    )
    diagram.replace_text(
        "notify_first_pass",
        "已通过同级机构编制部门初审，现由CONAC复审",
        "已通过" + either("中央编办电子政务中心", "同级机构编制部门") + "初审，现由CONAC复审",
    )
    diagram.replace_text(
        "notify_second_reject",
        "重新进入同级机构编制部门初审",
        "重新进入" + either("中央编办电子政务中心", "同级机构编制部门") + "初审",
    )
    diagram.replace_text(
        "notify_paper",
        "已通过同级机构编制部门初审和CONAC复审",
        either("已通过中央编办电子政务中心初审、CONAC复审和电子政务中心再审", "已通过同级机构编制部门初审和CONAC复审"),
    )
    diagram.replace_text(
        "notify_paper",
        "报送同级机构编制部门备案，",
        either("通过机要渠道报送中央编办电子政务中心，", "报送同级机构编制部门备案，"),
    )
    diagram.replace_text(
        "notify_paper", "同级编办确认材料无误后", either("电子政务中心", "同级编办") + "确认材料无误后"
    )


def address_the_letter_to_the_egov_centre(root: Path) -> None:
    """Template and form files, edited in the repository copy: the 申请函 of a central organ is addressed to the
    电子政务中心, and the paper confirmation form names who confirms."""
    letter = root / "documents" / "letter.md"
    text = letter.read_text(encoding="utf-8")
    addressee = (
        '| {% if unit.affiliation == "' + CENTRAL + '" %}中央编办电子政务中心{% else %}{{ office }}{% endif %}：'
    )
    assert text.count("| {{ office }}：") == 1
    letter.write_text(text.replace("| {{ office }}：", addressee), encoding="utf-8")
    form = root / "forms" / "paper-confirmation.schema.json"
    text = form.read_text(encoding="utf-8")
    old = "同级机构编制部门核对单位报送的纸质材料后在线确认。"
    assert text.count(old) == 1
    new = "同级机构编制部门（中央和国家机关为中央编办电子政务中心）核对单位报送的纸质材料后在线确认。"
    form.write_text(text.replace(old, new), encoding="utf-8")


def test_d_central_organs_are_reviewed_by_the_egov_centre_before_and_after_conac(
    demo: dict[str, Any], login: Any, start: Any, clock: Clock, engine: Engine, tmp_path: Path
) -> None:
    clock.set("2026-09-28 10:00")
    code = python_sources()
    central, local = demo["unit3"].unit, demo["unit1"].unit
    assert (central.affiliation, local.affiliation) == (CENTRAL, "市属")
    for unit in (central, local):
        add_domain(unit, f"{unit.name}.政务")
    ensure_office("编办", "110000", "北京市委编办")  # where version 1 sends a central organ, as shipped
    submit_central = Step(UNIT, site_form(central, "国家某某局.政务"), "初审中")
    old = walk(start(PARTY, central), [submit_central])
    assert offices(old) == [("first_review", "编办:110000")]
    root = repository_copy(tmp_path)
    address_the_letter_to_the_egov_centre(root)

    row = deploy(engine, central_organs_go_to_the_egov_centre(shipped(PARTY_FILE)), PARTY_FILE, root)

    assert (
        "中央编办电子政务中心"
        in engine.definitions.compiled(row).forms.schema("paper-confirmation.schema.json")["description"]
    )
    new = walk(start(PARTY, central), [submit_central])
    assert offices(new) == [("central_first_review", "电子政务中心")]
    assert new.instance.business_key in login("zhongxin").get("/review/").get_data(as_text=True)
    assert new.instance.business_key not in login("bianban").get("/review/").get_data(as_text=True)
    reason = "网站名称须使用机构规范简称"
    walk(
        new,
        [
            Step(ZHONGXIN, APPROVE, "复审中"),
            Step(CONAC, APPROVE, "再审中"),
            Step(ZHONGXIN, reject(reason), "审核不通过"),
        ],
    )
    assert rejection_reason(new.data()) == reason
    assert subjects(new) == ["网站开办审核/资格复核申请已通过初审", "网站开办审核/资格复核申请再审未通过"]
    assert "已通过中央编办电子政务中心初审，现由CONAC复审" in new.outbox()[0].body
    assert "未通过中央编办电子政务中心再审。不通过原因：网站名称须使用机构规范简称。" in new.outbox()[-1].body
    walk(new, [submit_central, Step(ZHONGXIN, APPROVE, "复审中"), Step(CONAC, APPROVE, "再审中")])
    walk(new, [Step(ZHONGXIN, APPROVE, "审核通过"), PAPER_SENT])
    assert offices(new) == [("central_confirm_paper", "电子政务中心")]
    paper = new.outbox()[-1].body
    assert "已通过中央编办电子政务中心初审、CONAC复审和电子政务中心再审" in paper
    assert "通过机要渠道报送中央编办电子政务中心，报送后" in paper and "电子政务中心确认材料无误后" in paper
    letter = pdf_text(documents.render(db.session, new.instance, "letter").content, tmp_path)
    assert "中央编办电子政务中心：" in letter
    walk(new, [Step(ZHONGXIN, {"decision": "ok"}, "标识已发放")])
    assert [d for _a, d, _r in decisions(new, "re_review")] == ["reject", "approve"]
    assert {a for a, _d, _r in decisions(new, "central_first_review")} == {"zhongxin"}
    assert badge_of(new).colour == "red"

    regional = walk(start(PARTY, local), [Step(UNIT, site_form(local, f"{local.name}.政务"), "初审中")])
    assert offices(regional) == [("first_review", "编办:150600")]
    walk(regional, [Step(BIANBAN, APPROVE, "复审中"), Step(CONAC, APPROVE, "审核通过"), PAPER_SENT])
    assert offices(regional) == [("confirm_paper", "编办:150600")]
    assert "报送同级机构编制部门备案，报送后" in regional.outbox()[-1].body
    assert "同级编办确认材料无误后" in regional.outbox()[-1].body
    assert "鄂尔多斯市委编办：" in pdf_text(documents.render(db.session, regional.instance, "letter").content, tmp_path)
    walk(regional, [Step(BIANBAN, {"decision": "ok"}, "标识已发放")])

    walk(old, [Step(BIANBAN, APPROVE, "复审中"), Step(CONAC, APPROVE, "审核通过"), PAPER_SENT])
    assert offices(old) == [("confirm_paper", "编办:110000")]
    walk(old, [Step(BIANBAN, {"decision": "ok"}, "标识已发放")])
    assert old.instance.definition.version == 1
    assert python_sources() == code


# --- (e) CONAC's 复审 as a 会签 of two different reviewers ---------------------------------------------------

TALLY = """rejected = [o for o in second_opinions if o["decision"] == "reject"]
decision = "reject" if rejected else "approve"
reason = "；".join([o["reason"] for o in rejected])
del rejected
del second_opinions"""


def countersigned_second_review(xml: bytes) -> bytes:
    """Two different CONAC reviewers each decide the 复审 (会签); both must approve, and a rejection by either
    sends the application back to the unit with that reviewer's reason."""
    diagram = Diagram(xml)
    diagram.make_multi_instance(
        "second_review",
        copies=2,
        collection="second_opinions",
        item="second_opinion",
        post_script='second_opinion = {"decision": decision, "reason": reason if decision == "reject" else ""}',
    )
    diagram.set_property("second_review", "separateDuties", "second_review")
    diagram.make_room(x=950, by=160)
    tally = script_task(
        "tally_second_review",
        "汇总会签意见",
        TALLY,
        "两份复审意见均为通过时复审通过；任一份不通过时退回单位，不通过原因为该复审员所写原因。",
    )
    diagram.insert("flow_second_gw", tally, "lane_conac", (1010, 710), then="flow_tally_gw")
    diagram.set_default("gw_second_review", "flow_second_approve")  # the tally decides: no form limits `decision` now
    diagram.replace_text(
        "second_review",
        "在线复审初审通过的申请。",
        "在线复审初审通过的申请，由两名不同的复审员分别办理（会签）：两人均通过方为通过，任一人不通过即退回单位并告知其不通过原因。",
    )
    diagram.replace_text(
        "second_review",
        "本申请已通过同级机构编制部门初审，请进行复审：",
        "本申请已通过同级机构编制部门初审，由两名复审员会签，请独立复审（同一人不能办理两份）：",
    )
    diagram.replace_text(BADGE, "（CONAC）复审，状态显示", "（CONAC）两名复审员会签复审，状态显示")
    return diagram.to_bytes()


def sign(application: Application, reviewer: Actor, data: dict[str, str]) -> None:
    """One copy of the 会签: the reviewer takes the first open one."""
    item = min(application.tasks, key=lambda i: i.id)
    application.engine.runner.complete(item.task_id, reviewer, data)


def test_e_conacs_review_becomes_a_countersign_of_two_different_reviewers(
    make_unit: Any, start: Any, clock: Clock, engine: Engine
) -> None:
    clock.set("2026-09-28 10:00")
    code = python_sources()
    hospital = make_unit("事业单位", "150600", "鄂尔多斯市中心医院")
    add_domain(hospital, "鄂尔多斯市中心医院.公益")
    submit = Step(UNIT, badge_form(hospital, "鄂尔多斯市中心医院.公益"), "初审中")
    first_ok = Step(BIANBAN, APPROVE, "复审中")
    old = walk(start(BADGE, hospital), [submit, first_ok])

    deploy(engine, countersigned_second_review(shipped(BADGE_FILE)), BADGE_FILE)

    new = walk(start(BADGE, hospital), [submit, first_ok])
    assert offices(new) == [("second_review", "CONAC")] * 2
    sign(new, CONAC, APPROVE)
    with pytest.raises(RefusedError, match="须由不同人员分别办理"):
        sign(new, CONAC, APPROVE)
    assert new.stage == "复审中"
    reason = "机构职能与登记证书不一致"
    sign(new, CONAC2, reject(reason))
    assert (new.stage, rejection_reason(new.data())) == ("审核不通过", reason)
    assert subjects(new) == ["网站标识申请已通过初审", "网站标识申请复审未通过"]
    assert f"不通过原因：{reason}。" in new.outbox()[-1].body
    assert decisions(new, "second_review") == [(CONAC.name, "approve", None), (CONAC2.name, "reject", reason)]
    walk(new, [submit, first_ok])
    sign(new, CONAC2, APPROVE)  # a new round: each may sign once again
    sign(new, CONAC, APPROVE)
    assert (new.stage, new.tasks) == ("标识已发放", [])
    assert "second_opinions" not in new.data()
    assert badge_of(new).colour == "blue"

    assert offices(old) == [("second_review", "CONAC")]
    walk(old, [Step(CONAC, APPROVE, "标识已发放")])
    assert old.instance.definition.version == 1
    assert python_sources() == code
