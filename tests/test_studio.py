"""The policy studio (blueprint `studio`, role 政策): drafts, checks, deploys, roll-backs, comparisons.

Runs on a diagram of its own (tests/diagrams/studio.bpmn with tests/forms/ and a print template
written here), through the test client as the demo account `policy`.

1. Policy staff land on the studio; every studio route refuses other roles.
2. A draft is kept per procedure and author, and the editor reopens it.
3. The check names each problem's element in Chinese: invalid XML, a DOCTYPE, an unknown operator.
4. A deploy needs a comment, makes the next version, is audited, and running applications stay on
   their version; a stale base version or a hostile diagram stores nothing, the draft is kept.
5. Two deploys at once (PostgreSQL): exactly one new version.
6. Roll back deploys an old bundle as a new version "回滚到 vN".
7. Compare lists an added element, changed properties, conditions, form fields and print templates.
8. Previews render forms with the wizard's renderer, print templates and notification texts.
9. 试跑 replays recorded applications on the edited bundle: the report lists the ones that would stop or
   lack new required data; a wrong N or a broken diagram is refused; nothing but an audit row is written.
10. Migration: the running applications of older versions are listed, a dry run says per application
    whether it can move and why not, a migration moves the movable ones (audited) and can be undone.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.engine import Engine
from app.engine.bundles import Bundle
from app.extensions import db
from app.models import AuditEvent, InstanceMigration, ProcedureDraft, WorkflowDefinition
from app.services import compare, studio
from app.services.audit import Actor
from tests.conftest import APPROVE, BIANBAN, DIAGRAMS, TESTS_ROOT, UNIT, Application, reject
from tests.replayed import ENTRY
from tests.test_preview import table_counts
from tests.test_runner import in_threads

PID = "studio_test"
DIAGRAM = (DIAGRAMS / "studio.bpmn").read_text(encoding="utf-8")
NOTICE = (
    "---\ntitle: 测试通知书\ncopies: {{ procedure.paperCopies }}\n---\n# 测试通知书\n\n{{ unit.name }}：已收到申请。\n"
)
FILES = {
    "forms/entry.schema.json": (TESTS_ROOT / "forms" / "entry.schema.json").read_text(encoding="utf-8"),
    "forms/decision.schema.json": (TESTS_ROOT / "forms" / "decision.schema.json").read_text(encoding="utf-8"),
    "documents/notice.md": NOTICE,
}
POLICY = Actor("policy", "政策")


@pytest.fixture
def procedure(engine: Engine) -> WorkflowDefinition:
    """Version 1 of the test procedure, deployed with its forms and print template."""
    row, _ = engine.definitions.deploy(db.session, Bundle("studio.bpmn", DIAGRAM.encode(), FILES), "setup", "初版")
    db.session.commit()
    return row


def submission(xml: str = DIAGRAM, **changed: str | None) -> dict[str, Any]:
    files = {**FILES, **{k: v for k, v in changed.items() if v is not None}}
    return {"xml": xml, "files": files, "base_version": 1}


def version_row(number: int) -> WorkflowDefinition:
    db.session.expire_all()
    query = select(WorkflowDefinition).where(WorkflowDefinition.process_id == PID, WorkflowDefinition.version == number)
    return db.session.scalars(query).one()


def versions_of() -> list[int]:
    db.session.expire_all()
    query = select(WorkflowDefinition.version).where(WorkflowDefinition.process_id == PID)
    return sorted(db.session.scalars(query))


# ---- access -----------------------------------------------------------------------------------


def test_policy_staff_land_on_the_studio(login: Any, procedure: WorkflowDefinition) -> None:
    client = login("policy")
    assert client.get("/home").headers["Location"].endswith("/studio/")
    page = client.get("/studio/").get_data(as_text=True)
    assert "流程管理" in page and "流程管理测试" in page and "studio_test" in page and "v1" in page


def test_every_studio_route_refuses_other_roles(app: Flask, login: Any, procedure: WorkflowDefinition) -> None:
    """Walks the blueprint's url_map, so routes added later are covered too."""
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("studio.")]
    assert len(rules) >= 15

    def call(client: Any, rule: Any) -> int:
        path = rule.rule.replace("<process_id>", PID).replace("<int:number>", "1")
        if "POST" in rule.methods:
            return client.post(path, json=submission()).status_code
        return client.get(path).status_code

    for username in ("unit1", "bianban", "conac", "admin"):
        client = login(username)
        assert {r.rule: call(client, r) for r in rules} == {r.rule: 403 for r in rules}, username
    client.post("/logout")
    assert {r.rule: call(client, r) for r in rules} == {r.rule: 302 for r in rules}
    assert versions_of() == [1] and db.session.scalar(select(func.count(ProcedureDraft.id))) == 0


