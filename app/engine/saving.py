"""One save of an action, in as few statements as the database allows: the instance row (a compare-and-set on
its version counter), the read models (only the rows that change, see worklist.Changes), the step record and
the audit event.

SQLite has no round trips to save: one statement per table that changes (several rows in one executemany),
then the audit append's own. PostgreSQL: every write is a CTE of the audit head's lock (audit_chain.LOCK_HEAD),
which returns the head and whether the compare-and-set hit, in one round trip; the event's insert and the head's
move take the second. Rows travel as one JSON parameter per table (json_populate_recordset), so that statement
is the same whatever the number of rows, and is built once. Its writes run as one: if the compare-and-set
missed, the others happened too and the conflict rolls them all back (they touch disjoint rows, so none fails
on another: work items and waits of tasks that closed go, those of tasks that opened come).

Statements are built once, with typed parameters (the column's own type, e.g. a sealed one): building them
per action cost more than executing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Connection,
    Delete,
    Dialect,
    Insert,
    String,
    Table,
    Update,
    any_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from app.engine.errors import ConflictError
from app.engine.step_log import TABLE as STEPS
from app.engine.worklist import Changes
from app.models import InstanceOffice, MessageSubscription, ProcessInstance, TimerSubscription, WorkItem
from app.services import audit_chain

INSTANCES, ITEMS, OFFICES = ProcessInstance.__table__, WorkItem.__table__, InstanceOffice.__table__
TIMERS, MESSAGES = TimerSubscription.__table__, MessageSubscription.__table__
# The columns a save sets on the instance row.
SAVED = (
    "business_key", "state", "serializer_version", "stage", "status", "error", "failed_action", "updated_at", "version",
)  # fmt: skip
CONFLICT = "申请已被他人同时更新，请刷新后重试"


@dataclass
class Save:
    """Everything one save writes. `instance` holds the SAVED values; `expected_version` is the one loaded."""

    instance_id: int
    expected_version: int
    instance: dict[str, Any]
    changes: Changes
    step: dict[str, Any] | None  # the step log's record (none when a migration moves the instance)
    event: dict[str, Any] | None  # the audit event's values (audit.event)


def write(connection: Connection, save: Save) -> None:
    """Write `save` in the caller's transaction; ConflictError when the instance changed since it was loaded."""
    if connection.dialect.name == "postgresql" and _in_one_fits(save):
        _in_one(connection, save)
    else:
        _in_turn(connection, save)


def _in_one_fits(save: Save) -> bool:
    """An action's save (a migration's has no step and event) that knows the waits it replaces."""
    changes = save.changes
    known = changes.timers_gone is not None and changes.messages_gone is not None
    return known and save.step is not None and save.event is not None


# ---- one statement per table (SQLite; PostgreSQL for a migration's save) ------------------------------------


def _instance_update() -> Update:
    values = {name: bindparam(f"new_{name}", type_=INSTANCES.c[name].type) for name in SAVED}
    where = (INSTANCES.c.id == bindparam("instance_id"), INSTANCES.c.version == bindparam("expected_version"))
    return update(INSTANCES).where(*where).values(values)


UPDATE_INSTANCE = _instance_update()
DELETE_ITEMS = delete(ITEMS).where(ITEMS.c.task_id.in_(bindparam("items_gone", expanding=True)))


def _gone(table: Table) -> tuple[Delete, Delete]:
    """Rows of tasks that no longer wait: by task id, or (not known which) the instance's but those waiting now."""
    by_id = delete(table).where(table.c.task_id.in_(bindparam("gone", expanding=True)))
    waiting = table.c.task_id.not_in(bindparam("waiting", expanding=True))
    return by_id, delete(table).where(table.c.instance_id == bindparam("instance_id"), waiting)


GONE = {TIMERS.name: _gone(TIMERS), MESSAGES.name: _gone(MESSAGES)}


