"""Deploying diagrams: versions by content hash, and every refusal names the element and the reason.

A refused deploy changes nothing. A diagram that could run arbitrary code, read files or pull
in external entities never deploys. The refusals are shown on the tests' own diagrams
(tests/diagrams/two_reviews.bpmn, scripted.bpmn), so a policy edit of a shipped diagram leaves them alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.engine import Engine
from app.engine.errors import DeployError
from app.extensions import db
from app.models import WorkflowDefinition
from tests.conftest import DIAGRAMS, TESTS_ROOT, TWO_REVIEWS, deploy_xml

REVIEWS = (DIAGRAMS / "two_reviews.bpmn").read_text(encoding="utf-8")
SCRIPTED = (DIAGRAMS / "scripted.bpmn").read_text(encoding="utf-8")


def deploy(engine: Engine, xml: str, name: str = "two_reviews.bpmn") -> tuple[WorkflowDefinition, bool]:
    return deploy_xml(engine, xml, name, TESTS_ROOT, by="policy-officer")


def refusal(engine: Engine, xml: str) -> list[tuple[str, str]]:
    before = db.session.scalar(select(func.count()).select_from(WorkflowDefinition))
    with pytest.raises(DeployError) as caught:
        deploy(engine, xml, "scripted.bpmn" if 'id="scripted"' in xml else "two_reviews.bpmn")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(WorkflowDefinition)) == before
    return caught.value.problems


def test_the_shipped_procedures_are_deployed_as_version_one(engine: Engine) -> None:
    rows = db.session.scalars(select(WorkflowDefinition).order_by(WorkflowDefinition.process_id)).all()
    assert [(r.process_id, r.version) for r in rows] == [
        ("dns_record", 1),
        ("domain_registration", 1),
        ("domain_renewal", 1),
        ("institution_badge", 1),
        ("party_site_review", 1),
    ]
    assert all(len(r.sha256) == 64 and r.xml.startswith("<?xml") for r in rows)


def test_same_content_makes_no_new_version_and_changed_content_does(engine: Engine) -> None:
    assert deploy(engine, REVIEWS)[0].version == 1
    row, created = deploy(engine, REVIEWS)
    assert (row.version, created) == (1, False)
    changed = REVIEWS.replace('value="待审核"', 'value="编办审核中"')
    row, created = deploy(engine, changed)
    assert (row.version, created) == (2, True)
    assert engine.definitions.latest(db.session, TWO_REVIEWS).version == 2


def test_doctype_and_entities_are_refused(engine: Engine) -> None:
    xxe = REVIEWS.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>',
    ).replace('name="初审"', 'name="&secret;"')
    assert refusal(engine, xxe) == [("definitions", "不允许 DOCTYPE 或实体声明")]


def test_an_oversized_file_is_refused_before_parsing(engine: Engine) -> None:
    huge = REVIEWS.replace("</bpmn:definitions>", "<!--" + "x" * 3_000_000 + "--></bpmn:definitions>")
    ((element, reason),) = refusal(engine, huge)
    assert element == "definitions" and "超过上限" in reason


def test_malformed_xml_is_refused(engine: Engine) -> None:
    ((element, reason),) = refusal(engine, REVIEWS[:-40])
    assert element == "definitions" and "XML 格式错误" in reason


def test_an_unknown_operator_is_refused_with_the_element_id(engine: Engine) -> None:
    problems = refusal(engine, REVIEWS.replace('id="charge.create"', 'id="charge.explode"'))
    assert ("charge", "未注册的服务操作 charge.explode") in problems


def test_a_wrong_operator_parameter_is_refused(engine: Engine) -> None:
    problems = refusal(
        engine, REVIEWS.replace('<spiffworkflow:parameter id="purpose"', '<spiffworkflow:parameter id="porpose"')
    )
    assert ("charge", "操作 charge.create 没有参数 porpose") in problems
    assert ("charge", "操作 charge.create 缺少参数 purpose") in problems


def test_a_user_task_outside_a_role_lane_is_refused(engine: Engine) -> None:
    xml = REVIEWS.replace("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", "")
    ((element, reason),) = refusal(engine, xml)
    assert element == "review" and "用户任务须位于角色泳道中" in reason


def test_a_lane_that_is_not_a_role_is_refused(engine: Engine) -> None:
    ((element, reason),) = refusal(engine, REVIEWS.replace('name="CONAC"', 'name="财务处"', 1))
    assert element == "lane_conac" and "泳道“财务处”不是办理角色" in reason


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("missing.schema.json", "表单文件 missing.schema.json 不存在"),
        ("../app/config.schema.json", "不合法"),
        ("conftest.py", "不合法"),
    ],
)
def test_a_bad_form_reference_is_refused(engine: Engine, form: str, expected: str) -> None:
    xml = REVIEWS.replace('value="fee.schema.json"', f'value="{form}"')
    ((element, reason),) = refusal(engine, xml)
    assert element == "collect" and expected in reason


def test_a_form_that_is_not_a_valid_json_schema_is_refused(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "broken.schema.json").write_text('{"type": "objekt"}', encoding="utf-8")
    xml = SCRIPTED.replace("decision.schema.json", "broken.schema.json").replace("SCRIPT", "x = 1")
    with pytest.raises(DeployError) as caught:
        deploy_xml(engine, xml, "scripted.bpmn", tmp_path)
    ((element, reason),) = caught.value.problems
    assert element == "decide" and "不是有效的 JSON Schema" in reason


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("x = (", "SyntaxError"),
        ("import os", "不允许 import"),
        ("from os import path", "不允许 import"),
        ("x = decision.__class__", 'starts with "_"'),
        ("x = open('/etc/passwd').read()", "调用了不允许的函数 open"),
        ("x = eval('1')", "Eval calls are not allowed"),
        ("x = __import__('os')", "__import__"),
    ],
)
def test_a_script_that_does_not_compile_or_escapes_the_sandbox_is_refused(
    engine: Engine, script: str, expected: str
) -> None:
    ((element, reason),) = refusal(engine, SCRIPTED.replace("SCRIPT", script))
    assert element == "compute" and expected in reason


def test_a_bad_gateway_condition_is_refused(engine: Engine) -> None:
    problems = refusal(engine, REVIEWS.replace('decision == "reject"', "decision ==", 1))
    assert problems and problems[0][0] == "review_outcome" and "SyntaxError" in problems[0][1]


def test_a_bad_timer_expression_is_refused(engine: Engine) -> None:
    xml = REVIEWS.replace('start_of_day(add_workdays(renkuan["confirmed_on"], 1))', "system('x')")
    assert ("wait_day", "调用了不允许的函数 system") in refusal(engine, xml)


def test_process_properties_are_required(engine: Engine) -> None:
    problems = refusal(
        engine, REVIEWS.replace('name="businessKeyPrefix" value="TR"', 'name="businessKeyPrefix" value="ym1"')
    )
    assert (TWO_REVIEWS, "流程须有属性 businessKeyPrefix（两个大写字母，如 KB）") in problems


def test_a_file_without_exactly_one_executable_process_is_refused(engine: Engine) -> None:
    xml = REVIEWS.replace('isExecutable="true"', 'isExecutable="false"')
    assert refusal(engine, xml) == [("definitions", "每个文件须有且只有一个可执行流程 (isExecutable=true)")]


def test_an_element_name_cannot_name_a_property(engine: Engine) -> None:
    """Names are drawn as they are written (the unit's progress view): templates belong in texts."""
    xml = REVIEWS.replace('name="认款后1个工作日"', 'name="认款后{{ procedure.reviewDays }}个工作日"')
    ((element, reason),) = refusal(engine, xml)
    assert element == "wait_day" and "不能引用属性" in reason
