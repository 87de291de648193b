"""The SM3 hash chain of the audit trail: appending a row, and walking the chain to find tampering.

Each row stores `prev_hash` (the previous row's `row_hash`) and
    row_hash = SM3(prev_hash as 64 hex ASCII characters ‖ canonical(row))
where canonical(row) is the UTF-8 JSON array of the row's content in a fixed order, with dict keys sorted
and the time as UTC ISO 8601 with microseconds (see `canonical`). SM3 (GB/T 32905) comes from OpenSSL
through hashlib; without it the platform refuses to start (`require_sm3`).

Appends are serialised on the single row of `audit_chain_head` (UPDATE … RETURNING locks it until the
transaction ends), so two transactions never link to the same predecessor and `seq` has no gaps.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import CTE, ColumnElement, Connection, Row, String, Update, bindparam, select, update

from app.config import dump_json
from app.models.audit import AuditChainHead, AuditEvent

ALGORITHM = "sm3"
SM3_MISSING = (
    "当前 Python 所用的 OpenSSL 不提供 SM3 摘要算法（hashlib.new('sm3') 失败），无法生成防篡改的审计日志哈希链。"
    "请改用支持 SM3 的 OpenSSL（1.1.1 及以上，且未禁用 SM3）编译的 Python 后再启动。"
)
HEAD_MISSING = (
    "审计链头（audit_chain_head 表的第 1 行）缺失，拒绝写入审计日志："
    "请先运行 flask db upgrade 并执行 flask audit verify"
)
# The content covered by row_hash, in this order; id is left out (ids may have gaps), seq is in.
CONTENT = (
    "seq", "at", "actor", "role", "ip", "instance_id",
    "task_name", "task_title", "action", "decision", "reason", "detail",
)  # fmt: skip

EVENTS = AuditEvent.__table__
HEAD = AuditChainHead.__table__
HEAD_ID = 1


def require_sm3() -> None:
    """Refuse to start without SM3: a silent fallback to another hash would break the chain's promise."""
    try:
        hashlib.new(ALGORITHM)
    except ValueError as exc:
        raise RuntimeError(SM3_MISSING) from exc


def canonical(row: Mapping[str, Any]) -> bytes:
    """The row's content as bytes that are the same when written and when read back from either database."""
    at: datetime = row["at"]
    values = [at.astimezone(UTC).isoformat(timespec="microseconds") if key == "at" else row[key] for key in CONTENT]
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    digest = hashlib.new(ALGORITHM, prev_hash.encode("ascii"))
    digest.update(canonical(row))
    return digest.hexdigest()


def as_stored(detail: Mapping[str, Any]) -> Any:
    """The detail as it reads back from the JSON column (tuples become lists, dates strings, keys strings)."""
    return orjson.loads(dump_json(detail))


# The append's statements, built once: constructing them per event cost more than executing them.
LOCK_HEAD = (
    update(HEAD).where(HEAD.c.id == HEAD_ID).values(length=HEAD.c.length + 1).returning(HEAD.c.length, HEAD.c.last_hash)
)
INSERT_EVENT = EVENTS.insert()
MOVE_HEAD = update(HEAD).where(HEAD.c.id == HEAD_ID).values(last_hash=bindparam("new_hash", type_=String))
# PostgreSQL: the insert as a data-modifying CTE of the head's update, so both go in one round trip.
INSERT_AND_MOVE_HEAD = MOVE_HEAD.add_cte(
    EVENTS.insert()
    .values({column.name: bindparam(column.name, type_=column.type) for column in EVENTS.c if column.name != "id"})
    .cte("appended")
)


def append(connection: Connection, values: dict[str, Any]) -> None:
    """Insert one event at the end of the chain, in the caller's transaction (the head stays locked until it ends)."""
    append_at(connection, connection.execute(LOCK_HEAD).one_or_none(), values)


def lock_head_with(*writes: CTE, returning: Iterable[ColumnElement[Any]] = ()) -> Update:
    """LOCK_HEAD with the caller's own writes as CTEs (PostgreSQL): they and the lock take one round trip.

    The row it returns is the head for `append_at`, followed by the `returning` columns.
    """
    return LOCK_HEAD.add_cte(*writes).returning(*returning)


def append_at(connection: Connection, head: Row[Any] | None, values: dict[str, Any]) -> None:
    """Insert one event after `head`, the (length, last_hash) that LOCK_HEAD returned in this transaction."""
    if head is None:
        raise RuntimeError(HEAD_MISSING)
    row = {**values, "detail": as_stored(values["detail"]), "seq": head.length, "prev_hash": head.last_hash}
    row["row_hash"] = row_hash(head.last_hash, row)
    if connection.dialect.name == "postgresql":
        connection.execute(INSERT_AND_MOVE_HEAD, {**row, "new_hash": row["row_hash"]})
    else:
        connection.execute(INSERT_EVENT, row)
        connection.execute(MOVE_HEAD, {"new_hash": row["row_hash"]})


# ---- verification --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """The first place the chain is broken: the row named by id (or the rows around a gap), and what is wrong."""

    kind: str  # edited, deleted, inserted, relinked, rewritten
    event_id: int | None
    message: str


@dataclass(frozen=True)
class Report:
    rows: int
    seconds: float
    head_length: int
    head_hash: str
    problem: Problem | None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float(self.rows)


