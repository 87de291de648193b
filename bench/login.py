"""Time of one login attempt by outcome: an unknown name must cost what a known one costs.

Usage: python bench/login.py [--attempts 30]

Measures `accounts.authenticate` (one argon2 computation on every path) for an unknown name, a
known name with a wrong password, a locked account and a right password, on SQLite, in one run,
and prints each median and its ratio to the unknown name's.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.models import User
from app.services import accounts
from app.services.errors import ServiceRefusal

PASSWORD = "Bench2026xq"


def median_ms(attempt: Callable[[], object], count: int) -> float:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        with contextlib.suppress(ServiceRefusal):  # refusals are the point: they must cost the same
            attempt()
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=30)
    count = parser.parse_args().attempts
    folder = Path(tempfile.mkdtemp())
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'login.sqlite3'}"})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
        digest = accounts.hash_password(PASSWORD)
        for name in ("known", "locked"):
            db.session.add(User(username=name, display_name=name, password_hash=digest, role="编办"))
        db.session.commit()
        locked = db.session.scalar(db.select(User).where(User.username == "locked"))
        locked.locked_until = datetime.now(UTC) + timedelta(days=1)
        db.session.commit()
        now = datetime.now(UTC)
        cases = {
            "unknown name": lambda: accounts.authenticate(db.session, "nobody", "wrong1234", now),
            "wrong password": lambda: accounts.authenticate(db.session, "known", "wrong1234", now),
            "locked account": lambda: accounts.authenticate(db.session, "locked", PASSWORD, now),
            "right password": lambda: accounts.authenticate(db.session, "known", PASSWORD, now),
        }
        results = {label: median_ms(attempt, count) for label, attempt in cases.items()}
    base = results["unknown name"]
    print(f"login attempt, median of {count} (ms; ratio to an unknown name)")
    for label, value in results.items():
        print(f"  {label:<16} {value:8.1f} ms   {value / base:5.2f}x")


if __name__ == "__main__":
    main()
