"""Fixtures: the app on SQLite and (when reachable) PostgreSQL, a settable clock, units, actors.

Every test that uses `app` runs once per available database. The schema comes from the
Alembic migrations, as in production; tables are emptied between tests.

The `app` fixture deploys the shipped procedures from the PROCEDURES_ROOT setting (workflows/, forms/,
documents/; the repository by default). To see which tests a policy edit breaks, edit a copy and run
`PROCEDURES_ROOT=/path/to/copy pytest tests/test_x.py`: tests of the engine's mechanisms run on their own
diagrams (tests/diagrams/, with tests/forms/, e.g. the `two_reviews` fixture), so only the tests that
specify a shipped procedure's rules should fail. Tests that read a shipped file by path (PROJECT_ROOT)
still read the repository's copy.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, g
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text, update

from app import create_app
from app.engine import Engine, get_engine
from app.engine.bundles import collect
from app.engine.definitions import parse_xml_safely
from app.extensions import db, limiter
from app.models import Charge, Domain, Office, OutboxMessage, ProcessInstance, Unit, WorkflowDefinition, WorkItem
from app.models.audit import GENESIS_HASH, AuditChainHead
from app.services import audit_guard, billing
from app.services.audit import Actor
from app.taskforms.formats import to_ascii_domain

BEIJING = ZoneInfo("Asia/Shanghai")
# Test diagrams (tests/diagrams/) use forms of their own (tests/forms/), never the shipped ones.
TESTS_ROOT = Path(__file__).resolve().parent
DIAGRAMS = TESTS_ROOT / "diagrams"
PROJECT_ROOT = TESTS_ROOT.parent
PG_SERVER = os.environ.get("TEST_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
PG_DATABASE_PREFIX = f"conac_platform_test_{os.getpid()}"  # per run: parallel runs do not collide

UNIT = Actor("unit-user", "单位")
BIANBAN = Actor("bianban-user", "编办")
CONAC = Actor("conac-user", "CONAC")


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
        import psycopg  # noqa: F401
    except (OSError, ImportError):
        return False
    return True


BACKENDS = ["sqlite", *(["postgresql"] if _postgres_reachable() else [])]


def _fresh_postgres_database() -> str:
    """A new database for one set-up of the PostgreSQL app; its name is never reused."""
    name = f"{PG_DATABASE_PREFIX}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return name


def _drop_postgres_database(name: str) -> None:
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


class Clock:
    """The engine's clock; tests move it to fixed Beijing times."""

    def __init__(self) -> None:
        self.now = datetime(2026, 9, 28, 10, 0, tzinfo=BEIJING).astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, text_value: str) -> datetime:
        """Set to a Beijing wall-clock time such as '2026-10-09 09:00'."""
        self.now = datetime.fromisoformat(text_value).replace(tzinfo=BEIJING).astimezone(UTC)
        return self.now


@pytest.fixture(scope="session", params=BACKENDS)
def backend_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    database = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        database = _fresh_postgres_database()
        url = f"{PG_SERVER}/{database}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    app.config["BACKEND"] = request.param
    # first, before the app's own gates read current_user
    app.before_request_funcs.setdefault(None, []).insert(0, _forget_request_user)
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
    yield app
    with app.app_context():
        db.engine.dispose()
    if database is not None:
        _drop_postgres_database(database)


def _forget_request_user() -> None:
    """Tests hold one app context across requests, so `g` would carry the last request's user into
    the next one; production has a fresh `g` per request. Forget it, so each request authenticates."""
    g.pop("_login_user", None)


# Reference data the migrations load (the roles) and the audit chain's head (reset instead); every other
# table starts empty in each test.
_KEPT_TABLES = {"role", "audit_chain_head"}


def _empty_tables() -> None:
    """As the tables' owner, which production's application role is not: the audit trail's triggers refuse
    DELETE, so they are lifted for the emptying and put back in the same transaction."""
    restart = dict(length=0, last_hash=GENESIS_HASH, start_seq=0, start_hash=GENESIS_HASH)
    db.session.execute(update(AuditChainHead).values(restart))  # first: SQLite's driver begins at a data change
    with audit_guards_lifted():
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in _KEPT_TABLES:
                db.session.execute(table.delete())
    db.session.commit()


