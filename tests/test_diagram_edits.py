"""Deploying edited diagrams: versions, and removing a step. Five policy changes made the same way are in
test_policy_changes.py; the edit operations are tests/bpmn_edits.py.

Shown on 党政机关网站开办审核 (workflows/党政机关开办审核.bpmn):

1. A whole step — the paper materials and their confirmation by the 编办 — is removed by editing the
   process graph (the 审核通过 milestone flows straight to 生成网站标识代码). New applications get their badge
   upon CONAC's approval; one started before the deploy still waits for its paper and finishes on version 1.
2. Deploying an unchanged file again creates no new version; deploying an edited file twice creates one.
3. Reverting an edit makes the original rules apply to new applications again.
4. No Python source takes part: the tests only rewrite XML bytes, and the application code is the same
   before and after each deploy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select

from app.engine import Engine
from app.extensions import db
from app.models import Certificate, Unit, WorkflowDefinition
from app.services.audit import Actor
from tests.bpmn_edits import NS, Diagram, problems, python_sources
from tests.conftest import APPROVE, BIANBAN, CONAC, UNIT, Application, Clock, add_domain, deploy_xml

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = ROOT / "workflows" / "党政机关开办审核.bpmn"
PROCESS = "party_site_review"
ORGAN = "鄂尔多斯市人民政府"
DOMAIN = f"{ORGAN}.政务"

PAPER_NODES = {"notify_paper", "submit_paper", "confirm_paper", "gw_paper", "notify_paper_problem", "paper_rejected"}


@dataclass(frozen=True)
class Step:
    actor: Actor
    data: dict[str, Any]
    stage: str


FORM = {
    "application_type": "recheck",
    "badge_location": "red_page",
    "site_name": ORGAN,
    "domains": [DOMAIN],
    "site_intro": "本网站由鄂尔多斯市人民政府主办，旨在介绍我单位职能、职责、人员编制，面向社会公开工作动态。",
    "contact_name": "张经办",
    "contact_mobile": "13800138000",
    "contact_email": "zhang@example.cn",
}
SUBMIT = Step(UNIT, FORM, "初审中")
FIRST_OK = Step(BIANBAN, APPROVE, "复审中")
PAPER_SENT = Step(UNIT, {"paper_delivery": "in_person"}, "待提交纸质材料")
PAPER_OK = Step(BIANBAN, {"decision": "ok"}, "标识已发放")


def walk(application: Application, steps: list[Step]) -> Application:
    for number, step in enumerate(steps, start=1):
        assert application.task().role == step.actor.role, f"step {number}"
        application.complete(step.actor, step.data)
        assert application.stage == step.stage, f"step {number}"
    return application


@pytest.fixture
def organ(make_unit: Any) -> Unit:
    unit = make_unit("党政机关", "150600", ORGAN)
    add_domain(unit, DOMAIN)
    return unit


def deploy(engine: Engine, xml: bytes) -> tuple[WorkflowDefinition, bool]:
    """What `flask deploy` does with an edited file."""
    return deploy_xml(engine, xml, DIAGRAM.name)


def versions() -> list[int]:
    query = select(WorkflowDefinition.version).where(WorkflowDefinition.process_id == PROCESS)
    return sorted(db.session.scalars(query))


def paper_notice(application: Application) -> str:
    (sms, email) = [m for m in application.outbox() if "请报送纸质材料" in m.subject]
    assert sms.body == email.body
    return sms.body


# --- Edits, done on the XML alone ---------------------------------------------------------------


def without_id_card_copy(xml: bytes) -> bytes:
    """The local 编办 no longer asks for a copy of the 经办人's ID card (test_policy_changes.py (a))."""
    diagram = Diagram(xml)
    diagram.set_property(PROCESS, "idCardCopyRequired", "false")
    return diagram.to_bytes()


