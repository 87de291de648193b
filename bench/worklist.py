"""Time to render a 编办 reviewer's 待办 list with 10 000 applications in the database.

Usage: python bench/worklist.py [--applications 10000] [--requests 21]

Workload: units spread over five regions, one running domain registration per unit, each with
one open work item (80 % with the 编办 of the unit's region, 20 % with CONAC) and a reserved
domain, so about a third of all items sit in the reviewer's office (编办:150600). Rows are
bulk-inserted directly. Every figure is the median of several requests through the Flask test
client, logged in as the demo reviewer `bianban`: the whole request (query, template, response).
Runs on SQLite and, when 127.0.0.1:5432 answers, on a fresh PostgreSQL database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, func, insert, select

from app import create_app
from app.engine import get_engine
from app.extensions import db
from app.models import Domain, ProcessInstance, Unit, WorkflowDefinition, WorkItem
from app.services import demo
from app.services.audit import Actor
from app.services.demo import DEMO_PASSWORD
from bench._databases import fresh_postgres_url

UNIT_ACTOR = Actor("bench", "单位")
SAMPLE_APPLICATION = {
    "domain_name": "基准样本单位.政务",
    "years": 2,
    "contact_name": "张经办",
    "contact_mobile": "13800138000",
    "contact_email": "zhang@example.cn",
    "host_mode": "none",
}
REGIONS = ("150600", "150602", "150603", "150621", "110101")
VARIANTS = {
    "first page, default sort (arrival)": "/review/",
    "filtered (stage + overdue + unclaimed)": "/review/?stage=待审核&overdue=1&claimed=unclaimed",
    "sorted by deadline, descending": "/review/?sort=-due",
    "sorted by application number, page 50": "/review/?sort=key&page=50",
    "search by unit name": "/review/search?q=基准单位123",
}


def seed(count: int) -> None:
    """Units, instances, open work items and domains, inserted in bulk."""
    definition_id = db.session.scalar(
        select(WorkflowDefinition.id).where(WorkflowDefinition.process_id == "domain_registration")
    )
    state = _real_state()
    start = datetime(2026, 9, 1, tzinfo=UTC)
    units, instances, items, domains = [], [], [], []
    for n in range(1, count + 1):
        region = "150600" if n % 3 == 0 else REGIONS[n % len(REGIONS)]
        created = start + timedelta(minutes=13 * n)
        conac = n % 5 == 0
        stage = "复审中" if conac else ("待缴费" if n % 7 == 0 else "待审核")
        units.append(_unit(n, region))
        instances.append({**_instance(n, definition_id, stage, created), "state": state})
        items.append(_item(n, region, conac, stage, created))
        domains.append(_domain(n))
    for model, rows in ((Unit, units), (ProcessInstance, instances), (WorkItem, items), (Domain, domains)):
        for chunk in range(0, len(rows), 2000):
            db.session.execute(insert(model), rows[chunk : chunk + 2000])
    db.session.commit()


def _real_state() -> dict[str, Any]:
    """The serialized workflow of a real application waiting for 编办, so instance rows have their real size."""
    runner = get_engine().runner
    unit = Unit(
        name="基准样本单位", uscc="BENCHSAMPLE0000000", unit_type="党政机关", region_code="150699", level="city"
    )
    db.session.add(unit)
    db.session.commit()
    instance = runner.start("domain_registration", unit.id, UNIT_ACTOR)
    task_id = db.session.scalar(select(WorkItem.task_id).where(WorkItem.instance_id == instance.id))
    runner.complete(task_id, UNIT_ACTOR, SAMPLE_APPLICATION)
    state = db.session.get(ProcessInstance, instance.id).state  # type: ignore[union-attr]
    db.session.execute(delete(WorkItem).where(WorkItem.instance_id == instance.id))
    db.session.commit()
    return state


def _unit(n: int, region: str) -> dict[str, Any]:
    return {
        "id": 1000 + n,
        "name": f"基准单位{n}",
        "uscc": f"BENCH{n:013d}",
        "unit_type": "党政机关",
        "region_code": region,
        "level": "city",
    }


def _instance(n: int, definition_id: int, stage: str, created: datetime) -> dict[str, Any]:
    return {
        "id": 1000 + n,
        "business_key": f"YM2026{100000 + n:06d}",
        "definition_id": definition_id,
        "unit_id": 1000 + n,
        "stage": stage,
        "status": "running",
        "state": {},
        "serializer_version": "bench",
        "version": 2,
        "created_by": "bench",
        "created_at": created,
        "updated_at": created,
    }


def _item(n: int, region: str, conac: bool, stage: str, created: datetime) -> dict[str, Any]:
    return {
        "instance_id": 1000 + n,
        "task_id": f"00000000-0000-0000-0000-{n:012d}",
        "task_name": "conac_review" if conac else "bianban_review",
        "title": "CONAC复审" if conac else "编办审核",
        "role": "CONAC" if conac else "编办",
        "office_code": "CONAC" if conac else f"编办:{region}",
        "unit_id": 1000 + n,
        "assignee": "bianban" if n % 11 == 0 else None,
        "form": "review-decision.schema.json",
        "stage": stage,
        "properties": {"formJsonSchemaFilename": "review-decision.schema.json", "stage": stage},
        "created_at": created,
        "due_at": created + timedelta(days=7),
    }


def _domain(n: int) -> dict[str, Any]:
    return {
        "unit_id": 1000 + n,
        "instance_id": 1000 + n,
        "name": f"基准单位{n}.政务",
        "ascii_name": f"xn--bench{n}.xn--zfr164b",
        "suffix": "政务",
        "status": "reserved",
        "years": 1,
        "host_mode": "none",
    }


def median_ms(client: Any, url: str, requests: int) -> float:
    for _ in range(3):  # warm-up: template compilation, statement caches
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    return statistics.median(times)


def measure(url: str, applications: int, requests: int) -> tuple[dict[str, float], int]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
        get_engine().deploy_folder("bench")
        demo.seed(db.session)
        db.session.commit()
        seed(applications)
        if db.engine.dialect.name == "postgresql":  # what autovacuum does in a running system
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        in_office = db.session.scalar(select(func.count()).where(WorkItem.office_code == "编办:150600"))
        db.session.remove()
        client = app.test_client()
        response = client.post("/login", data={"username": "bianban", "password": DEMO_PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        figures = {label: median_ms(client, path, requests) for label, path in VARIANTS.items()}
        db.session.remove()
        db.engine.dispose()
    return figures, in_office or 0


def report(label: str, url: str, applications: int, requests: int) -> None:
    figures, in_office = measure(url, applications, requests)
    print(f"{label}: {applications} applications, {in_office} open items in 编办:150600, median of {requests}")
    for variant, ms in figures.items():
        print(f"  {variant:<42} {ms:7.1f} ms/request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite", f"sqlite:///{folder}/bench.sqlite3", args.applications, args.requests)
    pg_url = fresh_postgres_url("conac_bench_worklist")
    if pg_url:
        report("PostgreSQL", pg_url, args.applications, args.requests)
        _drop_postgres()


def _drop_postgres() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS conac_bench_worklist WITH (FORCE)")


if __name__ == "__main__":
    main()
