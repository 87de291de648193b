"""Deploy refuses, in Chinese and naming the element, a diagram that would fail or hide at run time:
a gateway that can leave an application without a way on, a name nothing upstream provides, a text
that does not compile, an element without a place in the layout. A refused deploy stores nothing.

Shown on tests/diagrams/checks.bpmn: 填报 → 审核 → 审核结果 (no default flow: 通过 / 不通过 back to 填报)
→ 通知单位 (notify.send with the text BODY) → 计算金额 (script SCRIPT) → 认款 (message, payload
`renkuan`) → a timer one working day after 认款.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.engine import Engine
from app.engine.errors import DeployError
from app.extensions import db
from app.models import WorkflowDefinition
from tests.conftest import DIAGRAMS, PROJECT_ROOT, TESTS_ROOT, deploy_xml

TEMPLATE = (DIAGRAMS / "checks.bpmn").read_text(encoding="utf-8")
SCRIPT = "total = years * 300\nlabel = unit_type + str(total)"
BODY = "您单位的“{{ domain_name }}”已通过审核，应缴 {{ years * 300 }} 元。"
APPROVE, REJECT = 'decision == "approve"', 'decision == "reject"'
NOT_UPSTREAM = "（上游表单和流程上下文中都没有）"
IN_BODY = "通知文字（参数 body）中使用了未定义的名称 "


def diagram(script: str = SCRIPT, body: str = BODY) -> str:
    return TEMPLATE.replace("SCRIPT", script).replace("BODY", body)


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(WorkflowDefinition)) or 0


def refusal(engine: Engine, xml: str) -> list[tuple[str, str]]:
    before = stored()
    with pytest.raises(DeployError) as caught:
        deploy_xml(engine, xml, "checks.bpmn", TESTS_ROOT)
    assert stored() == before
    return caught.value.problems


def accepted(engine: Engine, xml: str) -> None:
    row, created = deploy_xml(engine, xml, "checks.bpmn", TESTS_ROOT)
    assert (row.process_id, created) == ("checks", True)


# ---- gateways ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("approve", "reject"),
    [
        (APPROVE, REJECT),
        ('decision in ("approve",)', '"reject" == decision'),
        ('decision == "approve" or decision == "reject"', REJECT),
    ],
)
def test_a_gateway_without_default_whose_conditions_cover_the_form_options_deploys(
    engine: Engine, approve: str, reject: str
) -> None:
    accepted(engine, diagram().replace(APPROVE, approve).replace(REJECT, reject))


def test_a_gateway_without_default_that_misses_an_option_is_refused(engine: Engine) -> None:
    problems = refusal(engine, diagram().replace(REJECT, 'decision == "rejected"'))
    reason = (
        '排他网关“审核结果”没有默认流向，且条件未覆盖所有情况（缺少：decision 为 "reject"），'
        "请补上条件或设置默认流向"
    )
    assert problems == [("route", reason)]


def test_a_condition_that_does_not_compile_is_reported_once(engine: Engine) -> None:
    ((element, reason),) = refusal(engine, diagram().replace(APPROVE, "decision =="))
    assert element == "route" and reason.startswith("代码不能编译或不被允许")


def test_a_default_flow_makes_any_conditions_acceptable(engine: Engine) -> None:
    xml = diagram().replace(REJECT, "years > 5").replace('name="审核结果"', 'name="审核结果" default="f_approve"')
    accepted(engine, xml)


@pytest.mark.parametrize(
    ("approve", "reject", "why"),
    [
        ("years > 5", "not years > 5", "条件“years > 5”不是对一个字段的 == 或 in 判断"),
        ("years == 1", "years == 2", "years 不是上游表单中必填且只有固定选项的字段"),
        ('host_mode == "ip"', 'host_mode in ("url", "none")', "host_mode 不是上游表单中必填且只有固定选项的字段"),
        ('decision == "approve"', 'unit_type == "党政机关"', "各条件判断的不是同一个字段"),
    ],
)
def test_a_gateway_without_default_whose_coverage_cannot_be_proven_is_refused(
    engine: Engine, approve: str, reject: str, why: str
) -> None:
    problems = refusal(engine, diagram().replace(APPROVE, approve).replace(REJECT, reject))
    reason = f"排他网关“审核结果”没有默认流向，且无法判断条件是否覆盖所有情况（{why}），请设置默认流向"
    assert problems == [("route", reason)]


@pytest.mark.parametrize(
    ("approve", "reject", "missing"),
    [
        ('channel in ["online", "both"]', 'channel == "paper"', None),
        ('channel == "online"', 'channel == "paper"', 'channel 为 "both"'),
        ("agreed == True", "agreed == False", None),
        ("agreed == True", "agreed == True", "agreed 为 False"),
    ],
)
def test_enum_and_boolean_fields_are_covered_by_their_options(
    engine: Engine, approve: str, reject: str, missing: str | None
) -> None:
    xml = diagram().replace('value="decision.schema.json"', 'value="choice.schema.json"')
    xml = xml.replace(APPROVE, approve).replace(REJECT, reject)
    if missing is None:
        accepted(engine, xml)
    else:
        ((element, reason),) = refusal(engine, xml)
        assert element == "route" and f"条件未覆盖所有情况（缺少：{missing}）" in reason


def test_a_field_the_form_does_not_require_cannot_prove_coverage(engine: Engine) -> None:
    xml = diagram().replace('value="decision.schema.json"', 'value="choice.schema.json"')
    ((element, reason),) = refusal(engine, xml.replace(APPROVE, 'note == "急"').replace(REJECT, 'note == "缓"'))
    assert element == "route" and "note 不是上游表单中必填且只有固定选项的字段" in reason


# ---- names -------------------------------------------------------------------------------


def test_a_misspelt_field_in_a_condition_is_refused_with_a_suggestion(engine: Engine) -> None:
    problems = refusal(engine, diagram().replace(REJECT, 'decison == "reject"'))
    expected = f"条件（通往“填报”的流向）中使用了未定义的名称 decison{NOT_UPSTREAM}，是否应为 decision？"
    assert ("route", expected) in problems


@pytest.mark.parametrize(
    ("script", "name"),
    [
        ("total = yeers * 300", "yeers"),
        ("count = count + 1", "count"),  # read before this script assigns it: nothing upstream sets it
        ("paid_on = renkuan['confirmed_on']", "renkuan"),  # the 认款 payload arrives only after this task
        ("names = [d for d in domains]", "domains"),
    ],
)
def test_an_unknown_name_in_a_script_is_refused(engine: Engine, script: str, name: str) -> None:
    ((element, reason),) = refusal(engine, diagram(script=script))
    assert element == "compute"
    assert reason.startswith(f"脚本中使用了未定义的名称 {name}{NOT_UPSTREAM}")


def test_scripts_may_use_form_fields_results_context_helpers_and_their_own_names(engine: Engine) -> None:
    script = (
        "total = years * 300\n"
        "label = unit_type + procedure.get('x', '') + domain_name + str(notified)\n"
        "due = add_workdays(today(), 5)\n"
        "hosts = [h.upper() for h in [host_mode] if h]\n"
        "total += len(hosts)"
    )
    accepted(engine, diagram(script=script))


def test_a_script_may_not_assign_a_context_name(engine: Engine) -> None:
    ((element, reason),) = refusal(engine, diagram(script="unit_type = '事业单位'"))
    assert (element, reason) == ("compute", "脚本中不能给流程上下文名称 unit_type 赋值（流程上下文只能读取）")


def test_an_unknown_name_in_a_timer_is_refused(engine: Engine) -> None:
    xml = diagram().replace('add_workdays(renkuan["confirmed_on"], 1)', 'add_workdays(renkaun["confirmed_on"], 1)')
    ((element, reason),) = refusal(engine, xml)
    assert element == "wait_day"
    assert reason == f"计时表达式中使用了未定义的名称 renkaun{NOT_UPSTREAM}，是否应为 renkuan？"


def test_an_unknown_correlation_key_is_refused(engine: Engine) -> None:
    xml = diagram().replace('name="correlationKey" value="domain_name"', 'name="correlationKey" value="charge_id"')
    ((element, reason),) = refusal(engine, xml)
    assert element == "wait_paid"
    assert reason == f"消息关联键（correlationKey）中使用了未定义的名称 charge_id{NOT_UPSTREAM}"


def test_an_unknown_name_in_a_service_parameter_is_refused(engine: Engine) -> None:
    xml = diagram().replace('value="contact_mobile"', 'value="contact_phone"')
    ((element, reason),) = refusal(engine, xml)
    assert element == "notify"
    assert reason.startswith(f"服务参数（mobile）中使用了未定义的名称 contact_phone{NOT_UPSTREAM}")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("您单位的“{{ domian_name }}”已通过审核。", f"{IN_BODY}domian_name{NOT_UPSTREAM}"),
        ("{% for d in domains %}{{ d }}{% endfor %}", f"{IN_BODY}domains{NOT_UPSTREAM}"),
        ("您单位的“{{ domain_name ”已通过审核。", "通知文字模板有误：参数 body 第 1 行："),
        ("应缴 {{ years | cnn }} 年", "通知文字模板有误：参数 body 第 1 行：没有名为 cnn 的过滤器"),
    ],
)
def test_a_notification_text_that_would_not_render_is_refused(engine: Engine, body: str, reason: str) -> None:
    ((element, found),) = refusal(engine, diagram(body=body))
    assert element == "notify" and found.startswith(reason)


def test_texts_may_use_form_fields_context_and_jinja_of_their_own(engine: Engine) -> None:
    body = (
        "{% set copies = procedure.paperCopies | default('3') %}{{ unit_province }}{{ domain_name }}："
        "{% for d in application_domains %}{{ d }}{% endfor %}一式{{ copies | int | cn }}份，{{ range(2) | list }}"
    )
    accepted(engine, diagram(body=body))


def test_instructions_that_name_an_unknown_name_are_refused(engine: Engine) -> None:
    """Instructions are rendered when the version is compiled, over the procedure's properties."""
    tag = "spiffworkflow:instructionsForEndUser"
    instructions = f"<{tag}>请审核“{{{{ domain_name }}}}”。</{tag}>"
    review = '<bpmn:userTask id="review" name="审核">\n      <bpmn:extensionElements>'
    assert review in TEMPLATE
    ((element, reason),) = refusal(engine, diagram().replace(review, review + instructions))
    assert element == "review" and "文字模板有误" in reason and "domain_name" in reason


