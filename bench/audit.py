"""Cost of the audit trail's SM3 hash chain: appends per second with and without it, and rows verified per second.

Usage: python bench/audit.py [--appends 800] [--threads 8] [--verify-rows 50000]

For SQLite (a temporary file) and PostgreSQL (when 127.0.0.1:5432 answers), on fresh databases:
- plain: the INSERT `audit.record` did before the chain (same row, hash columns filled with a constant);
- chain: `audit.record` as it is (lock the head, SM3, INSERT, move the head);
each once from one thread and once from --threads threads at the same time, one transaction per event
as the runner commits each action. Then --verify-rows rows are added and `audit_chain.verify` walks them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.models import AuditEvent
from app.models._types import utcnow
from app.services import audit, audit_chain
from app.services.audit import Actor
from bench._databases import fresh_postgres_url

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
ACTOR = Actor("bench-reviewer", "编办", "10.1.2.3")
DETAIL = {"record_id": 42, "domain": "测试单位.政务", "host": "www", "value": "192.0.2.10"}


def plain_append() -> None:
    """The pre-chain INSERT of one event, hash columns set to a constant."""
    values = dict(
        actor=ACTOR.name, role=ACTOR.role, ip=ACTOR.ip, instance_id=None, action="complete", task_name="first_review",
        task_title="初审", decision="approve", reason=None, detail=DETAIL, at=utcnow(),
        seq=0, prev_hash="0" * 64, row_hash="0" * 64,
    )  # fmt: skip
    db.session.connection().execute(AuditEvent.__table__.insert(), values)


def chained_append() -> None:
    audit.record(
        db.session, ACTOR, "complete", task=("first_review", "初审"), data={"decision": "approve"}, detail=DETAIL
    )


def per_second(app: Flask, append: Callable[[], None], threads: int, each: int) -> float:
    """Events per second when `threads` threads append `each` events, one commit per event."""
    barrier = threading.Barrier(threads + 1)

    def worker() -> None:
        with app.app_context():
            barrier.wait()
            for _ in range(each):
                append()
                db.session.commit()
            db.session.remove()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in workers:
        thread.join()
    return threads * each / (time.perf_counter() - started)


def fresh_app(url: str) -> Flask:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="heads")
    return app


def bench_backend(name: str, urls: dict[str, str], options: argparse.Namespace) -> None:
    results: dict[str, dict[str, float]] = {}
    for kind, append in (("plain", plain_append), ("chain", chained_append)):
        app = fresh_app(urls[kind])
        one = per_second(app, append, 1, options.appends)
        many = per_second(app, append, options.threads, options.appends // options.threads)
        results[kind] = {"one": one, "many": many}
        if kind == "chain":
            report_verify(app, options.verify_rows)
        with app.app_context():
            db.engine.dispose()
    for label, key in (("1 thread", "one"), (f"{options.threads} threads", "many")):
        plain, chain = results["plain"][key], results["chain"][key]
        extra_ms = (1 / chain - 1 / plain) * 1000 * (options.threads if key == "many" else 1)
        print(
            f"{name:10} {label:10} appends/s plain {plain:8.0f}  chain {chain:8.0f}  "
            f"({chain / plain:.0%}; +{extra_ms:.2f} ms per event and thread)"
        )


def report_verify(app: Flask, rows: int) -> None:
    with app.app_context():
        for start in range(0, rows, 1000):
            for _ in range(min(1000, rows - start)):
                chained_append()
            db.session.commit()
        with db.engine.connect() as connection:
            report = audit_chain.verify(connection)
    assert report.problem is None, report.problem
    print(f"verify: {report.rows} rows in {report.seconds:.2f} s = {report.rows_per_second:,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appends", type=int, default=800)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--verify-rows", type=int, default=50000)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    sqlite = {kind: f"sqlite:///{folder / f'audit-{kind}.sqlite3'}" for kind in ("plain", "chain")}
    print(f"audit appends, one transaction each: {options.appends} per run")
    bench_backend("SQLite", sqlite, options)
    postgres = {kind: fresh_postgres_url(f"bench_audit_{kind}") for kind in ("plain", "chain")}
    if all(postgres.values()):
        bench_backend("PostgreSQL", postgres, options)  # type: ignore[arg-type]
    else:
        print("PostgreSQL not reachable on 127.0.0.1:5432: SQLite only")


if __name__ == "__main__":
    main()
