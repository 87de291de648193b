"""Reviewers' lists at 10 000 and 1 000 000 applications on PostgreSQL: p50/p95 per list and query.

Usage: python bench/inbox_scale.py [--sizes 10000,1000000] [--runs 40] [--keep] [--only 到期域名]

Workload (generated with COPY, triggers off, then inbox_count rebuilt from the work items):
~3 100 编办 offices (31 provinces, 10 cities each, 9 counties each) and the national CONAC; units,
half as many as applications, 6 % of them in 鄂尔多斯 (the demo 编办:150600, the big office) and
the rest spread over the counties; applications of the five shipped procedures over three years,
40 % still open with one work item (a fifth of them with CONAC, the rest with the unit's 编办),
10 % claimed, 10 % without a deadline; one domain per unit; a 编办 "complete" audit event per
finished application and a CONAC one for half of them (已办).

Each figure is the time of the service call (SQL and row building, no template), over --runs runs
after two warm-ups, for the big office (bianban), the national CONAC (conac, the largest inbox), a
county office (dongsheng) and a province office (province: its cities have offices of their own). "of
it SQL" is the p50 of the time spent in the driver's execute (sending each statement and waiting for its
answer); the rest is Python building statements and rows. "before" lines time the query shapes this
change replaced, on the same data. --keep keeps the databases (conac_inbox_scale_<size>) and reuses them
on the next run; --only times just the lines whose label starts with the given text (e.g. 到期域名).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import event, func, or_, select

from app import create_app
from app.engine import get_engine
from app.extensions import db
from app.models import (
    AuditEvent,
    Domain,
    Office,
    ProcessInstance,
    Unit,
    User,
    WorkflowDefinition,
    WorkItem,
)
from app.models._types import SealedType
from app.services import application_search, demo, domain_query, worklist
from app.services.domain_query import DomainFilters
from app.services.jurisdiction import visible_instances, visible_work_items
from app.services.worklist import InboxFilters, PageAt

SERVER = "postgresql://postgres@127.0.0.1:5432"
BIG_REGION = "150600"  # the demo 编办 of 鄂尔多斯
PLACE_CHARS = "康巴什东胜达拉特准格尔伊金霍洛乌审杭锦鄂托克前旗后河西湖南北山江海平安宁远昌盛兴华泰和顺"
KINDS = (
    ("人民政府办公室", "政务"),
    ("教育局", "政务"),
    ("卫生健康委员会", "政务"),
    ("财政局", "政务"),
    ("公安局", "政务"),
    ("第一中学", "公益"),
    ("人民医院", "公益"),
    ("图书馆", "公益"),
    ("疾病预防控制中心", "公益"),
    ("自然资源局", "政务"),
)
PROCEDURES = (  # process id, business key prefix, weight, task of the 编办, of CONAC
    ("domain_registration", "YM", 50, "bianban_review", "conac_review"),
    ("domain_renewal", "XF", 25, "bianban_review", "conac_review"),
    ("party_site_review", "KB", 15, "bianban_review", "conac_review"),
    ("institution_badge", "BS", 5, "bianban_review", "conac_review"),
    ("dns_record", "JX", 5, "bianban_review", "conac_review"),
)
STAGES = ("待审核", "待缴费", "补正中")
START = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)


# ---- data ------------------------------------------------------------------------------------


def regions() -> list[str]:
    """County codes of the generated offices (provinces and cities get offices too)."""
    return [f"{p}{c:02d}{d:02d}" for p in range(11, 42) for c in range(1, 11) for d in range(1, 10)]


def office_regions() -> list[str]:
    codes = {f"{p}0000" for p in range(11, 42)} | {f"{p}{c:02d}00" for p in range(11, 42) for c in range(1, 11)}
    return sorted(codes | set(regions()))


def generate(url: str, size: int) -> None:
    """Offices, units, domains, applications, work items, instance offices, audit events (COPY)."""
    rng = random.Random(size)
    units = max(size // 2, 1000)
    counties = regions()
    unit_regions = [BIG_REGION if rng.random() < 0.06 else rng.choice(counties) for _ in range(units)]
    definitions = _definitions()
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=False) as conn:
        first_unit = conn.execute("SELECT coalesce(max(id), 0) + 1000 FROM unit").fetchone()[0]  # type: ignore[index]
        conn.execute("ALTER TABLE work_item DISABLE TRIGGER USER")
        known = {row[0] for row in conn.execute("SELECT code FROM office")}
        _copy(conn, "office", ("code", "name", "kind", "region_code", "level"), _offices(known))
        _copy(conn, "unit", UNIT_COLUMNS, _units(rng, first_unit, unit_regions))
        _copy(conn, "process_instance", INSTANCE_COLUMNS, _instances(rng, size, first_unit, units, definitions))
        _copy(conn, "domain", DOMAIN_COLUMNS, _domains(rng, first_unit, units))
        _copy(conn, "work_item", ITEM_COLUMNS, _items(size, first_unit, units, unit_regions))
        offices = _instance_offices(size, first_unit, units, unit_regions)
        _copy(conn, "instance_office", ("instance_id", "office_code"), offices)
        _copy(conn, "audit_event", AUDIT_COLUMNS, _audit(size, first_unit, units, unit_regions))
        conn.execute("ALTER TABLE work_item ENABLE TRIGGER USER")
        for table in ("unit", "process_instance"):  # ids were given: later inserts must not collide
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()


def _copy(conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> None:
    """COPY the rows; NOT NULL columns the rows leave out get the model's scalar default."""
    extra = _defaults(table, columns)
    names = ", ".join((*columns, *extra))
    tail = tuple(extra.values())
    types = db.metadata.tables[table].columns
    sealed = [(i, types[name].type) for i, name in enumerate(columns) if isinstance(types[name].type, SealedType)]
    ciphertexts: dict[tuple[int, str], str] = {}  # the generated values repeat: seal each once
    with conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            if sealed:
                values = list(row)
                for i, kind in sealed:
                    key = (i, repr(values[i]))
                    if key not in ciphertexts:
                        ciphertexts[key] = kind.process_bind_param(values[i], None)
                    values[i] = ciphertexts[key]
                row = tuple(values)
            copy.write_row(row + tail)


