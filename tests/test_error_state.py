"""Every fault of a step is an error state: rolled back, marked, explained in Chinese, retryable.

Whatever fails (an operator with any exception, the engine itself, the database refusing the
save), the application keeps its state from before, is marked `error` with a Chinese text that
names the step and an incident number, and an admin can retry once the cause is gone. The
exception itself, SQL and parameters go to the server log under that number only: never into
the application's error, its failed action or the audit trail.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from app.engine import Engine
from app.engine.context import ActionContext
from app.engine.errors import TaskFailure
from app.engine.scripting import PlatformScriptEngine
from app.engine.worklist import Changes, Projector
from app.extensions import db
from app.models import AuditEvent, ProcessInstance
from app.services.audit import Actor
from tests.conftest import APPROVE, UNIT, Application, deploy_test_diagram, reject

DIAGRAMS = Path(__file__).parent / "diagrams"
ADMIN = Actor("admin", "管理员")
INCIDENT = re.compile(r"事件编号 ([0-9A-F]{8})")
# What a stored text must never show: exception names, SQL, the database's own words.
LEAKS = ("Error", "Exception", "Traceback", "SQL", "INSERT", "UPDATE", "audit_event", "parameters", "sqlite", "psycopg")

faults: dict[str, Callable[[], None]] = {}  # step → what the test operator does there instead of working


def fault(context: ActionContext, step: str) -> str:
    """测试用操作：按测试的安排在某一步出错。"""
    if step in faults:
        faults[step]()
    return f"{step} 完成"


@pytest.fixture
def faulty(engine: Engine) -> Engine:
    engine.operators.register("test.fault")(fault)
    deploy_test_diagram(engine, "faults.bpmn")
    return engine


@pytest.fixture
def filling(faulty: Engine, make_unit: Any, start: Any) -> Application:
    """An application of tests/diagrams/faults.bpmn waiting for its 填写."""
    return start("faults", make_unit())


def stored_texts(instance_id: int) -> list[str]:
    """The error text and every audit row of an application, as stored."""
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, instance_id)
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)).all()
    audit = [json.dumps([r.task_name, r.task_title, r.decision, r.reason, r.detail], ensure_ascii=False) for r in rows]
    return [instance.error or "", *audit]  # type: ignore[union-attr]


def assert_explained_in_chinese(failure: TaskFailure, application: Application, *hidden: str) -> str:
    """The failure and the stored texts name the incident in Chinese and hide the exception; returns the number."""
    incident = INCIDENT.search(failure.message)
    assert incident is not None and "系统出错" in failure.message, failure.message
    instance = application.instance
    assert (instance.status, instance.error) == ("error", failure.message)
    for stored in stored_texts(application.instance_id):
        for word in (*LEAKS, *hidden):
            assert word not in stored, (word, stored)
    return incident.group(1)


def raising(exc: BaseException) -> Callable[[], None]:
    def act() -> None:
        raise exc

    return act


def test_any_exception_of_an_operator_marks_the_application_and_retry_recovers(
    filling: Application, faulty: Engine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(faults, "act", raising(LookupError("ledger row 42 missing")))
    version = filling.instance.version
    with caplog.at_level(logging.ERROR, logger="app.engine.faults"), pytest.raises(TaskFailure) as failed:
        filling.complete(UNIT, reject("补充材料"))

    incident = assert_explained_in_chinese(failed.value, filling, "LookupError", "ledger")
    assert failed.value.message.startswith("[act] 处理“登记办理结果”时系统出错")
    assert (filling.stage, filling.task().task_name, filling.instance.version) == ("填写中", "fill", version + 1)
    assert filling.instance.failed_action["kind"] == "complete"  # type: ignore[index]
    logged = [r for r in caplog.records if incident in r.getMessage()]
    assert logged and "ledger row 42 missing" in caplog.text

    monkeypatch.delitem(faults, "act")
    faulty.runner.retry(filling.instance_id, ADMIN)
    assert (filling.instance.status, filling.stage, filling.data()["acted"]) == ("completed", "已完成", "act 完成")


def recurse_forever(*args: Any) -> Any:
    return recurse_forever(*args)


@pytest.mark.parametrize("where", ["operator", "engine"])
def test_a_recursion_error_in_a_step_is_an_error_state_not_a_crash(
    filling: Application, faulty: Engine, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Raised in an operator (the script engine guards it) or by the engine outside any guard."""
    if where == "operator":
        monkeypatch.setitem(faults, "act", recurse_forever)
    else:
        monkeypatch.setattr(PlatformScriptEngine, "call_service", recurse_forever)
    with pytest.raises(TaskFailure) as failed:
        filling.complete(UNIT, APPROVE)

    assert_explained_in_chinese(failed.value, filling, "recursion")
    assert failed.value.element_id == "act"
    monkeypatch.undo()
    faulty.runner.retry(filling.instance_id, ADMIN)
    assert filling.instance.status == "completed"


