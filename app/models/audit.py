"""Append-only, hash-chained audit trail (DOMAIN.md §7.3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import UTCDateTime, utcnow

# prev_hash of the first row of a chain that was never archived: 64 zeros.
GENESIS_HASH = "0" * 64


class AuditEvent(db.Model):
    """Who did what, when, where, on which instance and task, and why. Never updated nor deleted.

    `seq` is the row's place in the chain (1, 2, 3 … without gaps, unlike ids); `row_hash` is
    SM3(prev_hash ‖ canonical content), see app/services/audit_chain.py. Triggers refuse UPDATE,
    DELETE and TRUNCATE (migration f3c0de5a0813)."""

    # A reviewer's 已办, newest first: one index range, the next page starting below the last id.
    __table_args__ = (Index("ix_audit_event_actor_action", "actor", "action", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(45))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_name: Mapped[str | None] = mapped_column(String(80))
    task_title: Mapped[str | None] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(db.Model):
    """The one row (id 1) every append locks: appends are serialised, so no two link to the same row.

    `length` and `last_hash` describe the newest row, so rows cut off the end or added outside
    `audit.record` show; `start_seq`/`start_hash` are where the chain in the table begins (0 and
    GENESIS_HASH until rows are archived)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    length: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    start_seq: Mapped[int] = mapped_column(Integer, default=0)
    start_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
