"""统计 page at scale on PostgreSQL: the time of each figure's query and of the whole page, per reader.

Usage: python bench/dashboards.py [--size 200000] [--runs 5] [--keep] [--before REV]

Data, generated with COPY into conac_bench_dashboards_<size> (--keep keeps it and reuses it next time): 编办
offices for 31 provinces × 10 cities × 9 counties and CONAC; size / 2 units, 6 % of them in 鄂尔多斯 (the demo
编办:150600) and the rest over the counties; `size` applications of the shipped procedures over three years,
the last month's (about 3 %) still open with one reviewer work item due 5 days after it arrived; two
`complete` audit events with their wait per finished application; one domain and one collected charge per
unit; a badge 逾期未挂标 for 5 % of the units.

Readers: 内蒙古 (a province 编办 whose cities all have offices: few units of its own in a range of many),
东胜区 (a county 编办 with few units), 鄂尔多斯 (the big city office) and CONAC (the whole country),
each over the default 12 months and the longest period, 36 months. Times are medians over --runs runs after a
warm-up, of the service calls (SQL and the grouped rows; no template).

--before REV first times the dashboards code of git revision REV (a commit without migration fj13a0000006, e.g.
HEAD while this change is uncommitted) on the same data without that migration's indexes and task-wait tables,
then puts them back (the migration's upgrade, which copies the existing completions) and times this tree's code:
both in one run, on one machine state.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# --before runs this file again on an older revision's app package (exported to a temporary folder).
sys.path.insert(0, os.environ.get("BENCH_APP_ROOT", str(Path(__file__).resolve().parent.parent)))

import psycopg
from alembic.migration import MigrationContext
from alembic.operations import Operations
from flask_migrate import upgrade
from sqlalchemy import select

from app import create_app
from app.engine import get_engine
from app.extensions import db
from app.models import Office, ProcessInstance, WorkflowDefinition
from app.services import dashboards, demo

SERVER = "postgresql://postgres@127.0.0.1:5432"
ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
MIGRATION = MIGRATIONS / "versions" / "20261204_1400_dashboard_indexes.py"  # what --before takes away
BIG_REGION = "150600"
START = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)
OPEN_SINCE = NOW - timedelta(days=30)
READERS = (
    ("内蒙古 编办", "编办", "编办:150000"),
    ("东胜区 编办", "编办", "编办:150602"),
    ("鄂尔多斯 编办", "编办", "编办:150600"),
    ("CONAC", "CONAC", "CONAC"),
)


def counties() -> list[str]:
    return [f"{p}{c:02d}{d:02d}" for p in range(11, 42) for c in range(1, 11) for d in range(1, 10)]


def office_regions() -> list[str]:
    cities = {f"{p}{c:02d}00" for p in range(11, 42) for c in range(1, 11)}
    return sorted({f"{p}0000" for p in range(11, 42)} | cities | set(counties()))


# ---- data ------------------------------------------------------------------------------------


def prepare(size: int, keep: bool) -> str:
    name = f"conac_bench_dashboards_{size}"
    with psycopg.connect(f"{SERVER}/test", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and keep:
            return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="heads")
        demo.seed(db.session)
        db.session.commit()
        get_engine().deploy_folder("bench")
        definitions = list(db.session.scalars(select(WorkflowDefinition.id)))
    started = time.perf_counter()
    generate(f"{SERVER}/{name}", size, definitions)
    print(f"generated {size:,} applications in {time.perf_counter() - started:.0f} s")
    return url


def generate(url: str, size: int, definitions: list[int]) -> None:
    rng = random.Random(size)
    places = counties()
    units = [BIG_REGION if rng.random() < 0.06 else rng.choice(places) for _ in range(max(size // 2, 100))]
    with psycopg.connect(url) as conn:
        known = {row[0] for row in conn.execute("SELECT code FROM office")}
        offices = [(f"编办:{r}", f"{r} 编办", "编办", r) for r in office_regions() if f"编办:{r}" not in known]
        _copy(conn, "office", ("code", "name", "kind", "region_code"), iter(offices))
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM unit").fetchone()[0]  # type: ignore[index]
        _copy(conn, "unit", UNIT_COLUMNS, _units(first, units))
        _copy(conn, "process_instance", INSTANCE_COLUMNS, _instances(rng, size, first, len(units), definitions))
        _copy(conn, "work_item", ITEM_COLUMNS, _items(size, first, units))
        _copy(conn, "instance_office", ("instance_id", "office_code"), _instance_offices(size, first, units))
        _copy(conn, "audit_event", AUDIT_COLUMNS, _audit(size))
        _copy(conn, "domain", DOMAIN_COLUMNS, _domains(rng, first, len(units)))
        _copy(conn, "charge", CHARGE_COLUMNS, _charges(first, len(units)))
        _copy(conn, "certificate", CERTIFICATE_COLUMNS, _certificates(first, len(units)))
        _copy(conn, "placement_status", STATUS_COLUMNS, _statuses(len(units)))
        for table in ("unit", "process_instance", "domain", "certificate"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
    vacuum(url)


def vacuum(url: str) -> None:
    """Statistics and the visibility map (index-only scans), as autovacuum keeps them in production."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _copy(conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> None:
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


