"""Procedure changes are diagram edits: policy staff edit the BPMN XML and deploy it, nothing else.

Shown on 党政机关网站开办审核 (workflows/党政机关开办审核.bpmn):

1. A rule carried by a process property — whether the paper materials include a copy of the 经办人's ID
   card (`idCardCopyRequired`) — changes by editing one attribute. The deploy creates version 2; new
   applications follow it, while an application already running keeps version 1 to the end.
2. A whole step — the paper materials and their confirmation by the 编办 — is removed by editing the
   process graph (the 审核通过 milestone flows straight to 生成网站标识代码). New applications get their badge
   upon CONAC's approval; one started before the deploy still waits for its paper and finishes on version 1.
3. Deploying an unchanged file again creates no new version.
4. No Python source takes part: the tests only rewrite XML bytes, and the application code is the same
   before and after each deploy.
"""

from __future__ import annotations

import difflib
import hashlib
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
from tests.conftest import APPROVE, BIANBAN, CONAC, UNIT, Application, Clock, add_domain, deploy_xml

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = ROOT / "workflows" / "党政机关开办审核.bpmn"
PROCESS = "party_site_review"
ORGAN = "鄂尔多斯市人民政府"
DOMAIN = f"{ORGAN}.政务"
ID_COPY = "身份证"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
PAPER_NODES = {"notify_paper", "confirm_paper", "gw_paper", "notify_paper_problem", "paper_rejected"}


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


def python_sources() -> str:
    """A fingerprint of every Python file of the application."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "app").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def paper_notice(application: Application) -> str:
    (sms, email) = [m for m in application.outbox() if "请报送纸质材料" in m.subject]
    assert sms.body == email.body
    return sms.body


# --- Edits, done on the XML alone ---------------------------------------------------------------


def without_id_card_copy(xml: bytes) -> bytes:
    """Edit 1: the local 编办 no longer asks for a copy of the 经办人's ID card."""
    old = b'<spiffworkflow:property name="idCardCopyRequired" value="true"/>'
    assert xml.count(old) == 1
    return xml.replace(old, b'<spiffworkflow:property name="idCardCopyRequired" value="false"/>')


def without_paper_step(xml: bytes) -> bytes:
    """Edit 2: 审核通过 leads straight to 生成网站标识代码; the paper elements, flows and shapes go."""
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


def dangling_references(xml: bytes) -> list[str]:
    """Every reference in the edited file still names an element, and every element keeps its shape."""
    root = etree.fromstring(xml)
    process = root.find("bpmn:process", NS)
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    refs = [f.get(a) for f in process.findall("bpmn:sequenceFlow", NS) for a in ("sourceRef", "targetRef")]
    refs += [r.text for tag in ("incoming", "outgoing", "flowNodeRef") for r in process.iterfind(f".//bpmn:{tag}", NS)]
    refs += [s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNPlane/*", NS)]
    drawn = {s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNPlane/*", NS)}
    undrawn = [e.get("id") for e in process if e.get("id") and e.tag.rpartition("}")[2] != "laneSet"]
    return [r for r in refs if r not in ids] + [f"{e} has no shape" for e in undrawn if e not in drawn]


# --- 1. A property edit ---------------------------------------------------------------------------


def test_dropping_the_id_card_copy_is_a_one_attribute_edit_that_only_new_applications_follow(
    organ: Unit, start: Any, clock: Clock, engine: Engine
) -> None:
    clock.set("2026-09-28 10:00")
    code_before = python_sources()
    original = DIAGRAM.read_bytes()
    edited = without_id_card_copy(original)
    changed = [
        line
        for line in difflib.ndiff(original.decode().splitlines(), edited.decode().splitlines())
        if line.startswith(("+ ", "- "))
    ]
    assert len(changed) == 2  # one line out, one line in
    running = walk(start(PROCESS, organ), [SUBMIT])

    row, created = deploy(engine, edited)

    assert (row.version, created, versions()) == (2, True, [1, 2])
    walk(running, [FIRST_OK, Step(CONAC, APPROVE, "待提交纸质材料")])
    assert running.instance.definition.version == 1
    assert "连同经办人身份证复印件一份（加盖单位公章）" in paper_notice(running)

    fresh = walk(start(PROCESS, organ), [SUBMIT, FIRST_OK, Step(CONAC, APPROVE, "待提交纸质材料")])
    assert fresh.instance.definition.version == 2
    notice = paper_notice(fresh)
    assert ID_COPY not in notice
    assert "一式三份并加盖单位公章，报送同级机构编制部门备案" in notice

    assert python_sources() == code_before
    assert DIAGRAM.read_bytes() == original


# --- 2. A graph edit ------------------------------------------------------------------------------


def test_removing_the_paper_step_lets_new_applications_get_the_badge_upon_conac_approval(
    organ: Unit, start: Any, clock: Clock, engine: Engine
) -> None:
    clock.set("2026-09-28 10:00")
    code_before = python_sources()
    edited = without_paper_step(DIAGRAM.read_bytes())
    assert dangling_references(edited) == []
    assert PAPER_NODES.isdisjoint(e.get("id") for e in etree.fromstring(edited).iter())
    running = walk(start(PROCESS, organ), [SUBMIT])

    row, created = deploy(engine, edited)

    assert (row.version, created, versions()) == (2, True, [1, 2])
    fresh = walk(start(PROCESS, organ), [SUBMIT, FIRST_OK, Step(CONAC, APPROVE, "标识已发放")])
    assert fresh.instance.definition.version == 2
    assert fresh.tasks == []
    assert [m.subject for m in fresh.outbox()] == ["网站标识代码已发放"] * 2
    badge = db.session.scalars(select(Certificate).where(Certificate.instance_id == fresh.instance_id)).one()
    assert (badge.colour, badge.hang_deadline) == ("red", date(2026, 10, 10))

    walk(running, [FIRST_OK, Step(CONAC, APPROVE, "待提交纸质材料")])
    assert running.instance.definition.version == 1
    item = running.task()
    assert (item.task_name, item.office_code) == ("confirm_paper", "编办:150600")
    assert db.session.scalars(select(Certificate).where(Certificate.instance_id == running.instance_id)).all() == []
    walk(running, [PAPER_OK])
    assert running.instance.definition.version == 1
    badge = db.session.scalars(select(Certificate).where(Certificate.instance_id == running.instance_id)).one()
    assert badge.colour == "red"

    assert python_sources() == code_before


# --- 3. Redeploying -------------------------------------------------------------------------------


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

    fresh = walk(start(PROCESS, organ), [SUBMIT, FIRST_OK, Step(CONAC, APPROVE, "待提交纸质材料")])
    assert "连同经办人身份证复印件一份（加盖单位公章）" in paper_notice(fresh)