def _defaults(table: str, given: tuple[str, ...]) -> dict[str, Any]:
    columns = db.metadata.tables[table].columns
    return {
        c.name: c.default.arg
        for c in columns
        if c.name not in given and not c.nullable and c.default is not None and not callable(c.default.arg)
    }


def _definitions() -> dict[str, int]:
    newest = select(WorkflowDefinition.process_id, func.max(WorkflowDefinition.id))
    found = db.session.execute(newest.group_by(WorkflowDefinition.process_id))
    return dict(found.all())


def _offices(known: set[str]) -> Iterator[tuple[Any, ...]]:
    for region in office_regions():
        code = f"编办:{region}"
        if code not in known:
            level = "province" if region.endswith("0000") else "city" if region.endswith("00") else "county"
            yield code, f"{region}编办", "编办", region, level


UNIT_COLUMNS = ("id", "name", "uscc", "unit_type", "region_code", "level", "created_at")


def _unit_name(n: int) -> tuple[str, str]:
    place = "".join(PLACE_CHARS[(n // len(PLACE_CHARS) ** k) % len(PLACE_CHARS)] for k in range(3))
    kind, suffix = KINDS[n % len(KINDS)]
    return f"{place}{kind}{n}", suffix


def _units(rng: random.Random, first: int, unit_regions: list[str]) -> Iterator[tuple[Any, ...]]:
    for n, region in enumerate(unit_regions):
        name, _suffix = _unit_name(n)
        unit_type = "党政机关" if rng.random() < 0.6 else "事业单位"
        yield first + n, name, f"S{n:017d}", unit_type, region, "county", START


INSTANCE_COLUMNS = (
    "id",
    "business_key",
    "definition_id",
    "unit_id",
    "stage",
    "status",
    "state",
    "serializer_version",
    "version",
    "created_by",
    "created_at",
    "updated_at",
)


def _procedure(j: int) -> tuple[str, str, int, str, str]:
    slot = (j * 7919) % 100
    for procedure in PROCEDURES:
        if slot < procedure[2]:
            return procedure
        slot -= procedure[2]
    return PROCEDURES[0]


def _is_open(j: int) -> bool:
    return (j * 2654435761) % 10 < 4  # 40 %, spread over time


def _at_conac(j: int) -> bool:
    return (j // 3) % 5 == 0  # a fifth, every procedure among them


def _arrived(j: int) -> datetime:
    """When an open item arrived: within the last two weeks before the bench's "now" (about half overdue)."""
    return NOW - timedelta(minutes=(j * 37) % (14 * 24 * 60))


def _created(j: int, size: int) -> datetime:
    return START + timedelta(seconds=int(j * (3 * 365 * 86400) / size))


def _instances(
    rng: random.Random, size: int, first_unit: int, units: int, definitions: dict[str, int]
) -> Iterator[tuple[Any, ...]]:
    sequences: dict[tuple[str, int], int] = {}
    for j in range(size):
        process_id, prefix, *_ = _procedure(j)
        created = _created(j, size)
        sequence = sequences[prefix, created.year] = sequences.get((prefix, created.year), 0) + 1
        key = f"{prefix}{created.year}{sequence:06d}"
        status, stage = ("running", STAGES[j % 3]) if _is_open(j) else ("completed", "已办结")
        yield (
            first_unit + j,  # instance ids from the same base: unit ids and instance ids never mix up
            key,
            definitions[process_id],
            first_unit + j % units,
            stage,
            status,
            {},
            "bench",
            2,
            "bench",
            created,
            created,
        )


DOMAIN_COLUMNS = (
    "unit_id",
    "name",
    "ascii_name",
    "suffix",
    "status",
    "status_reason",
    "years",
    "host_mode",
    "host_ip",
    "host_url",
    "contact_name",
    "contact_mobile",
    "contact_email",
    "instance_id",
    "registered_on",
    "expires_on",
    "created_at",
)


def _domains(rng: random.Random, first_unit: int, units: int) -> Iterator[tuple[Any, ...]]:
    today = date(2026, 12, 1)
    for n in range(units):
        name, suffix = _unit_name(n)
        roll = rng.random()
        status = "active" if roll < 0.85 else "expired" if roll < 0.92 else "frozen" if roll < 0.95 else "deleted"
        expires = today + timedelta(days=rng.randint(-200, 1000))
        yield (
            first_unit + n,
            f"{name}.{suffix}",
            f"xn--u{n}.xn--zfr164b",
            suffix,
            status,
            "",
            1,
            "none",
            "",
            "",
            "",
            "",
            "",
            first_unit + n,
            expires - timedelta(days=365),
            expires,
            START,
        )


ITEM_COLUMNS = (
    "instance_id",
    "task_id",
    "task_name",
    "title",
    "role",
    "office_code",
    "unit_id",
    "assignee",
    "form",
    "stage",
    "properties",
    "created_at",
    "due_at",
    "region_code",  # triggers are off while loading: the copy of the unit's region is written here
)


def _reviewer(region: str) -> str:
    return "bianban" if region == BIG_REGION else f"r{region}"


def _items(size: int, first_unit: int, units: int, unit_regions: list[str]) -> Iterator[tuple[Any, ...]]:
    for j in range(size):
        if not _is_open(j):
            continue
        _pid, _prefix, _weight, bianban_task, conac_task = _procedure(j)
        region = unit_regions[j % units]
        conac = _at_conac(j)
        office, role = ("CONAC", "CONAC") if conac else (f"编办:{region}", "编办")
        claimed = j % 10 == 3
        assignee = ("conac" if conac else _reviewer(region)) if claimed else None
        created = _arrived(j)
        yield (
            first_unit + j,
            f"{j:08x}-0000-4000-8000-000000000000",
            conac_task if conac else bianban_task,
            "CONAC复审" if conac else "编办审核",
            role,
            office,
            first_unit + j % units,
            assignee,
            "review-decision.schema.json",
            "复审中" if conac else STAGES[j % 3],
            "{}",
            created,
            None if j % 10 == 7 else created + timedelta(days=7),
            region,
        )


def _instance_offices(size: int, first_unit: int, units: int, unit_regions: list[str]) -> Iterator[tuple[Any, ...]]:
    for j in range(size):
        yield first_unit + j, f"编办:{unit_regions[j % units]}"
        if _is_open(j) and _at_conac(j):
            yield first_unit + j, "CONAC"


AUDIT_COLUMNS = (
    "at",
    "actor",
    "role",
    "instance_id",
    "task_name",
    "task_title",
    "action",
    "decision",
    "detail",
    "seq",
    "prev_hash",
    "row_hash",
)


def _audit(size: int, first_unit: int, units: int, unit_regions: list[str]) -> Iterator[tuple[Any, ...]]:
    seq = 1_000_000  # above the demo's few rows; the chain is not verified here
    blank = "0" * 64
    for j in range(size):
        if _is_open(j):
            continue
        _pid, _prefix, _weight, bianban_task, conac_task = _procedure(j)
        at = _created(j, size) + timedelta(days=2)
        seq += 1
        actor = _reviewer(unit_regions[j % units])
        yield (
            at,
            actor,
            "编办",
            first_unit + j,
            bianban_task,
            "编办审核",
            "complete",
            "approve",
            "{}",
            seq,
            blank,
            blank,
        )
        if j % 2 == 0:
            seq += 1
            at += timedelta(days=3)
            yield (
                at,
                "conac",
                "CONAC",
                first_unit + j,
                conac_task,
                "CONAC复审",
                "complete",
                "approve",
                "{}",
                seq,
                blank,
                blank,
            )


# ---- measuring -------------------------------------------------------------------------------


def timed(call: Callable[[], Any], runs: int) -> tuple[float, float, float]:
    """p50 and p95 in ms over `runs` calls after two warm-ups, and the p50 of the time spent waiting for the
    database's answers (the rest is building statements and rows); the session is cleared between calls."""
    for _ in range(2):
        call()
        db.session.expunge_all()
    times, waits = [], []
    for _ in range(runs):
        with database_wait() as waited:
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        waits.append(waited[0] * 1000)
        db.session.expunge_all()
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], statistics.median(waits)


@contextmanager
def database_wait() -> Iterator[list[float]]:
    """Seconds spent in the driver's execute (sending a statement and waiting for its answer), summed."""
    waited = [0.0]

    def before(conn: Any, *_: Any) -> None:
        conn.info["bench_sent"] = time.perf_counter()

    def after(conn: Any, *_: Any) -> None:
        waited[0] += time.perf_counter() - conn.info.pop("bench_sent")

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        yield waited
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)


def scenarios(now: datetime) -> list[tuple[str, str, Callable[[Any], Any]]]:
    """(label, user, call) for every list and query measured."""
    s = db.session

    def second_page(user: Any, sort: str) -> Any:
        first = worklist.inbox(s, user, InboxFilters(), sort, 1, now=now)
        return worklist.inbox(s, user, InboxFilters(), sort, PageAt(2, first.next_cursor), now=now)

    def done_second(user: Any) -> Any:
        first = worklist.done(s, user)
        return worklist.done(s, user, PageAt(2, first.next_cursor))

    expiring = DomainFilters(expires_from=date(2026, 12, 1), expires_to=date(2027, 2, 28))
    return [
        ("待办 first page (counts included)", "bianban", lambda u: worklist.inbox(s, u, now=now)),
        ("待办 first page (counts included)", "conac", lambda u: worklist.inbox(s, u, now=now)),
        ("待办 first page (counts included)", "dongsheng", lambda u: worklist.inbox(s, u, now=now)),
        ("待办 stage filter", "bianban", lambda u: worklist.inbox(s, u, InboxFilters(stage="待缴费"), now=now)),
        (
            "待办 procedure filter",
            "conac",
            lambda u: worklist.inbox(s, u, InboxFilters(procedure="dns_record"), now=now),
        ),
        (
            "待办 stage+overdue+unclaimed",
            "bianban",
            lambda u: worklist.inbox(s, u, InboxFilters(stage="待审核", overdue=True, claimed="unclaimed"), now=now),
        ),
        ("待办 claimed by me", "conac", lambda u: worklist.inbox(s, u, InboxFilters(claimed="mine"), now=now)),
        ("待办 region filter", "conac", lambda u: worklist.inbox(s, u, InboxFilters(region="150000"), now=now)),
        ("待办 sort -due", "conac", lambda u: worklist.inbox(s, u, sort="-due", now=now)),
        ("待办 sort key", "conac", lambda u: worklist.inbox(s, u, sort="key", now=now)),
        ("待办 sort -key", "bianban", lambda u: worklist.inbox(s, u, sort="-key", now=now)),
        ("待办 page 2 by cursor (2 calls)", "conac", lambda u: second_page(u, "created")),
        ("待办 page 50 by offset", "conac", lambda u: worklist.inbox(s, u, page=50, now=now)),
        ("已办 first page", "conac", lambda u: worklist.done(s, u)),
        ("已办 page 2 by cursor (2 calls)", "bianban", done_second),
        ("search 申请编号 (whole)", "conac", lambda u: application_search.search(s, u, "YM2025000123")),
        ("search 申请编号 (part)", "bianban", lambda u: application_search.search(s, u, "2025000123")),
        ("search 单位名 (rare)", "bianban", lambda u: application_search.search(s, u, "克南乌教育局")),
        ("search 单位名 (common)", "conac", lambda u: application_search.search(s, u, "人民医院")),
        ("search 域名 (part)", "conac", lambda u: application_search.search(s, u, "疾病预防控制中心12")),
        ("search 2 characters (rare)", "bianban", lambda u: application_search.search(s, u, "克南")),
        ("search 2 characters (common)", "conac", lambda u: application_search.search(s, u, "医院")),
        ("search 2 characters (none)", "conac", lambda u: application_search.search(s, u, "深圳")),
        ("search 1 character", "bianban", lambda u: application_search.search(s, u, "馆")),
        ("到期域名 next 3 months", "bianban", lambda u: domain_query.query(s, u, expiring)),
        ("到期域名 whole jurisdiction", "bianban", lambda u: domain_query.query(s, u, DomainFilters())),
        ("到期域名 by name (rare)", "bianban", lambda u: domain_query.query(s, u, DomainFilters(text="克南乌"))),
        ("到期域名 by name (common)", "bianban", lambda u: domain_query.query(s, u, DomainFilters(text="图书馆"))),
        ("到期域名 by 2 characters (rare)", "conac", lambda u: domain_query.query(s, u, DomainFilters(text="克南"))),
        ("到期域名 whole jurisdiction", "province", lambda u: domain_query.query(s, u, DomainFilters())),
    ]


def before_scenarios() -> list[tuple[str, str, Callable[[Any], Any]]]:
    """The replaced query shapes: grouping the inbox for its counts, OR-ed LIKE search, offset 已办."""
    s = db.session

    def old_counts(user: Any) -> Any:
        query = (
            select(WorkItem.stage, ProcessInstance.definition_id, func.count())
            .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
            .where(visible_work_items(user).whereclause)  # type: ignore[arg-type]
            .group_by(WorkItem.stage, ProcessInstance.definition_id)
        )
        return s.execute(query).all()

    def old_search(user: Any, text: str) -> Any:
        pattern = f"%{text}%"
        units = select(Unit.id).where(Unit.name.like(pattern))
        domain_units = select(Domain.unit_id).where(Domain.name.like(pattern))
        matches = [ProcessInstance.unit_id.in_(units), ProcessInstance.unit_id.in_(domain_units)]
        if text.isascii():
            matches.append(ProcessInstance.business_key.like(pattern))
        visible = visible_instances(user).whereclause
        query = select(ProcessInstance.id).where(*([visible] if visible is not None else []), or_(*matches))
        return s.execute(query.order_by(ProcessInstance.id.desc()).limit(50)).all()

    def old_done_page_50(user: Any) -> Any:
        mine = (AuditEvent.actor == user.username, AuditEvent.action == "complete")
        s.scalar(select(func.count(AuditEvent.id)).where(*mine))
        query = select(AuditEvent.id).where(*mine).order_by(AuditEvent.id.desc()).offset(49 * 20).limit(20)
        return s.execute(query).all()

    return [
        ("before: 待办 counts by grouping", "bianban", old_counts),
        ("before: 待办 counts by grouping", "conac", old_counts),
        ("before: search 申请编号 (part)", "bianban", lambda u: old_search(u, "2025000123")),
        ("before: search 单位名 (rare)", "bianban", lambda u: old_search(u, "克南乌教育局")),
        ("before: 已办 page 50 by offset", "conac", old_done_page_50),
    ]


def _database_ready(name: str) -> bool:
    with psycopg.connect(f"{SERVER}/test", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            return False
    with psycopg.connect(f"{SERVER}/{name}") as conn:
        try:
            return conn.execute("SELECT value FROM bench_ready").fetchone() is not None
        except psycopg.errors.UndefinedTable:
            return False


def _recreate(name: str) -> None:
    with psycopg.connect(f"{SERVER}/test", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def prepare(name: str, size: int) -> tuple[int, float]:
    """Schema from the migrations, demo accounts, shipped procedures, then the generated rows."""
    from flask_migrate import upgrade

    from app.services.inbox_counts import rebuild_inbox_counts

    upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
    get_engine().deploy_folder("bench")
    demo.seed(db.session)
    db.session.commit()
    started = time.perf_counter()
    generate(str(db.engine.url.render_as_string(hide_password=False)), size)
    rebuild_inbox_counts(db.session)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
        connection.exec_driver_sql("CREATE TABLE bench_ready (value int); INSERT INTO bench_ready VALUES (1)")
    return size, time.perf_counter() - started


def run_size(size: int, runs: int, keep: bool, only: str = "") -> None:
    name = f"conac_inbox_scale_{size}"
    reuse = keep and _database_ready(name)
    if not reuse:
        _recreate(name)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"})
    with app.app_context():
        if reuse:
            print(f"\n{size:,} applications (database {name} kept from an earlier run)")
        else:
            _size, seconds = prepare(name, size)
            print(f"\n{size:,} applications generated in {seconds:.0f} s (database {name})")
        _describe()
        users = {u.username: _snapshot(u) for u in db.session.scalars(select(User))}
        users["province"] = _office_reviewer("编办:150000")
        gc.freeze()  # as each web worker does once started (deploy/gunicorn.conf.py): no full-collection pauses
        now = NOW
        print(f"  {'list / query':<40} {'user':<10} {'p50 ms':>8} {'p95 ms':>8} {'of it SQL':>10}")
        for label, username, call in [*scenarios(now), *before_scenarios()]:
            if not label.startswith(only):
                continue
            user = users[username]
            p50, p95, sql = timed(lambda call=call, user=user: call(user), runs)
            print(f"  {label:<40} {username:<10} {p50:8.1f} {p95:8.1f} {sql:10.1f}")
        db.session.remove()
        db.engine.dispose()
    if not keep:
        with psycopg.connect(f"{SERVER}/test", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _snapshot(user: User) -> SimpleNamespace:
    """What the services read of a user, detached from the session (it is cleared between calls)."""
    office = user.office
    kept = SimpleNamespace(kind=office.kind, region_code=office.region_code, code=office.code) if office else None
    return SimpleNamespace(
        username=user.username,
        role=user.role,
        office=kept,
        office_code=kept.code if kept else None,
        office_id=user.office_id,
        unit_id=user.unit_id,
    )


def _office_reviewer(code: str) -> SimpleNamespace:
    """A reviewer of an office the demo has no account for (a province office: its cities have offices of
    their own, so it answers for few of the domains in its range of region codes)."""
    office = db.session.scalar(select(Office).where(Office.code == code))
    kept = SimpleNamespace(kind=office.kind, region_code=office.region_code, code=office.code)
    return SimpleNamespace(
        username=code, role=office.kind, office=kept, office_code=code, office_id=office.id, unit_id=None
    )


def _describe() -> None:
    inbox = select(WorkItem.office_code, func.count()).group_by(WorkItem.office_code)
    sizes = dict(
        db.session.execute(inbox.where(WorkItem.office_code.in_(["编办:150600", "CONAC", "编办:150602"]))).all()
    )
    done = dict(
        db.session.execute(
            select(AuditEvent.actor, func.count())
            .where(AuditEvent.actor.in_(["bianban", "conac"]), AuditEvent.action == "complete")
            .group_by(AuditEvent.actor)
        ).all()
    )
    print(
        f"  open items: bianban {sizes.get('编办:150600', 0):,}, conac {sizes.get('CONAC', 0):,}, "
        f"dongsheng {sizes.get('编办:150602', 0):,}; 已办: bianban {done.get('bianban', 0):,}, "
        f"conac {done.get('conac', 0):,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the databases and reuse them next time")
    parser.add_argument("--only", default="", help="time only the lines whose label starts with this")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        run_size(size, args.runs, args.keep, args.only)


if __name__ == "__main__":
    main()