@contextmanager
def audit_guards_lifted() -> Iterator[None]:
    """Drop the audit trail's append-only triggers and create them again, in the session's transaction."""
    connection = db.session.connection()
    audit_guard.remove(connection)
    yield
    audit_guard.install(connection)


def _level(region_code: str | None) -> str:
    if region_code is None:
        return "central"
    return "province" if region_code.endswith("0000") else "city" if region_code.endswith("00") else "county"


def ensure_office(kind: str, region_code: str | None, name: str | None = None) -> Office:
    """The office of `kind` for a region (None: the national one), created on first use."""
    code = f"{kind}:{region_code}" if region_code else kind
    office = db.session.scalar(select(Office).where(Office.code == code))
    if office is None:
        office = Office(code=code, name=name or code, kind=kind, region_code=region_code, level=_level(region_code))
        db.session.add(office)
        db.session.commit()
    return office


@pytest.fixture
def app(backend_app: Flask) -> Iterator[Flask]:
    with backend_app.app_context():
        _empty_tables()
        get_engine().definitions.forget_versions()
        limiter.reset()
        ensure_office("CONAC", None, "政务和公益机构域名注册管理中心")
        engine = get_engine()
        engine.runner.clock = Clock()
        engine.deploy_folder("test-setup")
        yield backend_app
        db.session.remove()


@pytest.fixture
def engine(app: Flask) -> Engine:
    return get_engine()


@pytest.fixture
def clock(engine: Engine) -> Clock:
    return engine.runner.clock  # type: ignore[return-value]


@pytest.fixture
def make_unit(app: Flask) -> Any:
    counter = iter(range(1, 1000))

    def factory(unit_type: str = "党政机关", region_code: str = "150600", name: str | None = None) -> Unit:
        number = next(counter)
        unit = Unit(
            name=name or f"测试单位{number}",
            uscc=f"TEST{number:014d}",
            unit_type=unit_type,
            region_code=region_code,
            level="city",
        )
        db.session.add(unit)
        db.session.commit()
        ensure_office("编办", region_code)  # every test unit has its 同级编办
        return unit

    return factory


@dataclass
class Application:
    """A started procedure seen from the test: its open task, stage and effects."""

    engine: Engine
    instance_id: int

    @property
    def instance(self) -> ProcessInstance:
        db.session.expire_all()
        return db.session.get(ProcessInstance, self.instance_id)  # type: ignore[return-value]

    @property
    def stage(self) -> str:
        return self.instance.stage

    @property
    def tasks(self) -> list[WorkItem]:
        return list(db.session.scalars(select(WorkItem).where(WorkItem.instance_id == self.instance_id)))

    def task(self) -> WorkItem:
        (item,) = self.tasks
        return item

    def complete(self, actor: Actor, data: dict[str, Any]) -> Application:
        self.engine.runner.complete(self.task().task_id, actor, data)
        return self

    def data(self) -> dict[str, Any]:
        return self.engine.reader.data(self.instance_id)

    def outbox(self) -> list[OutboxMessage]:
        query = select(OutboxMessage).where(OutboxMessage.instance_id == self.instance_id)
        return list(db.session.scalars(query.order_by(OutboxMessage.id)))

    def charge(self) -> Charge:
        """The fee of this application (its latest charge)."""
        return db.session.get(Charge, self.data()["charge_id"])  # type: ignore[return-value]


@pytest.fixture
def start(engine: Engine) -> Any:
    def starter(process_id: str, unit: Unit, data: dict[str, Any] | None = None, actor: Actor = UNIT) -> Application:
        instance = engine.runner.start(process_id, unit.id, actor, data or {})
        return Application(engine, instance.id)

    return starter


@pytest.fixture
def remit_and_confirm(engine: Engine) -> Any:
    """编办 remits the given collected charges; CONAC confirms (认款). Returns the keys moved on."""

    def run(charges: list[Charge], office_code: str = "编办:150600") -> list[str]:
        remittance = billing.create_remittance(db.session, office_code, [c.id for c in charges], BIANBAN.name)
        db.session.commit()
        return engine.runner.confirm_remittance(remittance.id, CONAC)

    return run