# ---- drafts -----------------------------------------------------------------------------------


def test_a_draft_is_kept_and_reopened(login: Any, procedure: WorkflowDefinition) -> None:
    client = login("policy")
    edited = DIAGRAM.replace('name="填报"', 'name="填报申请"')
    new_form = '{"type": "object", "properties": {}}'
    response = client.post(f"/studio/{PID}/draft", json=submission(edited, **{"forms/extra.schema.json": new_form}))
    assert response.status_code == 200 and response.json["base_version"] == 1

    opened = client.get(f"/studio/{PID}/draft.json").json
    assert opened["from_draft"] and 'name="填报申请"' in opened["xml"]
    assert opened["files"]["forms/extra.schema.json"] == new_form and opened["base_version"] == 1
    assert "有草稿" in client.get("/studio/").get_data(as_text=True)
    assert "放弃草稿" in client.get(f"/studio/{PID}/edit").get_data(as_text=True)

    client.post(f"/studio/{PID}/draft/discard")
    opened = client.get(f"/studio/{PID}/draft.json").json
    assert not opened["from_draft"] and 'name="填报"' in opened["xml"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"../secret.txt": "x"}, "文件名 ../secret.txt 不合法"),
        ({"forms/a.schema.json": 1}, "文件须为文字"),
    ],
)
def test_a_draft_with_bad_files_is_refused(
    login: Any, procedure: WorkflowDefinition, files: dict[str, Any], message: str
) -> None:
    client = login("policy")
    response = client.post(f"/studio/{PID}/draft", json={"xml": DIAGRAM, "files": files, "base_version": 1})
    assert response.status_code == 400 and message in response.json["message"]
    assert db.session.scalar(select(func.count(ProcedureDraft.id))) == 0


# ---- checks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xml", "element", "message"),
    [
        (DIAGRAM[:400], "definitions", "XML 格式错误"),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "e">]>\n' + DIAGRAM.split("?>", 1)[1],
            "definitions",
            "不允许 DOCTYPE",
        ),
        (DIAGRAM.replace('id="notify.send"', 'id="notify.fax"'), "notify", "未注册的服务操作 notify.fax"),
        (DIAGRAM.replace('"studio_test"', '"other_process"'), "other_process", "流程标识（id）须保持为 studio_test"),
    ],
)
def test_the_check_names_each_problem_in_chinese(
    login: Any, procedure: WorkflowDefinition, xml: str, element: str, message: str
) -> None:
    client = login("policy")
    answer = client.post(f"/studio/{PID}/check", json=submission(xml)).json
    assert answer["ok"] is False
    assert any(p["element"] == element and message in p["message"] for p in answer["problems"]), answer
    assert versions_of() == [1]


def test_an_unknown_name_in_a_condition_is_named(login: Any, procedure: WorkflowDefinition) -> None:
    xml = DIAGRAM.replace('decision == "reject"', 'decision == "reject" and colour == "red"')
    answer = login("policy").post(f"/studio/{PID}/check", json=submission(xml)).json
    assert not answer["ok"] and any("colour" in p["message"] for p in answer["problems"]), answer


def test_a_large_diagram_fits_the_editors_requests(login: Any, procedure: WorkflowDefinition) -> None:
    """The app refuses bodies over 256 KB; the routes that receive a whole procedure take a diagram's size."""
    big = DIAGRAM.replace("流程管理测试用的流程", "长" * 150_000)
    assert len(big.encode()) > 256 * 1024
    assert login("policy").post(f"/studio/{PID}/draft", json=submission(big)).status_code == 200


