"""Deployed diagrams, running instances and their read models (work items, timers, messages)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, FetchedValue, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models._types import JSONData, SealedJSON, UTCDateTime, utcnow
from app.models.org import Unit


class WorkflowDefinition(db.Model):
    """One deployed version of a procedure: the diagram, every file it uses, and the bundle's sha256."""

    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(80), index=True)
    name: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(200))
    xml: Mapped[str] = mapped_column(Text)
    files: Mapped[dict[str, str]] = mapped_column(JSONData, default=dict)  # "forms/x.schema.json" → text
    comment: Mapped[str] = mapped_column(Text, default="")
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployed_by: Mapped[str] = mapped_column(String(80))


# An application gets its number (e.g. KB2026000123) when the unit first submits it. Until then its key
# is provisional: this lowercase prefix and a random token, never shown as a number, never a real key
# (prefixes are two capital letters), and still the key of its page for the unit.
PROVISIONAL_KEY = "draft-"
# An unsent application the unit gave up (放弃): kept with its audit trail, hidden from every list.
ABANDONED = "abandoned"
OPEN_STATUSES = ("running", "error")  # not finished: neither completed nor abandoned


class ProcessInstance(db.Model):
    """A running or finished application. `state` is the workflow without its spec."""

    id: Mapped[int] = mapped_column(primary_key=True)
    business_key: Mapped[str] = mapped_column(String(20), unique=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("workflow_definition.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    stage: Mapped[str] = mapped_column(String(40), default="")
    # running/completed/error/abandoned
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    failed_action: Mapped[dict[str, object] | None] = mapped_column(SealedJSON("process_instance.failed_action"))
    state: Mapped[dict[str, object]] = mapped_column(SealedJSON("process_instance.state"))
    serializer_version: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The unit's region, copied by database triggers on insert and whenever the unit moves (migration
    # fj13a0000006): the 统计 applications by region are grouped without visiting each unit.
    region_code: Mapped[str | None] = mapped_column(String(6), server_default=FetchedValue())

    definition: Mapped[WorkflowDefinition] = relationship()
    unit: Mapped[Unit] = relationship(lazy="joined", innerjoin=True)  # routing needs its region

    __mapper_args__ = {"version_id_col": version}  # compare-and-set on every save
    __table_args__ = (
        # Work items → procedure without reading the (large) state rows: the inbox counts per procedure.
        Index("ix_process_instance_id_definition", "id", "definition_id"),
        # 统计: the numbered applications of a period are one index range carrying what the figures group by.
        Index(
            "ix_process_instance_numbered_created",
            "created_at",
            postgresql_include=["definition_id", "stage", "region_code", "id"],
            postgresql_where=text(f"business_key NOT LIKE '{PROVISIONAL_KEY}%'"),
            sqlite_where=text(f"business_key NOT LIKE '{PROVISIONAL_KEY}%'"),
        ),
        # 统计: a 编办's applications by their copy of the unit's region (jurisdiction.office_regions); search:
        # the region's applications newest first (application_search).
        Index("ix_process_instance_region", "region_code", "id"),
    )

    @property
    def numbered(self) -> bool:
        """Whether the application has its number, i.e. the unit has submitted it."""
        return not self.business_key.startswith(PROVISIONAL_KEY)


CARRIED = ["due_at", "assignee"]  # what the 待办 filters test besides the index's own columns


class WorkItem(db.Model):
    """A ready user task, projected on every save; every inbox is a query on this table."""

    # Ids appear in URLs: never reuse one, or a stale page could act on another task.
    # An inbox is one office and role: each sort (and the stage filter) is one index range ending in the
    # tie-breaking id, so a page, and the page after it (keyset), reads only its own rows. On PostgreSQL the
    # migration adds the descending deadline order and (office_code, role) statistics (fa13a0000001). The stage
    # and region ranges carry the deadline and assignee, so their overdue and claimed filters are counted off
    # the index (fo13a0000011).
    __table_args__ = (
        Index("ix_work_item_inbox_created", "office_code", "role", "created_at", "id"),
        Index("ix_work_item_inbox_due", "office_code", "role", "due_at", "id"),
        Index(
            "ix_work_item_inbox_stage",
            *("office_code", "role", "stage", "created_at", "id"),
            postgresql_include=CARRIED,
        ),
        Index("ix_work_item_inbox_assignee", "office_code", "role", "assignee", "created_at", "id"),
        Index(
            "ix_work_item_inbox_region",
            *("office_code", "role", "region_code", "created_at", "id"),
            postgresql_include=CARRIED,
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    task_name: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20), index=True)
    office_code: Mapped[str | None] = mapped_column(String(40), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    # The unit's region, copied by database triggers (migration fa13a0000001): the region filter reads an index.
    region_code: Mapped[str | None] = mapped_column(String(6), server_default=FetchedValue())
    assignee: Mapped[str | None] = mapped_column(String(80))
    form: Mapped[str | None] = mapped_column(String(120))
    stage: Mapped[str] = mapped_column(String(40), default="")
    properties: Mapped[dict[str, str]] = mapped_column(JSONData, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class InboxCount(db.Model):
    """Open reviewer work items per office, role, stage and diagram version: the 待办 counts.

    The base of the counts: an office's figure is its rows here plus its rows of InboxCountDelta.
    Written only by the compaction that folds the deltas in (app.services.inbox_counts.compact_inbox_counts)
    and by rebuild_inbox_counts, which recounts everything after a bulk load with the triggers disabled.
    Rows whose count fell to 0 stay; readers skip them.
    """

    office_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    stage: Mapped[str] = mapped_column(String(40), primary_key=True)
    definition_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)


class InboxCountDelta(db.Model):
    """One change of an inbox count (+1, −1, or ±k for a move to another version), appended by database
    triggers (migration fk13a0000007) in the transaction that inserts, deletes or moves a work item.

    Appending takes no lock another transaction waits for, so actions on the same office and stage never
    queue behind one another nor deadlock, as updates of one counter row did. Readers add an office's
    deltas to its InboxCount rows; the worker folds them in every round.
    """

    __table_args__ = (Index("ix_inbox_count_delta_inbox", "office_code", "role"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    office_code: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(40))
    definition_id: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)


class InstanceOffice(db.Model):
    """An office that has had a task of an application: it may open the application from then on."""

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    office_code: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class TimerSubscription(db.Model):
    """A waiting timer event; the worker claims rows whose due time has come."""

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    task_name: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    estimated: Mapped[bool] = mapped_column(default=False)


class MessageSubscription(db.Model):
    """A waiting message catch event and the correlation key it waits for."""

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    message_name: Mapped[str] = mapped_column(String(80), index=True)
    correlation_key: Mapped[str] = mapped_column(String(80), index=True)


class BusinessKeySequence(db.Model):
    """Per prefix and year counter for application numbers such as KB2026000123."""

    prefix: Mapped[str] = mapped_column(String(4), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