@pytest.fixture
def backend(app: Flask) -> str:
    return str(app.config["BACKEND"])


DOMAIN_APPLICATION = {
    "domain_name": "鄂尔多斯市人民政府.政务",
    "years": 2,
    "contact_name": "张经办",
    "contact_mobile": "13800138000",
    "contact_email": "zhang@example.cn",
    "host_mode": "none",
}
APPROVE = {"decision": "approve"}


def reject(reason: str) -> dict[str, str]:
    return {"decision": "reject", "reason": reason}


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def demo(app: Flask) -> dict[str, Any]:
    """Demo offices, units and one account per role (password DEMO_PASSWORD); keyed by username."""
    from app.services import demo as demo_service

    users = demo_service.seed(db.session)
    db.session.commit()
    return {user.username: user for user in users}


@pytest.fixture
def regions_loaded(app: Flask) -> None:
    """The GB/T 2260 table, as set-up loads it (registration's province → city → county cascade)."""
    from app.services import regions

    regions.load(db.session)
    db.session.commit()


@pytest.fixture
def login(client: Any, demo: dict[str, Any]) -> Any:
    """Log the test client in as a demo account (staff with the second factor); returns the client."""
    from tests.second_factor_login import log_in

    def as_user(username: str) -> Any:
        client.post("/logout")
        response = log_in(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return as_user


def deploy_xml(
    engine: Engine, xml: str | bytes, file_name: str, files_root: Path = PROJECT_ROOT, by: str = "policy"
) -> tuple[WorkflowDefinition, bool]:
    """Deploy diagram text (e.g. a shipped diagram edited in memory) with the files it names, and commit."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    bundle = collect(file_name, data, parse_xml_safely(data, engine.definitions.max_bytes), files_root)
    try:
        result = engine.definitions.deploy(db.session, bundle, by)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def deploy_test_diagram(engine: Engine, name: str) -> WorkflowDefinition:
    """One of the mechanism tests' own diagrams, with their own forms."""
    row, _ = engine.deploy_file(DIAGRAMS / name, "test", files_root=TESTS_ROOT)
    return row


# tests/diagrams/two_reviews.bpmn: the mechanism tests' stand-in for a procedure with two reviews and a fee
# (单位 填写申请表 → 编办 初审, withdrawable → CONAC 复审 → 编办 收费 → CONAC 认款 → a working day → 已办结; a 不同意
# returns it to the unit). Its forms are tests/forms/application, decision and fee; 120 元 a year.
TWO_REVIEWS = "two_reviews"
TEST_APPLICATION = {
    "domain_name": "测试单位.政务",
    "years": 2,
    "contact_name": "张经办",
    "contact_mobile": "13800138000",
    "contact_email": "zhang@example.cn",
    "host_mode": "none",
}


@pytest.fixture
def two_reviews(engine: Engine) -> str:
    """tests/diagrams/two_reviews.bpmn deployed; its process id."""
    deploy_test_diagram(engine, "two_reviews.bpmn")
    return TWO_REVIEWS


def at(beijing_time: str) -> datetime:
    """A Beijing wall-clock time such as '2026-10-10 00:00' as an aware datetime."""
    return datetime.fromisoformat(beijing_time).replace(tzinfo=BEIJING)


def add_domain(unit: Unit, name: str, status: str = "active", expires_on: date = date(2027, 1, 5)) -> Domain:
    """A domain record as the registration procedure leaves it (active = registered and paid)."""
    domain = Domain(
        unit_id=unit.id,
        name=name,
        ascii_name=to_ascii_domain(name),
        suffix=name.rpartition(".")[2],
        status=status,
        years=1,
        host_mode="none",
        registered_on=date(2026, 1, 5),
        expires_on=expires_on,
    )
    db.session.add(domain)
    db.session.commit()
    return domain


@dataclass(frozen=True)
class Step:
    """One act on the open work item and the stage the unit sees afterwards."""

    actor: Actor
    data: dict[str, Any]
    stage: str