@cache
def _upserts(dialect: str) -> tuple[Insert, Insert, Insert]:
    """Office rows added unless present; timer and message rows written over the row of the same task."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    offices = insert(OFFICES).on_conflict_do_nothing()
    timers, messages = insert(TIMERS), insert(MESSAGES)
    return (
        offices,
        timers.on_conflict_do_update(index_elements=["task_id"], set_=_from_excluded(timers, TIMERS)),
        messages.on_conflict_do_update(index_elements=["task_id"], set_=_from_excluded(messages, MESSAGES)),
    )


def _from_excluded(insert: Any, table: Table) -> dict[str, Any]:
    return {c.name: insert.excluded[c.name] for c in table.c if c.name not in ("id", "task_id")}


def _in_turn(connection: Connection, save: Save) -> None:
    if connection.execute(UPDATE_INSTANCE, _instance_parameters(save)).rowcount != 1:
        raise ConflictError(CONFLICT)
    changes = save.changes
    offices, timers, messages = _upserts(connection.dialect.name)
    if changes.items_gone:
        connection.execute(DELETE_ITEMS, {"items_gone": changes.items_gone})
    if changes.items_new:
        connection.execute(ITEMS.insert(), changes.items_new)
    if changes.offices:
        connection.execute(offices, changes.offices)
    _waits_in_turn(connection, save.instance_id, TIMERS, changes.timers_gone, timers, changes.timers_new)
    _waits_in_turn(connection, save.instance_id, MESSAGES, changes.messages_gone, messages, changes.messages)
    if save.step is not None:
        connection.execute(STEPS.insert(), save.step)
    if save.event is not None:
        audit_chain.append(connection, save.event)


def _waits_in_turn(
    connection: Connection,
    instance_id: int,
    table: Table,
    gone: list[str] | None,
    upsert: Insert,
    rows: list[dict[str, Any]],
) -> None:
    by_id, all_but_waiting = GONE[table.name]
    if gone is None:  # not known which rows it has: then `rows` are those of every task waiting now
        waiting = [row["task_id"] for row in rows]
        connection.execute(all_but_waiting, {"instance_id": instance_id, "waiting": waiting})
    elif gone:
        connection.execute(by_id, {"gone": gone})
    if rows:
        connection.execute(upsert, rows)


def _instance_parameters(save: Save) -> dict[str, Any]:
    values = {f"new_{name}": value for name, value in save.instance.items()}
    return {**values, "instance_id": save.instance_id, "expected_version": save.expected_version}


# ---- one round trip (PostgreSQL) ----------------------------------------------------------------------------


def _as_sent(table: Table, rows: list[dict[str, Any]], dialect: Dialect) -> list[dict[str, Any]]:
    """Rows with the platform's own column conversions applied (UTCDateTime, sealed types), as a typed parameter
    would have them: a JSON parameter skips the column types."""
    converting = [c for c in table.c if isinstance(c.type, TypeDecorator) and c.name in (rows[0] if rows else {})]
    if not converting:
        return rows
    return [{**row, **{c.name: c.type.process_bind_param(row[c.name], dialect) for c in converting}} for row in rows]


def _json_rows(table: Table, parameter: str) -> Any:
    """SELECT of the table's columns (but id) from a JSON array of rows: one parameter for any number of rows."""
    names = [c.name for c in table.c if c.name != "id"]
    typed = literal_column(f"NULL::{table.name}")
    rows = func.json_populate_recordset(typed, bindparam(parameter, type_=JSON)).table_valued(*names)
    return names, select(*(rows.c[name] for name in names))


def _json_insert(table: Table, parameter: str) -> postgresql.Insert:
    names, rows = _json_rows(table, parameter)
    return postgresql.insert(table).from_select(names, rows)


def _json_upsert(table: Table, parameter: str) -> postgresql.Insert:
    insert = _json_insert(table, parameter)
    return insert.on_conflict_do_update(index_elements=["task_id"], set_=_from_excluded(insert, table))


def _gone_pg(table: Table, parameter: str) -> Delete:
    return delete(table).where(table.c.task_id == any_(bindparam(parameter, type_=ARRAY(String))))


def _save_in_one() -> Update:
    saved = UPDATE_INSTANCE.returning(INSTANCES.c.id).cte("saved")
    step = STEPS.insert().values({c.name: bindparam(f"step_{c.name}", type_=c.type) for c in STEPS.c if c.name != "id"})
    writes = [
        saved,
        _gone_pg(ITEMS, "items_gone").cte("items_gone"),
        _json_insert(ITEMS, "items_new").cte("items_new"),
        _json_insert(OFFICES, "offices").on_conflict_do_nothing().cte("offices"),
        _gone_pg(TIMERS, "timers_gone").cte("timers_gone"),
        _json_upsert(TIMERS, "timers_new").cte("timers_new"),
        _gone_pg(MESSAGES, "messages_gone").cte("messages_gone"),
        _json_upsert(MESSAGES, "messages").cte("messages"),
        step.cte("step"),
    ]
    hit = select(func.count()).select_from(saved).scalar_subquery().label("saved")
    return audit_chain.lock_head_with(*writes, returning=[hit])


SAVE_IN_ONE = _save_in_one()


def _in_one(connection: Connection, save: Save) -> None:
    changes, dialect = save.changes, connection.dialect
    parameters = {
        **_instance_parameters(save),
        "items_gone": changes.items_gone,
        "items_new": _as_sent(ITEMS, changes.items_new, dialect),
        "offices": _as_sent(OFFICES, changes.offices, dialect),
        "timers_gone": changes.timers_gone,
        "timers_new": _as_sent(TIMERS, changes.timers_new, dialect),
        "messages_gone": changes.messages_gone,
        "messages": _as_sent(MESSAGES, changes.messages, dialect),
        **{f"step_{name}": value for name, value in (save.step or {}).items()},
    }
    head = connection.execute(SAVE_IN_ONE, parameters).one_or_none()
    if head is not None and head.saved != 1:
        raise ConflictError(CONFLICT)
    audit_chain.append_at(connection, head, save.event or {})
