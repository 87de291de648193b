"""The audit trail is tamper-evident: an SM3 hash chain that `flask audit verify` walks, triggers that refuse
UPDATE and DELETE (and TRUNCATE), grants that leave the application's PostgreSQL role INSERT and SELECT only,
appends serialised under concurrency, and archiving that never touches rows younger than the retention.

Tampering is done as the tables' owner would: guard triggers lifted (tests/conftest.py audit_guards_lifted)
and raw SQL; the application's own connection is refused.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.extensions import db
from app.models import AuditChainHead, AuditEvent
from app.models.audit import GENESIS_HASH
from app.services import audit, audit_archive, audit_chain, audit_guard
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from tests.conftest import (
    APPROVE,
    BIANBAN,
    CONAC,
    PG_SERVER,
    PROJECT_ROOT,
    TEST_APPLICATION,
    TWO_REVIEWS,
    UNIT,
    _drop_postgres_database,
    _fresh_postgres_database,
    audit_guards_lifted,
)
from tests.test_runner import in_threads

TESTER = Actor("auditor-probe", "CONAC", "10.0.0.7")
REFUSED = "审计日志只能追加"


def probe(count: int, label: str = "probe") -> list[int]:
    """`count` events through audit.record, committed; their ids."""
    for number in range(count):
        audit.record(db.session, TESTER, label, detail={"n": number, "nested": {"b": 1, "a": [1, 2]}})
    db.session.commit()
    return list(db.session.scalars(select(AuditEvent.id).where(AuditEvent.action == label).order_by(AuditEvent.id)))


def verify() -> audit_chain.Report:
    db.session.commit()
    with db.engine.connect() as connection:
        return audit_chain.verify(connection)


def tamper(statement: Any) -> None:
    """Run `statement` as the owner would: with the append-only triggers lifted for it."""
    with audit_guards_lifted():
        db.session.execute(statement)
    db.session.commit()


def backend(app: Flask) -> str:
    return str(app.config["BACKEND"])


# ---- the chain -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("two_reviews")
def test_the_chain_over_many_actions_verifies_and_is_sm3_of_the_previous_hash_and_the_content(
    make_unit: Any, start: Any, remit_and_confirm: Any
) -> None:
    applications = []
    for number in range(5):
        form = {**TEST_APPLICATION, "domain_name": f"测试单位{number}.政务"}
        application = start(TWO_REVIEWS, make_unit()).complete(UNIT, form)
        application.complete(BIANBAN, APPROVE).complete(CONAC, APPROVE)
        applications.append(application.complete(BIANBAN, {"invoice_no": f"FP{number:04d}", "years": 1}))
    remit_and_confirm([a.charge() for a in applications])
    probe(50)

    report = verify()

    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert report.problem is None
    assert report.rows == total == report.head_length >= 70
    first, second = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id).limit(2))
    assert (first.seq, first.prev_hash, second.seq, second.prev_hash) == (1, GENESIS_HASH, 2, first.row_hash)
    content = [
        first.seq,
        first.at.astimezone(UTC).isoformat(timespec="microseconds"),
        first.actor,
        first.role,
        first.ip,
        first.instance_id,
        first.task_name,
        first.task_title,
        first.action,
        first.decision,
        first.reason,
        first.detail,
    ]
    expected = hashlib.new("sm3", GENESIS_HASH.encode() + orjson.dumps(content, option=orjson.OPT_SORT_KEYS))
    assert first.row_hash == expected.hexdigest()
    assert report.head_hash == db.session.scalar(select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1))
    confirmed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "remittance_confirm")).one()
    assert (confirmed.actor, sorted(confirmed.detail["charges"])) == (
        CONAC.name,
        sorted(a.charge().id for a in applications),
    )


def test_flask_deploy_of_a_new_version_is_audited(app: Flask) -> None:
    diagram = PROJECT_ROOT / "tests" / "diagrams" / "rounds.bpmn"
    args = ["deploy", str(diagram), "--root", str(PROJECT_ROOT / "tests"), "--as", "policy-li", "--comment", "试点"]

    assert app.test_cli_runner().invoke(args=args).exit_code == 0
    assert app.test_cli_runner().invoke(args=args).exit_code == 0  # unchanged: no new version, no event

    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "deploy")).all()
    assert (event.actor, event.role, event.detail["via"], event.detail["comment"]) == (
        "policy-li",
        "命令行",
        "flask deploy",
        "试点",
    )
    assert verify().problem is None


def test_an_edited_row_is_named(app: Flask) -> None:
    ids = probe(10)

    tamper(update(AuditEvent).where(AuditEvent.id == ids[4]).values(reason="事后改写的理由"))

    problem = verify().problem
    assert problem is not None
    assert (problem.kind, problem.event_id) == ("edited", ids[4])
    assert f"id {ids[4]} 被改动" in problem.message


def test_a_row_edited_with_its_hash_recomputed_breaks_the_link_to_the_next(app: Flask) -> None:
    ids = probe(10)
    row = db.session.get(AuditEvent, ids[4])
    forged = {**{key: getattr(row, key) for key in audit_chain.CONTENT}, "actor": "someone-else"}

    tamper(
        update(AuditEvent)
        .where(AuditEvent.id == ids[4])
        .values(actor="someone-else", row_hash=audit_chain.row_hash(row.prev_hash, forged))
    )

    problem = verify().problem
    assert problem is not None
    assert (problem.kind, problem.event_id) == ("relinked", ids[5])
    assert f"id {ids[4]} 之后" in problem.message


def test_a_deleted_row_is_named_by_its_neighbours(app: Flask) -> None:
    ids = probe(10)

    tamper(delete(AuditEvent).where(AuditEvent.id == ids[4]))

    problem = verify().problem
    assert problem is not None
    assert (problem.kind, problem.event_id) == ("deleted", ids[5])
    assert f"id {ids[3]} 之后、id {ids[5]} 之前的 1 行（链序号 5）被删除" == problem.message


def test_rows_cut_off_the_end_are_found_by_the_chain_head(app: Flask) -> None:
    ids = probe(10)

    tamper(delete(AuditEvent).where(AuditEvent.id >= ids[8]))

    problem = verify().problem
    assert problem is not None
    assert problem.kind == "deleted"
    assert f"id {ids[7]} 之后的 2 行（链序号 9–10）被删除" in problem.message


def _forged_row(seq: int, prev_hash: str, row_hash: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = dict(
        at=datetime.now(UTC),
        actor="intruder",
        role="CONAC",
        ip="10.6.6.6",
        instance_id=None,
        task_name=None,
        task_title=None,
        action="login",
        decision=None,
        reason=None,
        detail={},
        seq=seq,
        prev_hash=prev_hash,
    )
    row["row_hash"] = row_hash or audit_chain.row_hash(prev_hash, row)
    return row


def test_a_forged_row_inserted_with_a_correct_hash_is_named(app: Flask) -> None:
    """INSERT is allowed to the application, so a forger can append a row whose hash is right: the chain
    head, which only audit.record moves, does not count it."""
    probe(10)
    head = db.session.get(AuditChainHead, 1)

    db.session.execute(insert(AuditEvent).values(_forged_row(head.length + 1, head.last_hash)))
    db.session.commit()

    problem = verify().problem
    forged_id = db.session.scalar(select(AuditEvent.id).where(AuditEvent.actor == "intruder"))
    assert problem is not None
    assert (problem.kind, problem.event_id) == ("inserted", forged_id)
    assert "绕过应用插入" in problem.message


def test_a_forged_row_taking_an_existing_place_in_the_chain_is_named(app: Flask) -> None:
    ids = probe(10)
    last = db.session.get(AuditEvent, ids[-1])

    db.session.execute(insert(AuditEvent).values(_forged_row(last.seq, last.prev_hash, row_hash="f" * 64)))
    db.session.commit()

    problem = verify().problem
    forged_id = db.session.scalar(select(AuditEvent.id).where(AuditEvent.actor == "intruder"))
    assert problem is not None
    assert (problem.kind, problem.event_id) == ("inserted", forged_id)


def test_a_rewritten_chain_is_caught_by_an_anchor_kept_outside(app: Flask) -> None:
    """A forger who recomputes every hash after an edit and moves the head passes the table's own check;
    the anchor printed by an earlier verify (kept in the central log) does not match any more."""
    ids = probe(6)
    anchor = audit_chain.Anchor(verify().head_length, verify().head_hash)
    rows = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    prev = rows[1].row_hash
    with audit_guards_lifted():
        for row in rows[2:]:
            content = {key: getattr(row, key) for key in audit_chain.CONTENT}
            content["reason"] = "重写" if row.id == ids[2] else content["reason"]
            digest = audit_chain.row_hash(prev, content)
            statement = update(AuditEvent).where(AuditEvent.id == row.id)
            db.session.execute(statement.values(reason=content["reason"], prev_hash=prev, row_hash=digest))
            prev = digest
        db.session.execute(update(AuditChainHead).values(last_hash=prev))
    db.session.commit()

    assert verify().problem is None
    with db.engine.connect() as connection:
        problem = audit_chain.verify(connection, anchor).problem
    assert problem is not None
    assert (problem.kind, problem.event_id) == ("rewritten", ids[-1])


# ---- append-only in the database -------------------------------------------------------------------------


def test_update_delete_and_truncate_through_the_apps_connection_are_refused(app: Flask) -> None:
    ids = probe(3)
    refused = [
        update(AuditEvent).where(AuditEvent.id == ids[0]).values(reason="改"),
        delete(AuditEvent).where(AuditEvent.id == ids[1]),
        delete(AuditEvent),
        delete(AuditChainHead),
    ]
    if backend(app) == "postgresql":
        refused += [text("TRUNCATE audit_event"), text("TRUNCATE audit_chain_head CASCADE")]
    for statement in refused:
        with pytest.raises(DBAPIError, match=REFUSED):
            db.session.execute(statement)
        db.session.rollback()

    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 3
    assert verify().problem is None


def test_the_app_role_on_postgresql_may_only_insert_and_select(app: Flask) -> None:
    """Production connects as a role that does not own the tables (docs/audit.md); with the grants of the
    migration it cannot UPDATE even with the triggers gone, nor lift the triggers itself."""
    if backend(app) != "postgresql":
        pytest.skip("database roles and grants are PostgreSQL's")
    role = f"audit_app_{uuid.uuid4().hex[:8]}"
    connection = db.session.connection()
    connection.execute(text(f"CREATE ROLE {role} NOLOGIN"))  # rolled back with everything below
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    audit_guard.restrict_app_role(connection, role)
    audit_guard.remove(connection)  # as the owner: only the grants stand in the way now
    connection.execute(text(f"SET LOCAL ROLE {role}"))
    audit.record(db.session, TESTER, "insert-as-app-role")
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1
    connection.execute(text("SAVEPOINT attempt"))
    for statement in ("UPDATE audit_event SET reason = 'x'", "DELETE FROM audit_event", "TRUNCATE audit_event"):
        with pytest.raises(DBAPIError, match="permission denied"):
            connection.execute(text(statement))
        connection.execute(text("ROLLBACK TO SAVEPOINT attempt"))
    with pytest.raises(DBAPIError, match="must be owner"):
        connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    db.session.rollback()


def test_concurrent_appends_form_one_unbroken_chain(app: Flask) -> None:
    threads, each = 12, 15

    def appender(number: int) -> None:
        for step in range(each):
            audit.record(db.session, Actor(f"thread-{number}", "CONAC"), "concurrent", detail={"step": step})
            db.session.commit()

    results = in_threads(app, [lambda n=n: appender(n) for n in range(threads)])

    assert [r for r in results if r is not None] == []
    report = verify()
    assert report.problem is None
    assert report.rows == report.head_length == threads * each
    seqs = db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.id)).all()
    assert seqs == list(range(1, threads * each + 1))


# ---- flask audit verify ----------------------------------------------------------------------------------


def test_the_cli_exits_0_on_a_sound_chain_1_on_tampering_and_2_without_the_guards(app: Flask) -> None:
    ids = probe(5)
    runner = app.test_cli_runner()

    sound = runner.invoke(args=["audit", "verify"])
    assert sound.exit_code == 0, sound.output
    assert "已校验 5 行" in sound.output and "行/秒" in sound.output and "锚点：5:" in sound.output
    anchor = sound.output.split("锚点：")[1].split("（")[0]
    assert runner.invoke(args=["audit", "verify", "--anchor", anchor]).exit_code == 0
    assert runner.invoke(args=["audit", "verify", "--anchor", "5:xyz"]).exit_code == 2  # click: bad parameter

    db.session.execute(text("SELECT 1"))  # the driver's transaction is open before the triggers go
    audit_guard.remove(db.session.connection())
    db.session.commit()
    unguarded = runner.invoke(args=["audit", "verify"])
    assert unguarded.exit_code == 2
    assert "audit_event" in unguarded.output
    db.session.execute(update(AuditEvent).where(AuditEvent.id == ids[2]).values(actor="nobody"))
    audit_guard.install(db.session.connection())
    db.session.commit()

    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert "已校验 2 行" in broken.output
    assert f"id {ids[2]} 被改动" in broken.output


# ---- start-up and retention ------------------------------------------------------------------------------


def test_start_up_refuses_without_sm3_and_with_a_short_retention(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    with pytest.raises(RuntimeError, match="AUDIT_RETENTION_DAYS 不得少于 180 天"):
        create_app({**settings, "AUDIT_RETENTION_DAYS": 179})

    def no_sm3(name: str, *args: Any) -> Any:
        raise ValueError(f"unsupported hash type {name}")

    monkeypatch.setattr(audit_chain.hashlib, "new", no_sm3)
    with pytest.raises(RuntimeError, match="不提供 SM3"):
        create_app(settings)


def _age(ids: list[int], days: int) -> None:
    """Move events back in time the way only the owner could, then re-chain them so the chain is sound."""
    old = datetime.now(UTC) - timedelta(days=days)
    prev = GENESIS_HASH
    with audit_guards_lifted():
        for row in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all():
            at = old if row.id in ids else row.at
            content = {**{key: getattr(row, key) for key in audit_chain.CONTENT}, "at": at}
            digest = audit_chain.row_hash(prev, content)
            db.session.execute(
                update(AuditEvent).where(AuditEvent.id == row.id).values(at=at, prev_hash=prev, row_hash=digest)
            )
            prev = digest
        db.session.execute(update(AuditChainHead).values(last_hash=prev))
    db.session.commit()


def test_archiving_moves_only_rows_older_than_the_retention_and_both_parts_verify(app: Flask, tmp_path: Path) -> None:
    ids = probe(8)
    _age(ids[:5], days=179)  # younger than the retention: these stay
    _age(ids[:3], days=200)
    target = tmp_path / "audit-2026.jsonl"
    runner = app.test_cli_runner()

    result = runner.invoke(args=["audit", "archive", "--to", str(target)])

    assert result.exit_code == 0, result.output
    assert "已归档 3 行" in result.output
    remaining = db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
    assert remaining[:5] == ids[3:]
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.id == remaining[-1])) == "audit_archive"
    assert verify().problem is None
    archived = runner.invoke(args=["audit", "verify", "--file", str(target)])
    assert archived.exit_code == 0 and "已校验 3 行" in archived.output
    head = db.session.get(AuditChainHead, 1)
    assert (head.start_seq, head.start_hash) == (3, archived.output.split("锚点：3:")[1][:64])

    again = runner.invoke(args=["audit", "archive", "--to", str(tmp_path / "again.jsonl")])
    assert again.exit_code == 0 and "没有早于 180 天的审计日志" in again.output


def test_archiving_refuses_a_retention_under_180_days_and_a_broken_chain(app: Flask, tmp_path: Path) -> None:
    ids = probe(4)
    with pytest.raises(ServiceRefusal, match="至少保留 180 天"):
        audit_archive.archive(db.session, tmp_path / "a.jsonl", datetime.now(UTC), 90)
    db.session.rollback()
    tamper(update(AuditEvent).where(AuditEvent.id == ids[1]).values(actor="nobody"))
    with pytest.raises(ServiceRefusal, match="哈希链已损坏"):
        audit_archive.archive(db.session, tmp_path / "b.jsonl", datetime.now(UTC) + timedelta(days=400), 180)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 4


# ---- the migration ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_migration_chains_rows_written_before_it_in_id_order(database: str, tmp_path: Path) -> None:
    from tests.conftest import BACKENDS

    if database not in BACKENDS:
        pytest.skip("PostgreSQL is not reachable")
    name = _fresh_postgres_database() if database == "postgresql" else None
    url = f"{PG_SERVER}/{name}" if name else f"sqlite:///{tmp_path / 'old.sqlite3'}"
    migrations = str(PROJECT_ROOT / "migrations")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            upgrade(directory=migrations, revision="f1c0de5a0811")
            columns = "at, actor, role, action, detail"
            old = text(f"INSERT INTO audit_event ({columns}) VALUES (:at, :actor, '编办', 'login', :detail)")
            for number in range(25):
                at = datetime(2026, 1, 1, 8, 0, number, 123456, tzinfo=UTC)
                db.session.execute(old, {"at": at, "actor": f"user{number}", "detail": f'{{"n": {number}}}'})
            db.session.commit()
            upgrade(directory=migrations, revision="f3c0de5a0813")
            report = verify()
            assert report.problem is None
            assert report.rows == report.head_length == 25
            audit.record(db.session, TESTER, "after-migration")
            db.session.commit()
            assert verify().rows == 26
            assert audit_guard.missing(db.session.connection()) == []
            db.session.remove()
            db.engine.dispose()
    finally:
        if name:
            _drop_postgres_database(name)
