"""Time to preview an edited procedure on the last 1 000 applications (replayed from their step log).

Usage: python bench/preview.py [--applications 1000]

Workload: the shipped 域名注册 (workflows/域名注册.bpmn). Four applications are driven through the
real runner, each along another path: registered (both reviews, fee, 认款 message, the timer one
working day later, activation); rejected by 编办 and resubmitted, now waiting for the fee;
rejected by CONAC and resubmitted, waiting for CONAC again; waiting for the 编办's review. Their
instance rows and step logs are then copied until there are `--applications` of them, a quarter
each, spread over 100 units. Two edits are previewed:

- 核对配额: a script task inserted after CONAC's approval. The first two kinds take a different
  path; the third passed CONAC's decision too and is replayed; the fourth never read an element
  the edit changed and is not replayed (app/engine/edits.py).
- a new procedure property: any condition may read it, so every application is replayed (the
  worst case), and every path stays.

The figure is `services.preview.preview` end to end: loading the applications and their step
logs, deciding which to replay, replaying them, comparing with the recorded paths. Wall time and
this process's CPU time (the machine may be shared). Runs on SQLite and, when 127.0.0.1:5432
answers, on a fresh PostgreSQL database.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from app import create_app
from app.engine import Engine, get_engine
from app.engine.bundles import collect
from app.engine.definitions import parse_xml_safely
from app.extensions import db
from app.models import ProcessInstance, StepRecord, Unit, WorkItem
from app.services import billing, demo, preview
from app.services.audit import Actor
from bench._databases import fresh_postgres_url

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = ROOT / "workflows" / "域名注册.bpmn"
UNIT = Actor("bench-unit", "单位")
BIANBAN = Actor("bench-bianban", "编办", office_code="编办:150600")
CONAC = Actor("bench-conac", "CONAC")
APPROVE, REJECT = {"decision": "approve"}, {"decision": "reject", "reason": "名称不规范"}
PROPERTY = (('<spiffworkflow:property name="businessKeyPrefix" value="YM"/>',
             '<spiffworkflow:property name="businessKeyPrefix" value="YM"/>'
             '<spiffworkflow:property name="quotaNote" value="每单位限一个"/>'),)
INSERTED = (
    ('targetRef="create_charge"/>', 'targetRef="check_quota"/>\n'
     '    <bpmn:scriptTask id="check_quota" name="核对配额"><bpmn:incoming>flow_conac_approve</bpmn:incoming>'
     "<bpmn:outgoing>flow_quota_charge</bpmn:outgoing><bpmn:script>quota_checked = True</bpmn:script>"
     "</bpmn:scriptTask>\n"
     '    <bpmn:sequenceFlow id="flow_quota_charge" sourceRef="check_quota" targetRef="create_charge"/>'),
    ("<bpmn:incoming>flow_conac_approve</bpmn:incoming>\n", "<bpmn:incoming>flow_quota_charge</bpmn:incoming>\n"),
    ("    </bpmndi:BPMNPlane>",
     '      <bpmndi:BPMNShape id="check_quota_di" bpmnElement="check_quota">'
     '<dc:Bounds x="1230" y="700" width="100" height="80"/></bpmndi:BPMNShape>\n'
     '      <bpmndi:BPMNEdge id="flow_quota_charge_di" bpmnElement="flow_quota_charge">'
     '<di:waypoint x="1280" y="700"/><di:waypoint x="1280" y="660"/></bpmndi:BPMNEdge>\n'
     "    </bpmndi:BPMNPlane>"),
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def templates(engine: Engine, unit_id: int) -> list[int]:
    """Four applications along four paths, driven through the runner; their instance ids."""
    runner = engine.runner
    steps = [(UNIT, "f"), (BIANBAN, APPROVE), (CONAC, APPROVE), (BIANBAN, "fee")]
    registered = _walk(engine, unit_id, "基准注册一", steps)
    charge = engine.reader.data(registered)["charge_id"]
    remittance = billing.create_remittance(db.session, "编办:150600", [charge], BIANBAN.name)
    db.session.commit()
    runner.confirm_remittance(remittance.id, CONAC)
    runner.clock.now = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    runner.fire_due_timers()
    steps = [(UNIT, "f"), (BIANBAN, REJECT), (UNIT, "f"), (BIANBAN, APPROVE), (CONAC, APPROVE)]
    resubmitted = _walk(engine, unit_id, "基准注册二", steps)
    steps = [(UNIT, "f"), (BIANBAN, APPROVE), (CONAC, REJECT), (UNIT, "f")]
    conac_rejected = _walk(engine, unit_id, "基准注册三", steps)
    _walk(engine, unit_id, "基准注册三", [(BIANBAN, APPROVE)], conac_rejected)
    waiting = _walk(engine, unit_id, "基准注册四", [(UNIT, "f")])
    return [registered, resubmitted, conac_rejected, waiting]


def _walk(engine: Engine, unit_id: int, name: str, steps: list[tuple[Actor, Any]], instance_id: int = 0) -> int:
    if not instance_id:
        instance_id = engine.runner.start("domain_registration", unit_id, UNIT).id
    for actor, data in steps:
        task_id = db.session.scalar(select(WorkItem.task_id).where(WorkItem.instance_id == instance_id))
        if data == "f":
            data = {"domain_name": f"{name}.政务", "years": 2, "contact_name": "张经办",
                    "contact_mobile": "13800138000", "contact_email": "zhang@example.cn", "host_mode": "none"}
        elif data == "fee":
            data = {"invoice_no": "FP20261009", "years": 2}
        engine.runner.complete(task_id, actor, data)
    return instance_id


def copy_applications(template_ids: list[int], count: int) -> None:
    """Copies of the templates' instance rows and step logs, in bulk, until there are `count`, over 100 units."""
    units = _units(100)
    rows = {r.id: r for r in db.session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(template_ids)))}
    logs = {i: list(db.session.scalars(select(StepRecord).where(StepRecord.instance_id == i))) for i in template_ids}
    next_id = (db.session.scalar(select(func.max(ProcessInstance.id))) or 0) + 1
    instances, steps = [], []
    for n in range(count - len(template_ids)):
        template = rows[template_ids[n % len(template_ids)]]
        new_id = next_id + n
        instances.append({
            "id": new_id, "business_key": f"YMB{new_id:09d}", "definition_id": template.definition_id,
            "unit_id": units[n % len(units)], "stage": template.stage, "status": template.status,
            "state": template.state, "serializer_version": template.serializer_version, "version": template.version,
            "created_by": "bench", "created_at": template.created_at, "updated_at": template.updated_at,
        })
        steps += [
            {"instance_id": new_id, "seq": s.seq, "kind": s.kind, "element": s.element, "message": s.message,
             "data": s.data, "results": s.results, "path": s.path, "actor": s.actor, "role": s.role, "at": s.at}
            for s in logs[template.id]
        ]
    for table, values in ((ProcessInstance, instances), (StepRecord, steps)):
        for chunk in range(0, len(values), 2000):
            db.session.execute(insert(table), values[chunk : chunk + 2000])
    db.session.commit()