def test_a_sound_diagram_passes_the_check(login: Any, procedure: WorkflowDefinition) -> None:
    answer = login("policy").post(f"/studio/{PID}/check", json=submission()).json
    assert answer == {"ok": True, "problems": []}


# ---- deploy -------------------------------------------------------------------------------------


def test_a_deploy_makes_a_version_audits_it_and_running_applications_keep_theirs(
    login: Any, procedure: WorkflowDefinition, make_unit: Any, start: Any
) -> None:
    running = start(PID, make_unit())
    client = login("policy")
    edited = DIAGRAM.replace('name="填报"', 'name="填报申请"')
    body = {**submission(edited), "comment": "任务改名为“填报申请”"}

    response = client.post(f"/studio/{PID}/deploy", json=body)
    assert response.status_code == 200, response.json
    assert response.json["version"] == 2 and response.json["created"] and "已部署为 v2" in response.json["message"]
    row = version_row(2)
    assert (row.comment, row.deployed_by) == ("任务改名为“填报申请”", "policy")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "deploy"))
    assert (event.actor, event.role) == ("policy", "政策")
    assert event.detail == {"process": PID, "version": 2, "comment": "任务改名为“填报申请”"}
    assert db.session.scalar(select(func.count(ProcedureDraft.id))) == 0  # the deployed draft is gone

    assert running.instance.definition.version == 1 and running.task().title == "填报"
    assert start(PID, make_unit()).task().title == "填报申请"
    page = client.get(f"/studio/{PID}/").get_data(as_text=True)
    assert "任务改名为“填报申请”" in page and "1 / 1" in page


def test_a_deploy_without_a_comment_is_refused(login: Any, procedure: WorkflowDefinition) -> None:
    response = login("policy").post(f"/studio/{PID}/deploy", json={**submission(), "comment": "  "})
    assert response.status_code == 400 and response.json["message"] == "请填写部署说明：改了什么、为什么改"
    assert versions_of() == [1]


def test_a_stale_base_version_is_refused_and_the_draft_kept(login: Any, procedure: WorkflowDefinition) -> None:
    client = login("policy")
    newer = DIAGRAM.replace('value="审核中"', 'value="初审中"')
    assert client.post(f"/studio/{PID}/deploy", json={**submission(newer), "comment": "阶段改名"}).status_code == 200

    mine = DIAGRAM.replace('name="填报"', 'name="填报申请"')
    response = client.post(f"/studio/{PID}/deploy", json={**submission(mine), "comment": "任务改名"})
    assert response.status_code == 400
    assert "已有人部署了新版本 v2" in response.json["problems"][0]["message"]
    assert versions_of() == [1, 2]
    opened = client.get(f"/studio/{PID}/draft.json").json
    assert opened["from_draft"] and 'name="填报申请"' in opened["xml"] and opened["base_version"] == 1
    assert "您的草稿基于 v1" in client.get(f"/studio/{PID}/edit").get_data(as_text=True)


def test_a_hostile_diagram_is_refused_and_nothing_is_stored(login: Any, procedure: WorkflowDefinition) -> None:
    hostile = '<?xml version="1.0"?>\n<!DOCTYPE lol [<!ENTITY lol "lol">]>\n<x>&lol;</x>'
    response = login("policy").post(f"/studio/{PID}/deploy", json={**submission(hostile), "comment": "试试"})
    assert response.status_code == 400 and "不允许 DOCTYPE" in response.json["problems"][0]["message"]
    assert versions_of() == [1]
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "deploy")) == 0


def test_two_deploys_at_once_store_exactly_one_version(app: Flask, backend: str, procedure: WorkflowDefinition) -> None:
    if backend != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL")
    edits = [DIAGRAM.replace('value="审核中"', f'value="审核中{i}"') for i in range(2)]

    def deploy(xml: str, author: str) -> int:
        done = studio.deploy(db.session, PID, studio.Submission(xml, dict(FILES)), "同时部署", 1, Actor(author, "政策"))
        db.session.commit()
        return done.row.version

    results = in_threads(app, [lambda x=x, i=i: deploy(x, f"policy{i}") for i, x in enumerate(edits)])
    assert sorted(r for r in results if isinstance(r, int)) == [2], results
    assert versions_of() == [1, 2]
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "deploy")) == 1