def without_paper_step(xml: bytes) -> bytes:
    """审核通过 leads straight to 生成网站标识代码; the paper elements, flows and shapes go."""
    root = etree.fromstring(xml)
    process = root.find("bpmn:process", NS)
    by_id = {e.get("id"): e for e in process.iter() if e.get("id")}

    shortcut = by_id["flow_passed_notify"]  # review_passed → notify_paper becomes review_passed → issue_badge
    shortcut.set("targetRef", "issue_badge")
    flows = process.findall("bpmn:sequenceFlow", NS)
    gone = set(PAPER_NODES) | {
        f.get("id") for f in flows if f.get("sourceRef") in PAPER_NODES or f.get("targetRef") in PAPER_NODES
    }
    by_id["issue_badge"].find("bpmn:incoming", NS).text = "flow_passed_notify"
    for element_id in gone:
        process.remove(by_id[element_id])
    for tag in ("incoming", "outgoing", "flowNodeRef"):
        for ref in list(process.iterfind(f".//bpmn:{tag}", NS)):
            if ref.text in gone:
                ref.getparent().remove(ref)
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    for shape in list(plane):
        if shape.get("bpmnElement") in gone:
            plane.remove(shape)
    edge = plane.find("bpmndi:BPMNEdge[@bpmnElement='flow_passed_notify']", NS)
    for waypoint, x in zip(edge.findall("di:waypoint", NS), ("1148", "1510"), strict=True):
        waypoint.set("x", x)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- 1. A graph edit ------------------------------------------------------------------------------


def test_removing_the_paper_step_lets_new_applications_get_the_badge_upon_conac_approval(
    organ: Unit, start: Any, clock: Clock, engine: Engine
) -> None:
    clock.set("2026-09-28 10:00")
    code_before = python_sources()
    edited = without_paper_step(DIAGRAM.read_bytes())
    assert problems(edited) == []
    assert PAPER_NODES.isdisjoint(e.get("id") for e in etree.fromstring(edited).iter())
    running = walk(start(PROCESS, organ), [SUBMIT])

    row, created = deploy(engine, edited)

    assert (row.version, created, versions()) == (2, True, [1, 2])
    fresh = walk(start(PROCESS, organ), [SUBMIT, FIRST_OK, Step(CONAC, APPROVE, "标识已发放")])
    assert fresh.instance.definition.version == 2
    assert fresh.tasks == []
    assert [m.subject for m in fresh.outbox()[::2]] == ["网站开办审核/资格复核申请已通过初审", "网站标识代码已发放"]
    badge = db.session.scalars(select(Certificate).where(Certificate.instance_id == fresh.instance_id)).one()
    assert (badge.colour, badge.hang_deadline) == ("red", date(2026, 10, 10))

    walk(running, [FIRST_OK, Step(CONAC, APPROVE, "审核通过"), PAPER_SENT])
    assert running.instance.definition.version == 1
    item = running.task()
    assert (item.task_name, item.office_code) == ("confirm_paper", "编办:150600")
    assert db.session.scalars(select(Certificate).where(Certificate.instance_id == running.instance_id)).all() == []
    walk(running, [PAPER_OK])
    assert running.instance.definition.version == 1
    badge = db.session.scalars(select(Certificate).where(Certificate.instance_id == running.instance_id)).one()
    assert badge.colour == "red"

    assert python_sources() == code_before


# --- 2. Redeploying -------------------------------------------------------------------------------


def test_deploying_the_unchanged_file_again_creates_no_new_version(engine: Engine) -> None:
    first = db.session.scalars(select(WorkflowDefinition).where(WorkflowDefinition.process_id == PROCESS)).one()

    row, created = engine.deploy_file(DIAGRAM, "policy")
    again, created_again = deploy(engine, DIAGRAM.read_bytes())

    assert (created, created_again) == (False, False)
    assert row.id == again.id == first.id
    assert versions() == [1]


def test_redeploying_an_edited_file_twice_keeps_one_new_version(engine: Engine) -> None:
    edited = without_id_card_copy(DIAGRAM.read_bytes())

    assert deploy(engine, edited)[1] is True
    assert deploy(engine, edited)[1] is False

    assert versions() == [1, 2]


def test_reverting_an_edit_makes_the_original_rules_apply_to_new_applications_again(
    organ: Unit, start: Any, clock: Clock, engine: Engine
) -> None:
    clock.set("2026-09-28 10:00")
    original = DIAGRAM.read_bytes()
    deploy(engine, without_id_card_copy(original))

    deploy(engine, original)  # the ID-card copy is required again

    fresh = walk(start(PROCESS, organ), [SUBMIT, FIRST_OK, Step(CONAC, APPROVE, "审核通过")])
    assert "连同经办人身份证复印件一份（加盖单位公章）" in paper_notice(fresh)
