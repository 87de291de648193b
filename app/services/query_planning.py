"""Plans made for the values a query runs with, where one plan for any value would be badly wrong.

psycopg prepares a statement it has run five times on a connection, and PostgreSQL may then keep one generic
plan for any values. A generic plan cannot tell a rare name from a common one (search, 到期域名), a quarter of
expiries from ten years, or a county's three years from the country's (统计): it then reads whole tables
where the values would have let it read a few rows (docs/scale.md, docs/dashboards.md). The lists that are
plain index ranges keep the default: planning every run would cost them more than it saves.

Helpers let the plans follow the values: `among` passes a list of ids as one array the plan is made for,
`estimated_rows` asks the planner how many rows a query would return before deciding how to read them,
`sampled_matches` counts a text's share in a sample of a table where the planner's guess is too rough to act on,
and `unindexed` keeps an ORDER BY from being read along an index when the rows are known to be few.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    ClauseElement,
    ColumnElement,
    Executable,
    Integer,
    Select,
    Table,
    any_,
    bindparam,
    cast,
    column,
    func,
    literal,
    select,
    table,
    tablesample,
    text,
)
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import NullType


def plan_per_value(session: Session) -> None:
    """For the rest of this transaction (the request's), PostgreSQL plans each statement for its values."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def unindexed(column: Any) -> ColumnElement[Any]:
    """`column`'s values in a form no index serves (COALESCE of the column with itself): ordered by it, the rows
    are found by the query's other conditions and then sorted, never sought along the column's own index."""
    return func.coalesce(column, column)


def among(column: Any, ids: Iterable[int] | str, dialect: str) -> ColumnElement[bool]:
    """`column IN ids`, the ids given as ints or as the text "1,2,3" (a string aggregate's, so thousands of ids
    cross from the database and back without becoming Python rows). PostgreSQL takes them as one array
    parameter (`= ANY(:ids)`): as many parameters, they cost more to render, send and plan than the query."""
    listed = ids.split(",") if isinstance(ids, str) else [str(int(i)) for i in ids]
    if dialect != "postgresql":
        return column.in_([int(i) for i in listed])
    # Untyped, the text is the array parameter itself (no text-to-array conversion the planner cannot see through).
    return column == any_(cast(bindparam(None, "{" + ",".join(listed) + "}", type_=NullType()), ARRAY(Integer)))


class _Explain(Executable, ClauseElement):
    """EXPLAIN (FORMAT JSON) of a query, compiled once per query shape like any statement (a compile per call
    cost more than the planning it asks for)."""

    _traverse_internals = [("query", InternalTraversal.dp_clauseelement)]
    inherit_cache = True

    def __init__(self, query: Select[Any]) -> None:
        self.query = query


@compiles(_Explain, "postgresql")
def _explain_sql(element: _Explain, compiler: Any, **kw: Any) -> str:
    sql = compiler.process(element.query, **kw)
    compiler._result_columns = []  # the result is the plan, not the query's columns
    return f"EXPLAIN (FORMAT JSON) {sql}"


def estimated_rows(session: Session, query: Select[Any]) -> float:
    """How many rows the planner expects `query` to return, from its statistics (PostgreSQL; elsewhere 0):
    whether a text is common, learnt without reading the rows that hold it."""
    if session.get_bind().dialect.name != "postgresql":
        return 0.0
    plan = session.connection().execute(_Explain(query)).scalar_one()
    return float(plan[0]["Plan"]["Plan Rows"])


SAMPLE_ROWS = 5000  # rows of a table read to count a text's share in it (about 2 ms)
_PG_CLASS = table("pg_class", column("oid"), column("reltuples"))


def sampled_matches(session: Session, name: Any, pattern: str) -> float:
    """How many rows of `name`'s table hold the LIKE `pattern`, scaled from a fixed sample of about SAMPLE_ROWS
    rows (PostgreSQL's TABLESAMPLE SYSTEM, the same pages each time; elsewhere 0). A table never analysed
    counts as empty.

    The planner's guess for `LIKE '%…%'` is the share of its histogram bounds the pattern matches, off by twenty
    times either way (20 202 domains for a text 1 111 hold); a sample is read in about 2 ms, and at 500 000 rows
    a text held by 2 000 of them shows about 20 times in it, so a count near that line is off by about a fifth."""
    if session.get_bind().dialect.name != "postgresql":
        return 0.0
    return float(session.execute(_sampling(name.table, name.key), {"pattern": pattern}).scalar_one() or 0)


@cache
def _sampling(sampled: Table, key: str) -> Select[Any]:
    """The statement of `sampled_matches`, built once per column (building it cost as much as running it)."""
    rows = (
        select(func.greatest(_PG_CLASS.c.reltuples, 0))
        .where(_PG_CLASS.c.oid == cast(literal(sampled.name), REGCLASS))
        .scalar_subquery()
    )
    percent = func.least(100, SAMPLE_ROWS * 100.0 / func.greatest(rows, 1))
    sample = tablesample(sampled, func.system(percent), seed=literal(0))
    holding = sample.c[key].like(bindparam("pattern"), escape="\\")
    return select(func.count().filter(holding) / func.greatest(func.count(), 1.0) * rows).select_from(sample)