# ---- roll back --------------------------------------------------------------------------------------


def test_rollback_deploys_an_old_version_as_the_newest(
    login: Any, procedure: WorkflowDefinition, make_unit: Any, start: Any
) -> None:
    client = login("policy")
    changed = DIAGRAM.replace('name="填报"', 'name="填报申请"')
    client.post(f"/studio/{PID}/deploy", json={**submission(changed), "comment": "改名"})
    on_v2 = start(PID, make_unit())

    response = client.post(f"/studio/{PID}/v1/rollback", follow_redirects=True)
    assert "已回滚：v1 的内容已部署为新版本 v3" in response.get_data(as_text=True)
    v1, v3 = version_row(1), version_row(3)
    assert (v3.sha256, v3.comment, v3.deployed_by) == (v1.sha256, "回滚到 v1", "policy")
    deploys = select(AuditEvent).where(AuditEvent.action == "deploy").order_by(AuditEvent.id)
    event = db.session.scalars(deploys).all()[-1]
    assert event.detail == {"process": PID, "version": 3, "comment": "回滚到 v1", "rollback_of": 1}
    assert start(PID, make_unit()).task().title == "填报"
    assert on_v2.instance.definition.version == 2 and on_v2.task().title == "填报申请"
    again = client.post(f"/studio/{PID}/v3/rollback", follow_redirects=True)
    assert "v3 已是最新版本" in again.get_data(as_text=True)


# ---- compare ------------------------------------------------------------------------------------------


def edited_version() -> str:
    """Version 2: a script task added, a property, a condition, a form field and the print template changed."""
    xml = (
        DIAGRAM.replace('value="审核中"', 'value="初审中"')
        .replace('decision == "reject"', 'decision == "reject" and unit_type == "党政机关"')
        .replace(
            '<bpmn:sequenceFlow id="f_fill" sourceRef="fill" targetRef="review"/>',
            '<bpmn:sequenceFlow id="f_fill" sourceRef="fill" targetRef="count"/>'
            '<bpmn:sequenceFlow id="f_count" sourceRef="count" targetRef="review"/>',
        )
        .replace(
            '<bpmn:userTask id="review"',
            '<bpmn:scriptTask id="count" name="计数"><bpmn:incoming>f_fill</bpmn:incoming>'
            "<bpmn:outgoing>f_count</bpmn:outgoing><bpmn:script>rounds = 1</bpmn:script></bpmn:scriptTask>"
            '<bpmn:userTask id="review"',
        )
        .replace(
            "</bpmndi:BPMNPlane>",
            '<bpmndi:BPMNShape id="count_di" bpmnElement="count"><dc:Bounds x="560" y="420" width="100" height="30"/>'
            '</bpmndi:BPMNShape><bpmndi:BPMNEdge id="f_count_di" bpmnElement="f_count"><di:waypoint x="560" y="430"/>'
            '<di:waypoint x="360" y="380"/></bpmndi:BPMNEdge></bpmndi:BPMNPlane>',
        )
        .replace(
            "<bpmn:flowNodeRef>review</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>count</bpmn:flowNodeRef>",
        )
    )
    return xml


