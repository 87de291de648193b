"""The 待办 counts of each reviewer office: open work items per office, role, stage and diagram version, kept as
work items come and go so that no inbox view groups its office's items.

Database triggers (migrations fa13a0000001, fk13a0000007) append a delta row to `inbox_count_delta` in the
transaction that inserts, deletes or moves a work item; appending takes no lock another transaction waits for,
so actions of one office never queue behind one another nor deadlock, as updates of one counter row did. An
office's figures are its `inbox_count` rows plus its deltas, summed in one statement (one snapshot: a fold
moves deltas into the rows atomically). The worker folds the deltas in every round (`compact_inbox_counts`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, func, select, text, true, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.models import InboxCount, InboxCountDelta, ProcessInstance, WorkItem

BASE, DELTAS = InboxCount.__table__, InboxCountDelta.__table__
KEY = ["office_code", "role", "stage", "definition_id"]  # of an inbox count
COMPACTION_LOCK = 0x494E424F58  # advisory lock of the count compaction ("INBOX")


def _office_counts() -> Any:
    """(stage, definition_id, n) of the office :office and role :role, groups of 0 left out."""
    kept = union_all(
        *(
            select(table.c.stage, table.c.definition_id, table.c.n).where(
                table.c.office_code == bindparam("office"), table.c.role == bindparam("role")
            )
            for table in (BASE, DELTAS)
        )
    ).subquery()
    total = func.sum(kept.c.n)
    return (
        select(kept.c.stage, kept.c.definition_id, total.label("n"))
        .group_by(kept.c.stage, kept.c.definition_id)
        .having(total > 0)
        .subquery()
    )


OFFICE_COUNTS = _office_counts()  # built once: every 待办 view reads it


def compact_inbox_counts(session: Session) -> bool:
    """Fold the deltas the triggers appended into inbox_count, in the session's transaction: the worker
    does it every round. False when another compaction is under way (it folds them), True otherwise.

    Writers only ever insert deltas, so this waits for none of them and none waits for it. On PostgreSQL
    one statement deletes the deltas its snapshot sees and adds exactly those to the counts; a delta
    committed meanwhile stays for the next compaction. A transaction-level advisory lock keeps two workers
    from folding at once (their deletes could wait on each other's rows in opposite orders). SQLite has a
    single writer: the fold and the delete see the same rows.
    """
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        if not session.scalar(select(func.pg_try_advisory_xact_lock(COMPACTION_LOCK))):
            return False
        folded: Any = delete(DELTAS).returning(*_key(DELTAS), DELTAS.c.n).cte("folded")
    else:
        folded = DELTAS
    summed = (
        select(*_key(folded), func.sum(folded.c.n))
        .where(true())  # SQLite reads ON after a bare FROM as a join's: an upsert's SELECT needs a WHERE
        .group_by(*_key(folded))
        .having(func.sum(folded.c.n) != 0)
    )
    upsert = (pg_insert if postgresql else sqlite_insert)(BASE).from_select([*KEY, "n"], summed)
    session.execute(upsert.on_conflict_do_update(index_elements=KEY, set_={"n": BASE.c.n + upsert.excluded.n}))
    if not postgresql:
        session.execute(delete(DELTAS))
    return True


def rebuild_inbox_counts(session: Session) -> None:
    """Recount inbox_count from the work items, deltas folded in: after loading work items with triggers
    disabled (bulk import, benchmark), or to check the counts (the result must not change them).

    On PostgreSQL the delta table is locked against inserts first: a concurrent action waits at its first
    work item change until the recount commits, so it is counted either by the grouping or by its delta.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE inbox_count_delta IN SHARE ROW EXCLUSIVE MODE"))
    session.execute(delete(DELTAS))
    session.execute(delete(BASE))
    grouped = (
        select(WorkItem.office_code, WorkItem.role, WorkItem.stage, ProcessInstance.definition_id, func.count())
        .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
        .where(WorkItem.office_code.is_not(None))
        .group_by(WorkItem.office_code, WorkItem.role, WorkItem.stage, ProcessInstance.definition_id)
    )
    session.execute(BASE.insert().from_select([*KEY, "n"], grouped))


def _key(table: Any) -> list[ColumnElement[Any]]:
    return [table.c[name] for name in KEY]