UNIT_COLUMNS = ("id", "name", "uscc", "unit_type", "nature", "affiliation", "region_code", "level", "address",
                "postcode", "leader", "functions", "created_at")  # fmt: skip
INSTANCE_COLUMNS = ("id", "business_key", "definition_id", "unit_id", "stage", "status", "state",
                    "serializer_version", "version", "created_by", "created_at", "updated_at")  # fmt: skip
ITEM_COLUMNS = ("instance_id", "task_id", "task_name", "title", "role", "office_code", "unit_id", "stage",
                "properties", "created_at", "due_at")  # fmt: skip
AUDIT_COLUMNS = ("at", "actor", "role", "instance_id", "task_name", "task_title", "action", "detail", "seq",
                 "prev_hash", "row_hash")  # fmt: skip
DOMAIN_COLUMNS = ("id", "unit_id", "name", "ascii_name", "suffix", "status", "status_reason", "years", "host_mode",
                  "host_ip", "host_url", "contact_name", "contact_mobile", "contact_email", "registered_on",
                  "created_at")  # fmt: skip
CHARGE_COLUMNS = ("unit_id", "domain_id", "purpose", "years", "tariff_yuan", "amount_yuan", "status",
                  "collected_at", "created_at")  # fmt: skip
CERTIFICATE_COLUMNS = ("id", "public_id", "unit_id", "colour", "site_name", "domains", "english_domain", "functions",
                       "issuer_name", "status", "issued_at", "revoked_by", "revoke_reason")  # fmt: skip
STATUS_COLUMNS = ("certificate_id", "location", "english_domain", "server_ip", "found", "deadline_result",
                  "deadline_recorded_at")  # fmt: skip


def _units(first: int, regions: list[str]) -> Iterator[tuple[Any, ...]]:
    for n, region in enumerate(regions):
        yield (first + n, f"单位{n}", f"BENCH{n:013d}", "党政机关", "", "", region, "county", "", "", "", "", START)


def _moment(n: int, size: int) -> datetime:
    """Application n's start: spread evenly over the three years, the last ones in the last month."""
    return START + (NOW - START) * (n + 0.5) / size


def _instances(rng: random.Random, size: int, first: int, units: int, definitions: list[int]) -> Iterator[tuple]:
    for n in range(size):
        at = _moment(n, size)
        stage, status = ("待审核", "running") if at >= OPEN_SINCE else (rng.choice(("注册成功", "已生效")), "completed")
        yield (n + 1, f"YM{n:012d}", rng.choice(definitions), first + n % units, stage, status, "{}", "bench", 1,
               "bench", at, at)  # fmt: skip


def _items(size: int, first: int, regions: list[str]) -> Iterator[tuple[Any, ...]]:
    for n in range(size):
        at = _moment(n, size)
        if at >= OPEN_SINCE:
            unit = n % len(regions)
            role, office = ("CONAC", "CONAC") if n % 5 == 0 else ("编办", f"编办:{regions[unit]}")
            yield (n + 1, f"bench-{n:030d}", "review", f"{role}审核", role, office, first + unit, "待审核", "{}", at,
                   at + timedelta(days=5))  # fmt: skip


def _instance_offices(size: int, first: int, regions: list[str]) -> Iterator[tuple[Any, ...]]:
    for n in range(size):
        yield (n + 1, f"编办:{regions[n % len(regions)]}")
        if _moment(n, size) < OPEN_SINCE or n % 5 == 0:
            yield (n + 1, "CONAC")


def _audit(size: int) -> Iterator[tuple[Any, ...]]:
    """The 编办's and CONAC's completions of each finished application, with their waits."""
    seq = 0
    for n in range(size):
        at = _moment(n, size)
        if at >= OPEN_SINCE:
            continue
        for role, hours in (("编办", 2 + n % 70), ("CONAC", 1 + n % 30)):
            seq += 1
            at += timedelta(hours=hours)
            detail = f'{{"waited_seconds": {hours * 3600}}}'
            yield (at, "bench", role, n + 1, "review", f"{role}审核", "complete", detail, seq, "0" * 64, "0" * 64)