def test_compare_lists_what_changed(login: Any, procedure: WorkflowDefinition) -> None:
    client = login("policy")
    form = FILES["forms/entry.schema.json"].replace('"title": "联系人"', '"title": "经办人"')
    form = form.replace('"required": ["domain_name", "years"]', '"required": ["domain_name", "years", "department"]')
    form = form.replace(
        '"properties": {',
        '"properties": {\n    "department": {"type": "string", "title": "经办部门", "maxLength": 30},',
    )
    notice = NOTICE.replace("已收到申请", "已受理申请")
    body = {
        **submission(edited_version(), **{"forms/entry.schema.json": form, "documents/notice.md": notice}),
        "comment": "改版",
    }
    response = client.post(f"/studio/{PID}/deploy", json=body)
    assert response.status_code == 200, response.json

    old, new = version_row(1), version_row(2)
    result = compare.compare(old, new)
    changes = {e.element_id: (e.kind, {c.aspect: (c.before, c.after) for c in e.changes}) for e in result.elements}
    assert changes["count"][0] == "added" and changes["count"][1]["脚本"] == ("", "rounds = 1")
    assert changes["review"] == ("changed", {"属性 stage": ("审核中", "初审中")})
    assert changes["f_reject"][1]["条件"] == (
        'decision == "reject"',
        'decision == "reject" and unit_type == "党政机关"',
    )
    assert changes["f_fill"][1] == {"终点": ("review", "count")}
    files = {f.path: f for f in result.files}
    assert "字段 contact_name 的标题：联系人 → 经办人" in files["forms/entry.schema.json"].summary
    assert "新增字段 department（经办部门），必填" in files["forms/entry.schema.json"].summary
    assert "+{{ unit.name }}：已受理申请。" in files["documents/notice.md"].diff
    assert set(files) == {"forms/entry.schema.json", "documents/notice.md"}

    page = client.get(f"/studio/{PID}/compare?v=1&v=2").get_data(as_text=True)
    for text in (
        "比较 v1 → v2",
        "计数",
        "初审中",
        "unit_type",
        "经办部门",
        "已受理申请",
        '"added": ["count", "f_count"]',
    ):
        assert text in page, text
    refused = client.get(f"/studio/{PID}/compare?v=1", follow_redirects=True)
    assert "请选择两个不同的版本" in refused.get_data(as_text=True)


# ---- pages and previews ------------------------------------------------------------------------------


def test_versions_and_a_version_are_shown(login: Any, procedure: WorkflowDefinition) -> None:
    client = login("policy")
    page = client.get(f"/studio/{PID}/").get_data(as_text=True)
    assert "初版" in page and "setup" in page and "0 / 0" in page
    page = client.get(f"/studio/{PID}/v1").get_data(as_text=True)
    assert "forms/entry.schema.json" in page and "documents/notice.md" in page and "流程图（只读）" in page
    response = client.get(f"/studio/{PID}/v1.bpmn")
    assert response.mimetype == "application/xml" and 'id="studio_test"' in response.get_data(as_text=True)
    assert client.get(f"/studio/{PID}/v9").status_code == 404
    assert client.get("/studio/no_such_process/edit").status_code == 404


def test_the_form_preview_is_the_wizards_rendering(login: Any, procedure: WorkflowDefinition) -> None:
    client = login("policy")
    form = FILES["forms/entry.schema.json"]
    page = client.post("/studio/preview/form", json={"name": "entry.schema.json", "text": form}).get_data(as_text=True)
    assert 'name="domain_name"' in page and 'for="field-years"' in page and "required" in page
    response = client.post("/studio/preview/form", json={"name": "entry.schema.json", "text": '{"type": 5}'})
    assert response.status_code == 400 and "不是有效的 JSON Schema" in response.get_data(as_text=True)


def test_print_templates_and_notification_texts_preview_with_sample_data(
    login: Any, procedure: WorkflowDefinition
) -> None:
    client = login("policy")
    payload = {"path": "documents/notice.md", "text": NOTICE, "files": FILES, "procedure": {"paperCopies": "2"}}
    page = client.post("/studio/preview/document", json=payload).get_data(as_text=True)
    assert "测试通知书" in page and "一式两份" in page and "鄂尔多斯市人民政府办公室：已收到申请。" in page
    broken = client.post("/studio/preview/document", json={**payload, "text": "no front matter"})
    assert broken.status_code == 400 and "须以 --- 包围的属性块" in broken.get_data(as_text=True)

    text = "{{ domain_name }}（{{ unit_city }}）：{{ domain.name }}"
    answer = client.post("/studio/preview/text", json={"text": text, "files": FILES, "procedure": {}}).json
    assert answer == {"text": "（名称）（鄂尔多斯市）：〔domain〕", "missing": ["domain"]}
    wrong = client.post("/studio/preview/text", json={"text": "{% if %}", "files": FILES})
    assert wrong.status_code == 400 and "通知文字有误" in wrong.json["message"]


def test_reference_data_for_the_editor(login: Any, procedure: WorkflowDefinition) -> None:
    client = login("policy")
    operators = {op["name"]: op for op in client.get("/studio/operators.json").json}
    assert {p["name"] for p in operators["notify.send"]["params"]} == {"mobile", "email", "subject", "body"}
    context = client.get("/studio/context.json").json
    assert "unit_type" in context["names"] and "add_workdays" in context["helpers"] and "编办" in context["roles"]


