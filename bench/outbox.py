"""Outbox delivery rate: e-mails per second `flask worker`'s delivery rounds hand to a local SMTP server.

Usage: python bench/outbox.py [--messages 2000] [--batch 50] [--workers 2]

Workload: `--messages` e-mails with a Chinese subject and body are queued, then delivery rounds of `--batch`
messages (the WORKER_BATCH_SIZE of the worker) run until none is due: claim, compose, send over one SMTP
connection per round to an aiosmtpd server on 127.0.0.1, mark sent, commit. Reported per database: messages
per second with one worker, and on PostgreSQL also with `--workers` threads sharing the outbox (SKIP LOCKED),
after checking that the server received every message exactly once. The server runs in the same process
and shares its interpreter, so the figures are a lower bound for a separate mail server.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import delete

from app import create_app
from app.extensions import db
from app.models import InAppMessage, OutboxMessage
from app.services import delivery, notifications
from bench._databases import fresh_postgres_url
from tests.smtp_sink import SmtpSink

BODY = (
    "您单位“鄂尔多斯市人民政府办公室”的网站标识申请已通过审核，网站标识代码已发放。"
    "请登录平台，在“标识管理”中查看并按要求挂标。"
)


def make_app(url: str, sink: SmtpSink, batch: int) -> Flask:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, **sink.settings(), "WORKER_BATCH_SIZE": batch})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
    return app


def queue(count: int, now: datetime) -> None:
    db.session.execute(delete(InAppMessage))
    db.session.execute(delete(OutboxMessage))
    for number in range(count):
        notifications.queue(
            db.session, None, {"email": f"unit{number}@example.cn"}, f"网站标识代码已发放 {number}", BODY, now
        )
    db.session.commit()


def drain(app: Flask, now: datetime) -> int:
    """Delivery rounds until one finds nothing due; returns the messages this worker sent."""
    sent = 0
    with app.app_context():
        while (report := delivery.run_round(db.session, app.config, now, app.config["WORKER_BATCH_SIZE"])).handled:
            db.session.commit()
            sent += report.sent
        db.session.commit()
        db.session.remove()
    return sent


def rate(app: Flask, sink: SmtpSink, messages: int, workers: int) -> float:
    """Messages per second with `workers` threads; checks each message arrived exactly once."""
    now = datetime.now(UTC)
    with app.app_context():
        queue(messages, now)
    sink.received.clear()
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(drain(app, now))) for _ in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    subjects = {received.message["Subject"] for received in sink.received}
    assert sum(results) == len(sink.received) == len(subjects) == messages, "a message was lost or sent twice"
    return messages / elapsed


def measure(label: str, url: str, sink: SmtpSink, args: argparse.Namespace, parallel: bool) -> None:
    app = make_app(url, sink, args.batch)
    rate(app, sink, min(100, args.messages), 1)  # warm-up: connections, caches
    print(f"{label}: {rate(app, sink, args.messages, 1):,.0f} messages/s with one worker")
    if parallel:
        print(f"{label}: {rate(app, sink, args.messages, args.workers):,.0f} messages/s with {args.workers} workers")
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"{args.messages} e-mails, rounds of {args.batch}, local aiosmtpd server")
    with SmtpSink() as sink:
        with tempfile.TemporaryDirectory() as folder:
            measure("SQLite", f"sqlite:///{folder}/bench.sqlite3", sink, args, parallel=False)
        pg_url = fresh_postgres_url("conac_bench_outbox")
        if pg_url:
            measure("PostgreSQL", pg_url, sink, args, parallel=True)


if __name__ == "__main__":
    main()
