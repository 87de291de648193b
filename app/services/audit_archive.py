"""Moving audit rows older than the retention period (AUDIT_RETENTION_DAYS, at least 180) into a file.

Only an unbroken prefix of the chain moves, and it stops at the first row younger than the retention
period, so no younger row is ever deleted. The chain head remembers where the table's chain now starts
(start_seq, start_hash = the last archived row's hash): the table verifies on its own, and the file
verifies on its own from its header, whose last hash is the table's start hash.

Deleting rows needs the append-only triggers lifted, which only the tables' owner can do: run
`flask audit archive` with the owner's DATABASE_URL; under the application's role it is refused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.config import MIN_AUDIT_RETENTION_DAYS
from app.services import audit, audit_chain, audit_guard
from app.services.audit import Actor
from app.services.errors import ServiceRefusal

FORMAT = "conac-audit-archive/1"
ARCHIVIST = Actor(name="system", role="系统")
OWNER_ONLY = "归档须以审计表属主的数据库账号运行（DATABASE_URL 指向属主）；应用账号不能删除审计日志"


@dataclass(frozen=True)
class Archived:
    rows: int
    through_seq: int
    last_hash: str
    last_id: int | None


def archive(session: Session, target: Path, now: datetime, retention_days: int) -> Archived:
    """Write the rows older than `retention_days` to `target` and remove them from the table (owner only)."""
    if retention_days < MIN_AUDIT_RETENTION_DAYS:
        raise ServiceRefusal(f"审计日志至少保留 {MIN_AUDIT_RETENTION_DAYS} 天，不能按 {retention_days} 天归档")
    if target.exists():
        raise ServiceRefusal(f"归档文件 {target} 已存在，不覆盖")
    connection = session.connection()
    head = connection.execute(select(audit_chain.HEAD).with_for_update()).one()  # appends wait until we commit
    report = audit_chain.verify(connection)
    if report.problem is not None:
        raise ServiceRefusal(f"哈希链已损坏，拒绝归档：{report.problem.message}")
    threshold = now - timedelta(days=retention_days)
    done = _write(target, head, _older_prefix(connection, threshold))
    if done.rows == 0:
        target.unlink()
        return done
    try:
        _cut(connection, done, threshold)
    except DBAPIError as exc:
        target.unlink()
        raise ServiceRefusal(OWNER_ONLY) from exc
    detail = {"rows": done.rows, "through_seq": done.through_seq, "file": target.name, "retention_days": retention_days}
    audit.record(session, ARCHIVIST, "audit_archive", detail=detail)
    return done


def _older_prefix(connection: Connection, threshold: datetime) -> Iterator[Mapping[str, Any]]:
    """Rows in chain order up to (not including) the first one at or after `threshold`."""
    query = select(audit_chain.EVENTS).order_by(audit_chain.EVENTS.c.id)
    for row in connection.execute(query.execution_options(yield_per=5000)):
        if row.at >= threshold:
            return
        yield row._mapping


def _write(target: Path, head: Any, rows: Iterator[Mapping[str, Any]]) -> Archived:
    """The header line, then one JSON line per row; written to a temporary name, synced, then renamed."""
    partial = target.with_name(target.name + ".partial")
    done = Archived(0, head.start_seq, head.start_hash, None)
    with partial.open("wb") as out:
        out.write(orjson.dumps({"format": FORMAT, "start_seq": head.start_seq, "start_hash": head.start_hash}) + b"\n")
        for row in rows:
            out.write(orjson.dumps(dict(row)) + b"\n")
            done = Archived(done.rows + 1, row["seq"], row["row_hash"], row["id"])
        out.flush()
        os.fsync(out.fileno())
    partial.rename(target)
    return done


def _cut(connection: Connection, done: Archived, threshold: datetime) -> None:
    """Move the chain's start, then delete the archived rows with the guards lifted, in one transaction
    (the head's UPDATE comes first: SQLite's driver opens the transaction only at a data change)."""
    connection.execute(update(audit_chain.HEAD).values(start_seq=done.through_seq, start_hash=done.last_hash))
    audit_guard.remove(connection)
    archived = (audit_chain.EVENTS.c.id <= done.last_id, audit_chain.EVENTS.c.at < threshold)
    connection.execute(delete(audit_chain.EVENTS).where(*archived))
    audit_guard.install(connection)


def verify_file(path: Path) -> audit_chain.Report:
    """Walk an archive file's chain from its header; it must end where the table's chain started then."""
    with path.open("rb") as lines:
        header = orjson.loads(next(lines, b"{}"))
        if header.get("format") != FORMAT:
            raise ServiceRefusal(f"{path} 不是审计日志归档文件")
        started = time.perf_counter()
        rows = (_from_line(line) for line in lines)
        start = audit_chain.Walk(header["start_seq"] + 1, header["start_hash"])
        count, walk, problem = audit_chain.walk_chain(rows, start, length=2**63)
    return audit_chain.Report(count, time.perf_counter() - started, walk.seq - 1, walk.prev_hash, problem)


def _from_line(line: bytes) -> dict[str, Any]:
    row = orjson.loads(line)
    row["at"] = datetime.fromisoformat(row["at"])
    return row