_TRIGGERS = {
    "sqlite": (
        "CREATE TRIGGER refuse_completion BEFORE INSERT ON audit_event WHEN NEW.action = 'complete' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger: INSERT INTO audit_event VALUES (...)'); END",
        "DROP TRIGGER IF EXISTS refuse_completion",
    ),
    "postgresql": (
        "CREATE FUNCTION refuse_completion() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.action = 'complete' THEN "
        "RAISE EXCEPTION 'refused by the test trigger: INSERT INTO audit_event VALUES (%)', NEW.reason; "
        "END IF; RETURN NEW; END $$; "
        "CREATE TRIGGER refuse_completion BEFORE INSERT ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION refuse_completion()",
        "DROP TRIGGER IF EXISTS refuse_completion ON audit_event; DROP FUNCTION IF EXISTS refuse_completion()",
    ),
}


@contextmanager
def database_refusing_the_save(backend: str) -> Iterator[dict[str, str]]:
    """Form data the input policy accepts and the database refuses when the completion is saved.

    A trigger refuses the completion's audit row with a message quoting SQL and the parameters,
    as a real database error would (a NUL byte no longer gets this far: the input policy refuses it).
    """
    create, drop = _TRIGGERS[backend]
    db.session.execute(text(create))
    db.session.commit()
    try:
        yield reject("材料不全")
    finally:
        db.session.rollback()
        db.session.execute(text(drop))
        db.session.commit()


def test_a_database_failure_while_saving_stores_no_sql_and_no_parameters(
    filling: Application, faulty: Engine, backend: str
) -> None:
    with database_refusing_the_save(backend) as data, pytest.raises(TaskFailure) as failed:
        filling.complete(UNIT, data)

    assert_explained_in_chinese(failed.value, filling, "材料", "refused", "INSERT")
    assert "保存办理结果时系统出错" in failed.value.message
    assert filling.instance.failed_action == {
        "kind": "complete",
        "task_id": filling.task().task_id,
        "data": data,
        "actor": UNIT.name,
        "role": UNIT.role,
    }
    faulty.runner.retry(filling.instance_id, ADMIN)  # the trigger is gone
    assert (filling.instance.status, filling.stage) == ("completed", "已完成")


def test_a_failing_start_is_explained_and_leaves_no_application(
    faulty: Engine, make_unit: Any, start: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(faults, "check", raising(ConnectionResetError("peer reset the connection")))
    with pytest.raises(TaskFailure) as failed:
        start("faults", make_unit())
    message = failed.value.message
    assert message.startswith("[check] 处理“核对单位信息”时系统出错，申请未能创建") and INCIDENT.search(message)
    assert "ConnectionResetError" not in message and "peer" not in message
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def broken_projection_for(instance_ids: set[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """Saving these applications fails (an OSError, as from a full disk); others save normally."""
    project = Projector.project

    def failing(self: Projector, instance: ProcessInstance, *args: Any) -> Changes:
        if instance.id in instance_ids:
            raise OSError(28, "No space left on device")
        return project(self, instance, *args)

    monkeypatch.setattr(Projector, "project", failing)


def waiting_for_review(engine: Engine, make_unit: Any, start: Any) -> Application:
    deploy_test_diagram(engine, "rounds.bpmn")
    application = start("rounds", make_unit(), {"rejections": 0})
    assert application.task().task_name == "review"
    return application


def test_a_fault_while_withdrawing_is_marked_and_retried(
    engine: Engine, make_unit: Any, start: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = waiting_for_review(engine, make_unit, start)
    broken_projection_for({application.instance_id}, monkeypatch)
    with pytest.raises(TaskFailure) as failed:
        engine.runner.withdraw(application.instance_id, UNIT)

    assert_explained_in_chinese(failed.value, application, "space", "OSError")
    assert (application.task().task_name, application.instance.failed_action) == (
        "review",
        {"kind": "withdraw", "actor": UNIT.name, "role": UNIT.role},
    )
    monkeypatch.undo()
    engine.runner.retry(application.instance_id, ADMIN)
    assert (application.instance.status, application.task().task_name) == ("running", "withdrawn")


def test_a_message_delivery_that_faults_is_left_out_and_the_others_go_on(
    engine: Engine, make_unit: Any, start: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken, healthy = (waiting_for_review(engine, make_unit, start) for _ in range(2))
    broken_projection_for({broken.instance_id}, monkeypatch)

    moved = engine.runner.correlate("撤回", UNIT, lambda session, now: ([""], {"note": "批量撤回"}))

    assert moved == [healthy.instance.business_key]
    assert healthy.task().task_name == "withdrawn"
    failed = broken.instance
    assert (failed.status, broken.task().task_name) == ("error", "review")
    assert failed.failed_action == {
        "kind": "message",
        "message": "撤回",
        "payload": {"note": "批量撤回"},
        "actor": UNIT.name,
        "role": UNIT.role,
    }
    assert INCIDENT.search(failed.error or "") and "保存办理结果时系统出错" in (failed.error or "")
    monkeypatch.undo()
    engine.runner.retry(broken.instance_id, ADMIN)
    assert (broken.instance.status, broken.task().task_name) == ("running", "withdrawn")
