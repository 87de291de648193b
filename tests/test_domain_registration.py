from sqlalchemy import select

from app.extensions import db
from app.models import *
from tests.conftest import APPROVE, BIANBAN, CONAC, DOMAIN_APPLICATION, UNIT, reject


def test_explore(app, make_unit, start, clock, engine, backend, remit_and_confirm):
    if backend != "sqlite":
        return
    unit = make_unit()
    clock.set("2026-09-28 10:00")
    a = start("domain_registration", unit)
    print(a.stage, [(t.task_name, t.role, t.office_code, t.due_at) for t in a.tasks])
    a.complete(UNIT, DOMAIN_APPLICATION)
    print(a.stage, [(t.task_name, t.role, t.office_code, t.due_at) for t in a.tasks])
    a.complete(BIANBAN, reject("名称不规范"))
    print(a.stage, [(t.task_name, t.role, t.office_code, t.due_at) for t in a.tasks], a.data())
    a.complete(UNIT, DOMAIN_APPLICATION)
    a.complete(BIANBAN, APPROVE)
    print(a.stage, [(t.task_name, t.role, t.office_code, t.due_at) for t in a.tasks])
    a.complete(CONAC, APPROVE)
    print(a.stage, [(t.task_name, t.role, t.office_code, t.due_at) for t in a.tasks])
    for m in a.outbox():
        print(m.channel, m.recipient, m.subject, m.body)
    a.complete(BIANBAN, {"invoice_no": "FP-0001", "years": 3})
    print(a.stage, vars(a.charge()))
    clock.set("2026-10-09 16:00")
    print(remit_and_confirm([a.charge()]))
    print(a.stage)
    for t in db.session.scalars(select(TimerSubscription)):
        print(vars(t))
    print(engine.runner.fire_due_timers(clock.set("2026-10-09 23:59")))
    print(engine.runner.fire_due_timers(clock.set("2026-10-10 00:00")))
    print(a.stage, a.instance.status)
    for d in db.session.scalars(select(Domain)):
        print(vars(d))
    for m in a.outbox():
        print(m.channel, m.recipient, m.subject, m.body)
    for e in db.session.scalars(select(AuditEvent)):
        print(e.action, e.task_name, e.decision, e.reason, e.detail, e.actor, e.role)
    b = start("domain_registration", unit)
    try:
        b.complete(UNIT, DOMAIN_APPLICATION)
    except Exception as e:
        print("ERR", type(e), e, getattr(e, "errors", None))
    try:
        b.complete(
            UNIT,
            {
                **DOMAIN_APPLICATION,
                "domain_name": "x.com",
                "years": 11,
                "contact_mobile": "123",
                "contact_name": "<b>x</b>",
            },
        )
    except Exception as e:
        print("ERR", type(e), e, getattr(e, "errors", None))
    r = start("domain_renewal", unit, {"domain_id": a.data()["domain_id"], "years": 1}, actor=BIANBAN)
    print(r.stage, [(t.task_name, t.role, t.office_code, t.due_at) for t in r.tasks], r.data())