def _units(count: int) -> list[int]:
    model = db.session.scalar(select(Unit).where(Unit.unit_type == "党政机关").limit(1))
    columns = {c.name: getattr(model, c.key) for c in Unit.__table__.columns if c.name != "id"}
    values = [{**columns, "name": f"基准单位{n}", "uscc": f"BENCH{n:013d}"} for n in range(count)]
    db.session.execute(insert(Unit), values)
    db.session.commit()
    return list(db.session.scalars(select(Unit.id).where(Unit.uscc.like("BENCH%"))))


def _edited(replacements: tuple[tuple[str, str], ...]) -> Any:
    xml = DIAGRAM.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in xml, old
        xml = xml.replace(old, new, 1)
    data = xml.encode("utf-8")
    return collect(DIAGRAM.name, data, parse_xml_safely(data, 10_000_000), ROOT)


def _timed(engine: Engine, bundle: Any, applications: int) -> tuple[float, float, preview.PreviewReport]:
    wall, cpu = time.perf_counter(), time.process_time()
    report = preview.preview(db.session, engine, "domain_registration", bundle, applications)
    return time.perf_counter() - wall, time.process_time() - cpu, report


def measure(url: str, applications: int) -> list[tuple[str, float, float, preview.PreviewReport]]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        engine = get_engine()
        engine.runner.clock = Clock()
        engine.deploy_folder("bench")
        demo.seed(db.session)
        db.session.commit()
        unit_id = db.session.scalar(select(Unit.id).where(Unit.unit_type == "党政机关").limit(1))
        copy_applications(templates(engine, unit_id), applications)
        figures = []
        for label, edit in (("核对配额 inserted", INSERTED), ("new procedure property", PROPERTY)):
            bundle = _edited(edit)
            preview.preview(db.session, engine, "domain_registration", bundle, 20)  # warm-up: sandbox workers, caches
            figures.append((label, *_timed(engine, bundle, applications)))
        db.session.remove()
        db.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", type=int, default=1000)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        runs.append(("SQLite", measure(f"sqlite:///{folder}/bench.sqlite3", args.applications)))
    pg_url = fresh_postgres_url("conac_bench_preview")
    if pg_url:
        runs.append(("PostgreSQL", measure(pg_url, args.applications)))
    for backend, figures in runs:
        print(f"{backend}:")
        for label, wall, cpu, report in figures:
            outcomes = "，".join(f"{preview.OUTCOME_TITLES[o]} {n}" for o, n in report.counts().items() if n)
            replayed = sum(1 for r in report.results if r.replayed)
            print(f"  {label:24} N = {len(report.results)}: {wall:6.2f} s wall, {cpu:6.2f} s CPU, "
                  f"{replayed} replayed  [{outcomes}]")


if __name__ == "__main__":
    main()