@dataclass(frozen=True)
class Anchor:
    """A (seq, row_hash) pair recorded outside the database, e.g. from an earlier verify's output."""

    seq: int
    row_hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        seq, _, digest = text.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise ValueError(f"锚点格式应为 链序号:64位十六进制哈希，收到 {text!r}")
        return cls(int(seq), digest.lower())


@dataclass(frozen=True)
class Walk:
    """Where a walk stands: the seq and hash the next row must carry, and the last good row's id."""

    seq: int
    prev_hash: str
    last_id: int | None = None


def verify(connection: Connection, anchor: Anchor | None = None, batch: int = 5000) -> Report:
    """Walk every row in id order and stop at the first one that was edited, deleted or inserted."""
    started = time.perf_counter()
    head = connection.execute(select(HEAD).where(HEAD.c.id == HEAD_ID)).one_or_none()
    if head is None:
        return Report(0, time.perf_counter() - started, 0, "", Problem("deleted", None, HEAD_MISSING))
    result = connection.execute(select(EVENTS).order_by(EVENTS.c.id).execution_options(yield_per=batch))
    rows = (row._mapping for row in result)
    count, walk, problem = walk_chain(rows, Walk(head.start_seq + 1, head.start_hash), head.length, anchor)
    problem = problem or _check_tail(walk, head.length, head.last_hash, anchor)
    return Report(count, time.perf_counter() - started, head.length, head.last_hash, problem)


def walk_chain(
    rows: Iterable[Mapping[str, Any]], start: Walk, length: int, anchor: Anchor | None = None
) -> tuple[int, Walk, Problem | None]:
    """Check rows (in id order) from `start` up to seq `length`: the good rows' count, where the walk
    ended, and the first problem."""
    walk, count = start, 0
    for row, following in _with_next(rows):
        problem = _check_place(row, walk, length) or _check_hashes(row, following, walk, anchor)
        if problem is not None:
            return count, walk, problem
        count += 1
        walk = Walk(row["seq"] + 1, row["row_hash"], row["id"])
    return count, walk, None


def _with_next(rows: Iterable[Mapping[str, Any]]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any] | None]]:
    """Each row with the one after it (None at the end): a bad row's neighbour tells edited from inserted."""
    previous = None
    for row in rows:
        if previous is not None:
            yield previous, row
        previous = row
    if previous is not None:
        yield previous, None


def _after(walk: Walk) -> str:
    return f"id {walk.last_id} 之后" if walk.last_id is not None else "链首"


def _check_place(row: Mapping[str, Any], walk: Walk, length: int) -> Problem | None:
    """Is the row where the chain expects the next one: no seq skipped, repeated, or beyond the head?"""
    seq, event_id = row["seq"], row["id"]
    if seq < walk.seq:
        return Problem("inserted", event_id, f"id {event_id} 是插入的行：链序号 {seq} 已属于前面的行")
    if seq > walk.seq:
        missing = f"链序号 {walk.seq}" if seq == walk.seq + 1 else f"链序号 {walk.seq}–{seq - 1}"
        count = seq - walk.seq
        return Problem("deleted", event_id, f"{_after(walk)}、id {event_id} 之前的 {count} 行（{missing}）被删除")
    if seq > length:
        return Problem("inserted", event_id, f"id {event_id} 是绕过应用插入的行：链头只记到第 {length} 行")
    return None


def _check_hashes(
    row: Mapping[str, Any], following: Mapping[str, Any] | None, walk: Walk, anchor: Anchor | None
) -> Problem | None:
    """Does the row link to the previous one, and does its content still give its hash?"""
    seq, event_id = row["seq"], row["id"]
    if row["prev_hash"] != walk.prev_hash:
        return Problem(
            "relinked",
            event_id,
            f"id {event_id} 的 prev_hash 与{_after(walk)}那一行的 row_hash 不符："
            "前一行被改动后重算了哈希，或本行被改动",
        )
    if row_hash(row["prev_hash"], row) != row["row_hash"]:
        if following is not None and following["seq"] == seq:
            return Problem("inserted", event_id, f"id {event_id} 是插入的行：与 id {following['id']} 同占链序号 {seq}")
        return Problem("edited", event_id, f"id {event_id} 被改动：内容与其 row_hash 不符")
    if anchor is not None and seq == anchor.seq and row["row_hash"] != anchor.row_hash:
        return Problem("rewritten", event_id, f"id {event_id}（链序号 {seq}）的哈希与外部记录的锚点不符：链被整体重写")
    return None


def _check_tail(walk: Walk, length: int, last_hash: str, anchor: Anchor | None) -> Problem | None:
    """After the last row: is the chain as long as the head says, and does it end in the head's hash?"""
    last = walk.seq - 1
    after = f"id {walk.last_id} 之后" if walk.last_id is not None else "表中"
    if last < length:
        missing = f"链序号 {walk.seq}" if length == walk.seq else f"链序号 {walk.seq}–{length}"
        return Problem("deleted", None, f"{after}的 {length - last} 行（{missing}）被删除：链头记到第 {length} 行")
    if walk.prev_hash != last_hash:
        message = f"最后一行 id {walk.last_id} 与链头记录的哈希不符：该行被改动后重算了哈希"
        return Problem("relinked", walk.last_id, message)
    if anchor is not None and anchor.seq > last:
        return Problem("deleted", None, f"外部锚点指向链序号 {anchor.seq}，而链只到第 {last} 行")
    return None