# ---- 试跑 on past applications ------------------------------------------------------------------------

# Version 2 of the test procedure as the editor would send it: 填报's form asks for a new required field.
WITH_DEPARTMENT = FILES["forms/entry.schema.json"].replace(
    '"host_mode":', '"department": {"type": "string", "title": "经办部门", "maxLength": 30},\n    "host_mode":'
).replace('"required": ["domain_name", "years"]', '"required": ["domain_name", "years", "department"]')
# Version 2 without 审核: a 复核 of another id takes its place.
RECHECKED = (
    DIAGRAM.replace('<bpmn:userTask id="review" name="审核">', '<bpmn:userTask id="recheck" name="复核">')
    .replace('targetRef="review"', 'targetRef="recheck"')
    .replace('sourceRef="review"', 'sourceRef="recheck"')
    .replace("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>recheck</bpmn:flowNodeRef>")
    .replace('bpmnElement="review"', 'bpmnElement="recheck"')
)

# Version 2 without 审核: 填报 goes straight to the decision.
UNREVIEWED = re.sub(
    r'<bpmn:userTask id="review".*?</bpmn:userTask>\s*|<bpmn:sequenceFlow id="f_review"[^>]*/>\s*'
    r"|<bpmn:flowNodeRef>review</bpmn:flowNodeRef>\s*|<bpmndi:BPMNShape id=\"review_di\".*?</bpmndi:BPMNShape>\s*"
    r'|<bpmndi:BPMNEdge id="f_review_di".*?</bpmndi:BPMNEdge>\s*',
    "",
    DIAGRAM,
    flags=re.DOTALL,
).replace('targetRef="review"', 'targetRef="decision"').replace(
    "<bpmn:incoming>f_review</bpmn:incoming>", "<bpmn:incoming>f_fill</bpmn:incoming>"
).replace('decision == "reject"', 'domain_name == "不予通过"')


@pytest.fixture
def recorded(procedure: WorkflowDefinition, make_unit: Any, start: Any) -> dict[str, Application]:
    """Applications on version 1, driven through the runner so that the step log has them."""
    unit = make_unit(name="东胜区人民政府办公室")
    found = {
        "approved": start(PID, unit).complete(UNIT, ENTRY).complete(BIANBAN, APPROVE),
        "rejected": start(PID, unit).complete(UNIT, ENTRY).complete(BIANBAN, reject("名称不规范")),
        "at_review": start(PID, unit).complete(UNIT, ENTRY),
        "at_fill": start(PID, unit),
    }
    assert [a.stage for a in found.values()] == ["已通过", "未通过", "审核中", "填报中"]
    return found


def key_of(application: Application) -> str:
    return application.instance.business_key


def audit_count(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action)) or 0


def test_preview_lists_the_applications_an_edit_concerns_and_writes_only_an_audit_row(
    login: Any, recorded: dict[str, Application]
) -> None:
    client = login("policy")
    before = table_counts()
    edited = DIAGRAM.replace('name="填报"', 'name="填报申请"')
    body = {**submission(edited, **{"forms/entry.schema.json": WITH_DEPARTMENT}), "last": 100}

    response = client.post(f"/studio/{PID}/preview", json=body)
    assert response.status_code == 200, response.json
    answer = response.json
    assert answer["counts"] == {"same": 1, "different": 0, "stopped": 0, "missing_data": 3}
    html = answer["html"]
    for name in ("approved", "rejected", "at_review"):
        assert f'data-replay-key="{key_of(recorded[name])}"' in html
    assert "缺少新表单要求的数据：“填报申请”缺少经办部门" in html
    assert "路径不变的申请（1 件）" in html and key_of(recorded["at_fill"]) + "（v1）" in html
    assert "最近 4 件申请按修改后的流程重放完毕" in html and f"{answer['seconds']:.2f}" in html

    db.session.expire_all()
    after = table_counts()
    assert after.pop("audit_event")[0] == before.pop("audit_event")[0] + 1
    assert after == before  # no draft, no version, no application touched
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "preview"))
    assert (event.actor, event.role, event.instance_id) == ("policy", "政策", None)
    assert event.detail == {"process": PID, "n": 100, "seconds": answer["seconds"]}


