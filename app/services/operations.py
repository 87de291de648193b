"""What operations ask the database: readiness (schema at head, diagrams deployed) and the scrape-time gauges."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.engine.definitions import NS, parse_xml_safely
from app.models import OutboxMessage, WorkflowDefinition, WorkItem
from app.models.outbox import PENDING

# Largest number of (role, stage) rows the inbox gauge reports: stages are diagram data, the scrape stays bounded.
MAX_INBOX_SERIES = 100


def readiness_problems(session: Session, migrations_dir: Path, procedures_root: Path) -> list[str]:
    """Why this process should not receive traffic yet; empty when the database is reachable, its schema at
    the migrations' head(s) and every diagram in procedures_root/workflows deployed."""
    try:
        applied = set(session.scalars(text("SELECT version_num FROM alembic_version")))
    except SQLAlchemyError as exc:
        session.rollback()
        reachable = _reachable(session)
        return [f"database schema missing: {type(exc).__name__}" if reachable else "database unreachable"]
    problems = []
    expected = migration_heads(str(migrations_dir))
    if applied != expected:
        problems.append(f"migrations not at head: database {sorted(applied)}, code {sorted(expected)}")
    missing = sorted(shipped_process_ids(str(procedures_root)) - _deployed(session))
    if missing:
        problems.append(f"diagrams not deployed: {', '.join(missing)}")
    session.rollback()  # a read only: end the transaction so the pooled connection is idle
    return problems


def _reachable(session: Session) -> bool:
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    finally:
        session.rollback()
    return True


def _deployed(session: Session) -> set[str]:
    return set(session.scalars(select(WorkflowDefinition.process_id).distinct()))


@cache
def migration_heads(migrations_dir: str) -> frozenset[str]:
    """The head revisions of the code's migrations; read once per process (the code does not change)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory(migrations_dir).get_heads())


@cache
def shipped_process_ids(procedures_root: str) -> frozenset[str]:
    """The executable process of each diagram file `flask deploy` would deploy; read once per process."""
    ids = set()
    for path in sorted(Path(procedures_root, "workflows").glob("*.bpmn")):
        root = parse_xml_safely(path.read_bytes(), 16 * 1024 * 1024)
        ids.update(root.xpath("bpmn:process[@isExecutable='true']/@id", namespaces=NS))
    return frozenset(ids)


def open_items_by_stage(session: Session) -> list[tuple[str, str, int]]:
    """(role, stage, open work items), largest first, at most MAX_INBOX_SERIES rows."""
    count = func.count()
    query = (
        select(WorkItem.role, WorkItem.stage, count)
        .group_by(WorkItem.role, WorkItem.stage)
        .order_by(count.desc(), WorkItem.role, WorkItem.stage)
        .limit(MAX_INBOX_SERIES)
    )
    return [(role, stage, number) for role, stage, number in session.execute(query)]


def pending_outbox(session: Session) -> int:
    """Messages waiting for delivery (first attempt or a retry), read through the outbox's status index."""
    return session.scalar(select(func.count()).where(OutboxMessage.status == PENDING)) or 0