# ---- layout ------------------------------------------------------------------------------


def test_an_element_or_flow_without_a_place_in_the_layout_is_refused(engine: Engine) -> None:
    xml = diagram()
    for element in ("compute", "f_paid"):
        start = xml.index(f'<bpmndi:{"BPMNShape" if element == "compute" else "BPMNEdge"} id="{element}_di"')
        end = xml.index("</bpmndi:", start)
        xml = xml[:start] + xml[xml.index(">", end) + 1 :]
    unplaced = "没有图形位置，在办理进度图中看不到，请在流程图编辑器中摆放后再部署"
    assert refusal(engine, xml) == [("compute", f"元素“计算金额”{unplaced}"), ("f_paid", f"元素“f_paid”{unplaced}")]


def test_a_diagram_without_any_layout_is_refused_once(engine: Engine) -> None:
    xml = diagram()
    xml = xml[: xml.index("  <bpmndi:BPMNDiagram")] + "</bpmn:definitions>\n"
    ((element, reason),) = refusal(engine, xml)
    assert element == "checks" and reason.startswith("流程图没有图形布局（bpmndi）")


# ---- the shipped procedures -------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "workflows").glob("*.bpmn")), ids=lambda p: p.stem)
def test_every_shipped_diagram_passes_the_checks(engine: Engine, path: Path) -> None:
    engine.definitions.check(engine.bundle_from_files(path), db.session)