def test_preview_names_applications_that_would_stop(login: Any, recorded: dict[str, Application]) -> None:
    """The rejected application's recorded review finds no task; the oldest is beyond the newest three."""
    answer = login("policy").post(f"/studio/{PID}/preview", json={**submission(RECHECKED), "last": 3}).json
    assert answer["counts"] == {"same": 2, "different": 0, "stopped": 1, "missing_data": 0}
    assert f'data-replay-key="{key_of(recorded["rejected"])}"' in answer["html"]
    assert "中途停止，第 3 步：“审核”在新版本中已删除" in answer["html"]
    assert key_of(recorded["approved"]) not in answer["html"]


@pytest.mark.parametrize("last", [0, 10_001, -5, "abc", "1e3", "²", 2.5, True, None])
def test_preview_refuses_a_count_out_of_range(login: Any, recorded: dict[str, Application], last: Any) -> None:
    response = login("policy").post(f"/studio/{PID}/preview", json={**submission(), "last": last})
    assert response.status_code == 400
    assert response.json == {"message": "试跑的申请份数须为 1 到 10000 之间的整数", "problems": []}
    assert audit_count("preview") == 0


def test_preview_of_a_broken_diagram_lists_its_problems(login: Any, recorded: dict[str, Application]) -> None:
    broken = DIAGRAM.replace('id="notify.send"', 'id="notify.fax"')
    response = login("policy").post(f"/studio/{PID}/preview", json={**submission(broken), "last": "10"})
    assert response.status_code == 400 and response.json["message"] == "未试跑：请先处理下列问题"
    assert any(p["element"] == "notify" and "notify.fax" in p["message"] for p in response.json["problems"])
    assert audit_count("preview") == 0


def test_preview_without_applications_says_so(login: Any, procedure: WorkflowDefinition) -> None:
    answer = login("policy").post(f"/studio/{PID}/preview", json={**submission(), "last": 1000}).json
    assert answer["counts"] == {"same": 0, "different": 0, "stopped": 0, "missing_data": 0}
    assert "本流程还没有申请" in answer["html"]


# ---- migrating running applications -------------------------------------------------------------------


def deploy_unreviewed(client: Any) -> None:
    response = client.post(f"/studio/{PID}/deploy", json={**submission(UNREVIEWED), "comment": "取消审核环节"})
    assert response.status_code == 200 and response.json["version"] == 2, response.json


def test_the_migration_page_lists_running_applications_of_older_versions(
    login: Any, recorded: dict[str, Application]
) -> None:
    client = login("policy")
    deploy_unreviewed(client)
    versions_page = client.get(f"/studio/{PID}/").get_data(as_text=True)
    assert f"/studio/{PID}/v2/migrate" in versions_page and f"/studio/{PID}/v1/migrate" not in versions_page
    assert "尚未迁移过在办申请" in versions_page

    page = client.get(f"/studio/{PID}/v2/migrate").get_data(as_text=True)
    assert "在 v2 之前的版本上办理中的申请（共 2 件）" in page
    for name in ("at_review", "at_fill"):
        assert f'value="{key_of(recorded[name])}"' in page
    assert key_of(recorded["approved"]) not in page and key_of(recorded["rejected"]) not in page
    assert "东胜区人民政府办公室" in page and "审核中" in page and "填报中" in page
    assert "无需迁移" in client.get(f"/studio/{PID}/v1/migrate").get_data(as_text=True)
    assert client.get(f"/studio/{PID}/v9/migrate").status_code == 404