def _registered(n: int, units: int) -> date:
    return (START + (NOW - START) * (n + 0.5) / units).date()


def _domains(rng: random.Random, first: int, units: int) -> Iterator[tuple[Any, ...]]:
    for n in range(units):
        yield (n + 1, first + n, f"单位{n}.政务", f"xn--bench{n}", "政务", "active", "", rng.randint(1, 5), "none", "",
               "", "", "", "", _registered(n, units), START)  # fmt: skip


def _charges(first: int, units: int) -> Iterator[tuple[Any, ...]]:
    for n in range(units):
        collected = datetime.combine(_registered(n, units), datetime.min.time(), UTC) - timedelta(hours=30)
        yield (first + n, n + 1, "register", 1, 300, 300, "confirmed", collected, START)


def _certificates(first: int, units: int) -> Iterator[tuple[Any, ...]]:
    for n in range(0, units, 20):
        yield (n + 1, f"{n:032X}", first + n, "red", f"网站{n}", "[]", "", "", "", "valid", START, "", "")


def _statuses(units: int) -> Iterator[tuple[Any, ...]]:
    for n in range(0, units, 20):
        yield (n + 1, "red_page", "", "", False, "overdue", NOW - timedelta(days=10))


# ---- timing ----------------------------------------------------------------------------------


def median_ms(call: Callable[[], Any], runs: int) -> float:
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def figures(scope: dashboards.Scope, period: dashboards.Period) -> dict[str, Callable[[], Any]]:
    session, d = db.session, dashboards
    return {
        "by procedure": lambda: d.applications_by_procedure(session, scope, period),
        "by stage": lambda: d.applications_by_stage(session, scope, period),
        "by region": lambda: d.applications_by_region(session, scope, period),
        "overdue reviews": lambda: d.overdue_reviews(session, scope, NOW),
        "overdue badges": lambda: d.overdue_badges(session, scope),
        "time per stage": lambda: d.stage_times(session, scope, period),
        "per month": lambda: d.months(session, scope, period),
        "whole page": lambda: d.build(session, scope, period, NOW),
    }


def report(url: str, runs: int, label: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        total = db.session.query(ProcessInstance).count()
        print(f"{label}: {total:,} applications; median ms over {runs} runs")
        for name, role, code in READERS:
            office = db.session.scalar(select(Office).where(Office.code == code))
            scope = dashboards.scope_for(db.session, SimpleNamespace(role=role, office=office))
            assert scope is not None
            for months in (dashboards.DEFAULT_MONTHS, dashboards.MAX_MONTHS):
                period = dashboards.Period(
                    dashboards.month_start(NOW.date(), 1 - months), dashboards.month_start(NOW.date())
                )
                page = dashboards.build(db.session, scope, period, NOW)
                counted = sum(c.count for c in page.by_procedure)
                times = {figure: median_ms(call, runs) for figure, call in figures(scope, period).items()}
                parts = "  ".join(f"{figure} {ms:.0f}" for figure, ms in times.items())
                print(f"{name:10} {months:2} months, {counted:>8,} applications: {parts}", flush=True)


def report_before(url: str, runs: int, revision: str) -> None:
    """Time `revision`'s dashboards code without this migration's schema, then put the schema back."""
    migrate(url, "downgrade")
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "app"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
        command = [sys.executable, __file__, "--report", url, "--runs", str(runs), "--label", f"before ({revision})"]
        subprocess.run(command, check=True, env={**os.environ, "BENCH_APP_ROOT": folder})
    migrate(url, "upgrade")


def migrate(url: str, direction: str) -> None:
    """Run the dashboards migration's upgrade or downgrade alone, leaving alembic_version as it is."""
    spec = importlib.util.spec_from_file_location("dashboard_indexes", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context(), db.engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
        getattr(migration, direction)()
    vacuum(url.replace("+psycopg", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database and reuse it next time")
    parser.add_argument("--before", metavar="REV", help="first time git revision REV's code without the migration")
    parser.add_argument("--report", metavar="URL", help=argparse.SUPPRESS)  # --before's run of the older code
    parser.add_argument("--label", default="after", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report:
        report(args.report, args.runs, args.label)
        return
    url = prepare(args.size, args.keep)
    try:
        if args.before:
            report_before(url, args.runs, args.before)
        report(url, args.runs, "after" if args.before else "this tree")
    finally:
        if not args.keep:
            db_name = url.rsplit("/", 1)[1]
            with psycopg.connect(f"{SERVER}/test", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


if __name__ == "__main__":
    main()
