from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import *
from tests.conftest import APPROVE, BIANBAN, CONAC, UNIT

APP = {
    "application_type": "new",
    "badge_location": "red_page",
    "site_name": "测试网站",
    "domains": ["测试.政务"],
    "site_intro": "本网站由某某单位主办，旨在介绍我单位职能。",
    "contact_name": "张经办",
    "contact_mobile": "13800138000",
    "contact_email": "zhang@example.cn",
}


def test_explore(app, make_unit, start, clock, engine, backend):
    if backend != "sqlite":
        return
    unit = make_unit()
    try:
        start("party_site_review", unit)
    except Exception as e:
        print("ERR", type(e), e)
    print(db.session.scalars(select(ProcessInstance)).all())
    db.session.add(
        Domain(
            unit_id=unit.id,
            name="测试.政务",
            ascii_name="xn--x",
            suffix="政务",
            status="active",
            years=1,
            host_mode="none",
            expires_on=date(2027, 1, 1),
        )
    )
    db.session.commit()
    a = start("party_site_review", unit)
    print(a.stage, [(t.task_name, t.role, t.office_code, t.due_at) for t in a.tasks])
    print(a.data())
    a.complete(UNIT, APP)
    print(a.stage, [(t.task_name, t.role, t.office_code, t.due_at) for t in a.tasks])
    a.complete(BIANBAN, APPROVE)
    print(a.stage, [(t.task_name, t.role, t.office_code, t.due_at) for t in a.tasks])
    a.complete(CONAC, APPROVE)
    print(a.stage, [(t.task_name, t.role, t.office_code, t.due_at) for t in a.tasks])
    for m in a.outbox():
        print(m.channel, m.recipient, m.subject, m.body)
    a.complete(BIANBAN, {"decision": "ok"})
    print(a.stage, a.instance.status)
    for c in db.session.scalars(select(Certificate)):
        print(vars(c))
    for t in db.session.scalars(select(TimerSubscription)):
        print(vars(t))
    for e in db.session.scalars(select(AuditEvent)):
        print(e.action, e.task_name, e.decision, e.reason, e.detail, e.actor, e.role)
    print(engine.runner.fire_due_timers())