def test_a_dry_run_says_per_application_whether_it_can_move(login: Any, recorded: dict[str, Application]) -> None:
    client = login("policy")
    deploy_unreviewed(client)
    keys = [key_of(recorded[name]) for name in ("at_fill", "at_review", "approved")]
    before = table_counts()

    page = client.post(f"/studio/{PID}/v2/migrate/dry-run", data={"key": keys}).get_data(as_text=True)
    assert "试算结果：可以迁移 1 件，不能迁移 2 件" in page
    rows = {k: page.split(f'data-verdict="{k}"', 1)[1].split("</tr>", 1)[0] for k in keys}
    assert "可以迁移" in rows[keys[0]] and f'name="key" value="{keys[0]}"' in rows[keys[0]]
    assert "不能迁移" in rows[keys[1]] and "待办环节“审核”在新版本中已删除" in rows[keys[1]]
    assert "申请已办结，无需迁移" in rows[keys[2]]
    db.session.expire_all()
    assert table_counts() == before

    refused = client.post(f"/studio/{PID}/v2/migrate/dry-run", data={}, follow_redirects=True)
    assert "请先勾选要迁移的申请" in refused.get_data(as_text=True)
    unknown = client.post(f"/studio/{PID}/v2/migrate/dry-run", data={"key": ["ST000"]}, follow_redirects=True)
    assert "没有找到申请 ST000" in unknown.get_data(as_text=True)
    too_many = client.post(f"/studio/{PID}/v2/migrate/dry-run", data={"key": [f"K{i}" for i in range(101)]},
                           follow_redirects=True)
    assert "一次最多选择 100 件申请" in too_many.get_data(as_text=True)


def test_a_migration_moves_the_movable_is_audited_and_can_be_undone(
    login: Any, recorded: dict[str, Application]
) -> None:
    client = login("policy")
    deploy_unreviewed(client)
    at_fill, at_review = recorded["at_fill"], recorded["at_review"]
    keys = [key_of(at_fill), key_of(at_review)]
    untouched = at_review.instance.state

    page = client.post(f"/studio/{PID}/v2/migrate/run", data={"key": keys}).get_data(as_text=True)
    assert "已迁移 1 件申请到 v2，1 件未迁移" in page
    assert "待办环节“审核”在新版本中已删除" in page
    assert at_fill.instance.definition.version == 2 and at_review.instance.definition.version == 1
    assert at_review.instance.state == untouched
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "migrate"))
    assert (event.actor, event.instance_id, event.detail["to_version"]) == ("policy", at_fill.instance_id, 2)
    assert audit_count("migrate") == 1

    versions_page = client.get(f"/studio/{PID}/").get_data(as_text=True)
    history = versions_page.split('id="migrations"', 1)[1]
    assert keys[0] in history and "v1 → v2" in history and "确认撤销" in versions_page

    undone = client.post(f"/studio/{PID}/migrations/undo", data={"business_key": keys[0]}, follow_redirects=True)
    text = undone.get_data(as_text=True)
    assert f"已撤销申请 {keys[0]} 的迁移：由 v2 恢复为 v1" in text and "已由 policy 于" in text
    assert at_fill.instance.definition.version == 1 and at_fill.task().title == "填报"
    assert audit_count("migrate_undo") == 1

    again = client.post(f"/studio/{PID}/migrations/undo", data={"business_key": keys[0]}, follow_redirects=True)
    assert f"申请 {keys[0]} 没有可撤销的迁移" in again.get_data(as_text=True)
    foreign = client.post(f"/studio/{PID}/migrations/undo", data={"business_key": "XX1"}, follow_redirects=True)
    assert "本流程没有申请 XX1" in foreign.get_data(as_text=True)
    assert audit_count("migrate_undo") == 1 and db.session.scalar(select(func.count(InstanceMigration.id))) == 1


def test_an_undo_after_the_application_moved_on_is_refused(login: Any, recorded: dict[str, Application]) -> None:
    client = login("policy")
    deploy_unreviewed(client)
    at_fill = recorded["at_fill"]
    client.post(f"/studio/{PID}/v2/migrate/run", data={"key": [key_of(at_fill)]})
    at_fill.complete(UNIT, ENTRY)
    assert at_fill.stage == "已通过"
    assert "不能撤销：申请此后已继续办理" in client.get(f"/studio/{PID}/").get_data(as_text=True)
    refused = client.post(f"/studio/{PID}/migrations/undo", data={"business_key": key_of(at_fill)},
                          follow_redirects=True)
    assert "在迁移后已继续办理，不能撤销迁移" in refused.get_data(as_text=True)
    assert at_fill.instance.definition.version == 2 and audit_count("migrate_undo") == 0
