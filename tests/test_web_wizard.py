"""The unit's wizard (/unit), as a unit uses it.

1. 办事指南: a unit sees the procedures of its own unit type only, each with its guide text from
   the diagram and a 立即申请 button. A rule of the diagram that refuses the start (e.g. no paid
   .政务 domain yet) is shown on the page in the diagram's words; nothing is created.
2. Starting leads to the unit's first task: the diagram's instructions above a form drawn from the
   task's JSON Schema. 保存草稿 keeps what was typed without checking it. 提交 checks it with the
   same schema: errors stand next to their fields in Chinese and what was typed stays as a draft.
   A valid submission moves the application on and the draft is gone.
3. 我的申请 lists the unit's applications with stage and what to do; the application page shows the
   diagram's stages as a step bar, what happens next in plain words, the submitted data read-only.
4. A rejection's reason (不通过原因) is shown above the revise form, which is pre-filled with what was
   submitted; the unit corrects and resubmits.
5. A form loaded before someone else changed the application is refused as stale, and nothing typed
   is lost.
6. 催办: only once a reviewer's deadline has passed, at most once a (Beijing) day per application.
7. A unit cannot open another unit's application or task: every route taking an id answers 404.

The wizard's mechanisms run on the tests' own procedure (tests/diagrams/two_reviews.bpmn with tests/forms/);
what a shipped procedure offers (its guide, who may start it, its start form and paper step) on that one.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from app.engine import Engine
from app.extensions import db
from app.models import AuditEvent, DnsRecord, Draft, OutboxMessage, ProcessInstance, WorkItem
from app.services.audit import Actor
from tests.conftest import APPROVE, DOMAIN_APPLICATION, TEST_APPLICATION, UNIT, Clock, add_domain, reject

BIANBAN = Actor("bianban", "编办", office_code="编办:150600")
CONAC = Actor("conac", "CONAC", office_code="CONAC")
REFUSAL = "需先注册并缴费 .政务 域名，且域名在有效期内，方可申请网站开办审核/资格复核"
REASON = "域名应使用单位经批准的规范简称"


# ---- helpers ---------------------------------------------------------------------------


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def the_application() -> ProcessInstance:
    db.session.expire_all()
    (instance,) = db.session.scalars(select(ProcessInstance))
    return instance


def open_item(instance: ProcessInstance) -> WorkItem:
    db.session.expire_all()
    (item,) = db.session.scalars(select(WorkItem).where(WorkItem.instance_id == instance.id))
    return item


def field_html(page: str, name: str) -> str:
    """The markup of one rendered form field, from its label or legend to the next field."""
    start = re.search(f'(for|id)="field-{name}"', page).start()  # type: ignore[union-attr]
    end = page.find('<div class="mb-3">', start)
    return page[start : end if end > 0 else None]


def start_registration(client: Any, process_id: str = "domain_registration") -> str:
    """立即申请; returns the URL of the task the unit lands on."""
    response = client.post(f"/unit/start/{process_id}")
    assert response.status_code == 302
    assert "已创建申请" in text(client.get(response.headers["Location"]))  # as the browser follows
    return response.headers["Location"]


def expected_version(page: str) -> str:
    return re.search(r'name="expected_version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]


def submit(client: Any, task_url: str, data: dict[str, Any], action: str = "submit", version: str = "") -> Any:
    page = text(client.get(task_url))
    form = {**data, "action": action, "expected_version": version or expected_version(page)}
    return client.post(task_url, data=form)


# ---- 办事指南 and starting ---------------------------------------------------------------


def test_a_unit_sees_the_guides_of_its_own_unit_type_only(login: Any) -> None:
    organ = text(login("unit1").get("/unit/"))  # 党政机关
    assert "党政机关网站开办审核/资格复核" in organ and "域名注册办事指南" in organ
    assert "事业单位和社会组织网站标识申请" not in organ
    assert organ.count("立即申请") >= 3

    institution = text(login("unit2").get("/unit/"))  # 事业单位
    assert "事业单位和社会组织网站标识申请" in institution
    assert "党政机关网站开办审核/资格复核" not in institution


def test_a_refusal_by_the_diagram_is_shown_on_the_guide_page_and_nothing_is_created(login: Any) -> None:
    client = login("unit1")  # a 党政机关 without any .政务 domain

    response = client.post("/unit/start/party_site_review", follow_redirects=True)

    assert response.request.path == "/unit/"
    assert REFUSAL in text(response)
    assert count(ProcessInstance) == 0


def test_a_procedure_of_another_unit_type_cannot_be_started(login: Any) -> None:
    assert login("unit1").post("/unit/start/institution_badge").status_code == 404
    assert count(ProcessInstance) == 0


# ---- the domain registration, from the first draft to the resubmission -------------------


def test_starting_leads_to_the_form_with_the_diagrams_instructions(login: Any, two_reviews: str) -> None:
    client = login("unit1")
    task_url = start_registration(client, two_reviews)

    page = text(client.get(task_url))

    assert "请填写测试申请" in page  # instructionsForEndUser of the first task
    assert '<label class="form-label required" for="field-domain_name">申请名称</label>' in page
    assert 'type="number" name="years"' in page and 'value="1"' in field_html(page, "years")
    assert "保存草稿" in page and "提交" in page
    assert the_application().stage == "填报中"


def test_a_draft_is_saved_without_checks_and_comes_back(login: Any, two_reviews: str) -> None:
    client = login("unit1")
    task_url = start_registration(client, two_reviews)

    response = submit(client, task_url, {"domain_name": "鄂尔多斯", "years": "3"}, action="save")

    assert response.status_code == 302 and response.headers["Location"].endswith(task_url)
    page = text(client.get(task_url))
    assert 'value="鄂尔多斯"' in field_html(page, "domain_name")
    assert 'value="3"' in field_html(page, "years")
    assert "保存的草稿" in page
    assert the_application().stage == "填报中"


def test_an_invalid_submission_shows_errors_next_to_the_fields_and_keeps_the_draft(login: Any) -> None:
    client = login("unit1")
    task_url = start_registration(client)
    typed = {**DOMAIN_APPLICATION, "contact_mobile": "12345", "host_mode": "ip"}  # and no server IP

    response = submit(client, task_url, typed)

    assert response.status_code == 400
    page = text(response)
    mobile = field_html(page, "contact_mobile")
    assert "is-invalid" in mobile and "请输入11位手机号码" in mobile and 'value="12345"' in mobile
    host_ip = field_html(page, "host_ip")
    assert "required" in host_ip and "请填写网站服务器IP" in host_ip  # required once 服务器IP is chosen
    assert "您填写的内容已保存为草稿" in page and 'href="#field-contact_mobile"' in page  # summary on top
    (draft,) = db.session.scalars(select(Draft))
    assert draft.data["contact_mobile"] == "12345"
    assert 'value="12345"' in field_html(text(client.get(task_url)), "contact_mobile")
    assert the_application().stage == "填写申请"


def test_a_unit_applies_is_rejected_revises_and_resubmits(login: Any, engine: Engine, two_reviews: str) -> None:
    client = login("unit1")
    task_url = start_registration(client, two_reviews)

    response = submit(client, task_url, TEST_APPLICATION)

    # Submitted: the application waits for the 编办, the draft is gone.
    application = the_application()
    assert response.headers["Location"].endswith(f"/unit/applications/{application.business_key}")
    assert (application.stage, count(Draft)) == ("待审核", 0)
    listing = text(client.get("/unit/applications"))
    assert application.business_key in listing and "待审核" in listing and "暂无需您办理" in listing
    page = text(client.get(f"/unit/applications/{application.business_key}"))
    assert '<li class="done">填报中' in page
    assert '<li class="current" aria-current="step">待审核' in page
    assert "编办审核测试申请" in page  # what happens now: the diagram's documentation
    assert "测试单位.政务" in page and "不选方式" in page  # data, titled

    # The 编办 rejects: the unit sees why, on the list, the application page and the revise form.
    engine.runner.complete(open_item(application).task_id, BIANBAN, reject(REASON))
    listing = text(client.get("/unit/applications"))
    assert "审核不通过" in listing and "按意见修改" in listing
    page = text(client.get(f"/unit/applications/{application.business_key}"))
    assert "不通过原因" in page and REASON in page
    revise_url = f"/unit/tasks/{open_item(application).id}"
    form = text(client.get(revise_url))
    assert form.index("不通过原因") < form.index(f'action="{revise_url}"') and REASON in form
    assert 'value="测试单位.政务"' in field_html(form, "domain_name")  # pre-filled as submitted

    submit(client, revise_url, {**TEST_APPLICATION, "domain_name": "鄂尔多斯市政府.政务"})

    application = the_application()
    assert application.stage == "待审核"
    assert engine.reader.data(application.id)["domain_name"] == "鄂尔多斯市政府.政务"
    page = text(client.get(f"/unit/applications/{application.business_key}"))
    assert 'id="rejection-reason"' not in page and f"意见/原因：{REASON}" in page  # now history only


def where_it_stands(page: str, key: str) -> tuple[str, list[tuple[str, str]]]:
    """Beside the diagram (partials/diagram.html): the step open now, and each stage with its state in words."""
    block = page[page.index(f'id="diagram-{key}-overview"') : page.index("data-bpmn-diagram")]
    current = re.search(rf'id="diagram-{key}-current">(.*?)</p>', block, re.S).group(1)  # type: ignore[union-attr]
    stages = re.findall(r'<span class="stage-name">(.*?)</span>\s*<span class="stage-state">(.*?)</span>', block)
    return current.strip(), stages


def test_beside_the_diagram_the_step_and_the_stages_are_told_in_words(
    login: Any, engine: Engine, two_reviews: str
) -> None:
    client = login("unit1")
    submit(client, start_registration(client, two_reviews), TEST_APPLICATION)
    application = the_application()
    key = application.business_key
    expected = [
        ("填报中", "已完成"),
        ("待审核", "当前"),
        ("复审中", "下一阶段"),
        *[(stage, "未开始") for stage in ("待缴费", "待认款", "处理中", "已办结")],
    ]

    assert where_it_stands(text(client.get(f"/unit/applications/{key}")), key) == ("初审", expected)
    reviewer_page = text(login("bianban").get(f"/review/tasks/{open_item(application).id}"))
    assert where_it_stands(reviewer_page, key) == ("初审", expected)

    engine.runner.complete(open_item(application).task_id, BIANBAN, APPROVE)
    current, stages = where_it_stands(text(login("unit1").get(f"/unit/applications/{key}")), key)
    assert current == "复审"
    assert stages[:3] == [("填报中", "已完成"), ("待审核", "已完成"), ("复审中", "当前")]
    assert stages[3] == ("待缴费", "下一阶段")


def test_a_stale_form_is_refused_and_nothing_typed_is_lost(login: Any, two_reviews: str) -> None:
    client = login("unit1")
    task_url = start_registration(client, two_reviews)
    version = expected_version(text(client.get(task_url)))
    application = the_application()
    db.session.execute(  # someone else changes the application after the form was loaded
        update(ProcessInstance).where(ProcessInstance.id == application.id).values(version=int(version) + 1)
    )
    db.session.commit()

    response = submit(client, task_url, TEST_APPLICATION, version=version)

    assert response.headers["Location"].endswith(f"/unit/applications/{application.business_key}")
    assert "申请已被他人更新，请刷新后重试" in text(client.get(response.headers["Location"]))
    assert the_application().stage == "填报中"
    assert 'value="测试单位.政务"' in field_html(text(client.get(task_url)), "domain_name")


def test_my_applications_are_listed_a_page_at_a_time(
    app: Flask, login: Any, monkeypatch: pytest.MonkeyPatch, two_reviews: str
) -> None:
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    client = login("unit1")
    keys = []
    for _ in range(3):
        start_registration(client, two_reviews)
        keys.append(db.session.scalar(select(ProcessInstance.business_key).order_by(ProcessInstance.id.desc())))

    first, second = text(client.get("/unit/applications")), text(client.get("/unit/applications?page=2"))

    assert sum(key in first for key in keys) == 2 and sum(key in second for key in keys) == 1
    assert "填写申请表" in first and 'aria-label="分页"' in first


def test_a_procedure_with_a_start_form_asks_for_its_data_first(login: Any, demo: dict[str, Any]) -> None:
    add_domain(demo["unit1"].unit, "鄂尔多斯市人民政府.政务")
    client = login("unit1")
    assert 'href="/unit/start/domain_renewal"' in text(client.get("/unit/"))
    page = text(client.get("/unit/start/domain_renewal"))
    assert "续费域名" in page and "鄂尔多斯市人民政府.政务（到期日 2027-01-05，正常）" in page

    refused = client.post("/unit/start/domain_renewal", data={"years": "11"})

    assert refused.status_code == 400
    assert "请填写续费域名" in text(refused) and "续费年限不能大于 10" in text(refused)
    assert count(ProcessInstance) == 0
    started = client.post("/unit/start/domain_renewal", data={"domains": "鄂尔多斯市人民政府.政务", "years": "2"})
    application = the_application()
    assert started.headers["Location"].endswith(f"/unit/applications/{application.business_key}")
    assert application.stage == "待缴费"


def test_a_submission_is_withdrawn_until_a_reviewer_claims_it(login: Any, two_reviews: str) -> None:
    client = login("unit1")
    submit(client, start_registration(client, two_reviews), TEST_APPLICATION)
    application = the_application()
    page_url = f"/unit/applications/{application.business_key}"
    page = text(client.get(page_url))
    assert "撤回申请" in page and 'data-confirm="确定撤回本申请吗' in page  # confirm.js asks before it goes

    response = client.post(f"{page_url}/withdraw")

    assert the_application().stage == "已撤回"
    assert response.headers["Location"].endswith(f"/unit/tasks/{open_item(application).id}")
    submit(client, response.headers["Location"], TEST_APPLICATION)
    db.session.execute(update(WorkItem).values(assignee="bianban"))
    db.session.commit()
    assert "撤回申请" not in text(client.get(page_url))
    assert "已签收，不能撤回" in text(client.post(f"{page_url}/withdraw", follow_redirects=True))
    assert the_application().stage == "待审核"


def test_each_audience_reads_the_timeline_in_the_words_of_its_own_work(login: Any, two_reviews: str) -> None:
    client = login("unit1")
    submit(client, start_registration(client, two_reviews), TEST_APPLICATION)
    application = the_application()
    page_url = f"/unit/applications/{application.business_key}"
    resubmit_url = client.post(f"{page_url}/withdraw").headers["Location"]
    submit(client, resubmit_url, TEST_APPLICATION)
    reviewer = login("bianban")
    item = open_item(application)
    assert reviewer.post(f"/review/tasks/{item.id}/claim").status_code == 302
    reviewers_view = text(reviewer.get(f"/review/tasks/{item.id}"))

    units_view = text(login("unit1").get(page_url))

    timeline = units_view[units_view.index("办理记录") :]
    assert "撤回" in timeline and "收到消息" not in timeline  # the message by its name
    assert "签收" not in timeline and "bianban" not in timeline  # reviewers' own steps and names stay theirs
    assert "签收" in reviewers_view and "bianban（编办）" in reviewers_view


# ---- the paper step ---------------------------------------------------------------------


def test_at_the_paper_step_the_unit_sees_审核通过_what_to_bring_and_where_then_待提交纸质材料(
    app: Flask, engine: Engine, login: Any, demo: dict[str, Any]
) -> None:
    name = "鄂尔多斯市人民政府.政务"
    add_domain(demo["unit1"].unit, name)
    client = login("unit1")
    task_url = start_registration(client, "party_site_review")
    form = text(client.get(task_url))
    assert f'value="{name}"' in field_html(form, "domains") and "有效期至 2027-01-05" in form
    site = {
        "application_type": "new",
        "badge_location": "red_page",
        "site_name": "鄂尔多斯市人民政府",
        "domains": [name],
        "site_intro": "本网站由鄂尔多斯市人民政府主办，旨在介绍我单位职能、职责、人员编制。",
        "contact_name": "张经办",
        "contact_mobile": "13800138000",
        "contact_email": "zhang@example.cn",
    }
    submit(client, task_url, site)
    application = the_application()
    for actor in (BIANBAN, CONAC):
        engine.runner.complete(open_item(application).task_id, actor, APPROVE)
    page_url = f"/unit/applications/{application.business_key}"

    page = text(client.get(page_url))

    assert the_application().stage == "审核通过"
    assert "需要您办理：报送纸质材料" in page
    materials = page[page.index('id="paper-materials"') :]
    for expected in (
        "《关于申请对网站开办审核和资格复核的函》，一式三份，加盖单位公章",
        "《党政机关网站开办审核和资格复核申请表》，一式三份，加盖单位公章",
        "经办人身份证复印件一份，加盖单位公章",
        "报送机构：鄂尔多斯市委编办",
    ):
        assert expected in re.sub(r"<[^>]+>", "", materials)
    documents = "applications.document" in app.view_functions
    for document in ("letter", "form"):
        assert (f"/applications/{application.business_key}/documents/{document}.pdf" in materials) is documents

    paper_step = text(client.get(f"/unit/tasks/{open_item(application).id}"))
    assert "1. 《关于申请对网站开办审核和资格复核的函》一式三份，加盖单位公章；" in paper_step
    assert "3. 经办人身份证复印件一份，加盖单位公章。" in paper_step
    assert "报送机构：鄂尔多斯市委编办" in paper_step
    assert ("打印申请函" in paper_step) is documents

    submit(client, f"/unit/tasks/{open_item(application).id}", {"paper_delivery": "post", "paper_note": "EMS 1077"})

    assert the_application().stage == "待提交纸质材料"
    assert open_item(the_application()).task_name == "confirm_paper"
    page = text(client.get(page_url))
    assert "报送机构：鄂尔多斯市委编办" in page and "EMS 1077" in page


# ---- 催办 -------------------------------------------------------------------------------


def test_a_reminder_is_possible_once_the_review_is_overdue_and_once_a_day(
    login: Any, clock: Clock, demo: dict[str, Any], start: Any, two_reviews: str
) -> None:
    clock.set("2026-09-28 10:00")  # 5 working days for the 编办: due at the end of Saturday 2026-10-10
    application = start(two_reviews, demo["unit1"].unit).complete(UNIT, TEST_APPLICATION)
    client = login("unit1")
    url = f"/unit/applications/{application.instance.business_key}/remind"

    def remind() -> str:
        return text(client.post(url, follow_redirects=True))

    assert "审核尚未超期，暂不能催办" in remind()
    clock.set("2026-10-12 09:00")
    page = remind()
    assert "已催办" in page
    (message,) = application.outbox()
    assert (message.channel, message.recipient, message.subject) == ("office", "编办:150600", "催办")
    assert application.instance.business_key in message.body
    reviewer_inbox = login("bianban").get("/review/").get_data(as_text=True)
    assert "提醒" in reviewer_inbox and message.body in reviewer_inbox  # the office sees it on its 待办 page
    client = login("unit1")
    assert "今天已催办过，请明天再试" in remind()
    clock.set("2026-10-12 23:59")
    assert "今天已催办过，请明天再试" in remind()
    clock.set("2026-10-13 00:01")  # a new day in Beijing
    assert "已催办" in remind()
    assert len(application.outbox()) == 2
    reminders = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "remind")).all()
    assert [(e.actor, e.instance_id) for e in reminders] == [("unit1", application.instance_id)] * 2


def test_no_reminder_while_the_unit_itself_has_to_act(
    login: Any, demo: dict[str, Any], start: Any, two_reviews: str
) -> None:
    application = start(two_reviews, demo["unit1"].unit)
    response = login("unit1").post(f"/unit/applications/{application.instance.business_key}/remind")
    assert response.status_code == 302
    assert count(OutboxMessage) == 0


# ---- another unit's applications ----------------------------------------------------------


def test_every_route_taking_an_id_answers_404_for_another_units_application(
    app: Flask, login: Any, demo: dict[str, Any], start: Any, two_reviews: str
) -> None:
    """Walks the wizard's url_map: a route added later with an id is covered automatically."""
    theirs = start(two_reviews, demo["unit2"].unit)  # a 事业单位 in the same region
    their_domain = add_domain(demo["unit2"].unit, "鄂尔多斯市第一人民医院.公益")
    their_record = DnsRecord(domain_id=their_domain.id, host="@", record_type="A", value="202.96.1.10", created_by="x")
    db.session.add(their_record)
    db.session.commit()
    foreign = {
        "item_id": theirs.task().id,
        "business_key": theirs.instance.business_key,
        "process_id": "institution_badge",  # a procedure for 事业单位, not for a 党政机关
        "domain_id": their_domain.id,
        "record_id": their_record.id,
        "contact_id": demo["unit2"].unit.contacts[0].id,
    }
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("wizard.") and r.arguments]
    assert {a for r in rules for a in r.arguments} <= set(foreign), "a new id argument needs a foreign value"
    client = login("unit1")
    checked = []
    for rule in rules:
        url = rule.build({name: foreign[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"action": "save", "years": "9"})
            assert response.status_code == 404, (method, rule.rule)
            checked.append(rule.endpoint)
    assert {"wizard.show_task", "wizard.submit_task", "wizard.show_application", "wizard.remind"} <= set(checked)
    assert count(ProcessInstance) == 1 and count(Draft) == 0 and count(OutboxMessage) == 0
    assert theirs.stage == "填报中"
    db.session.refresh(their_record)
    assert their_record.status == "pending" and len(demo["unit2"].unit.contacts) == 1


def test_the_first_form_is_pre_filled_from_the_registration(login: Any, demo: dict[str, Any]) -> None:
    client = login("unit1")
    client.post("/unit/start/domain_registration")
    item = db.session.scalars(select(WorkItem).where(WorkItem.role == "单位")).one()
    page = client.get(f"/unit/tasks/{item.id}").get_data(as_text=True)
    assert 'value="张经办"' in page and 'value="13800138000"' in page and 'value="zhang@example.cn"' in page
