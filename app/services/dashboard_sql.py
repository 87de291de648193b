"""SQL the 统计 page groups by, on SQLite and PostgreSQL alike: Beijing months of a moment or a date.

Datetimes are stored in UTC (SQLite as text), so a month boundary is Beijing midnight: 2026-10-31 20:00 UTC
falls in 2026-11. Both expressions give 'YYYY-MM' text, compared and sorted as such.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class beijing_month(FunctionElement[str]):
    """'YYYY-MM' of a UTC timestamp column in Beijing time."""

    type = String()
    inherit_cache = True


class date_month(FunctionElement[str]):
    """'YYYY-MM' of a date column (dates are Beijing dates already)."""

    type = String()
    inherit_cache = True


@compiles(beijing_month, "sqlite")
def _beijing_month_sqlite(element: beijing_month, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)}, '+8 hours')"


@compiles(beijing_month, "postgresql")
def _beijing_month_postgresql(element: beijing_month, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"


@compiles(date_month, "sqlite")
def _date_month_sqlite(element: date_month, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(date_month, "postgresql")
def _date_month_postgresql(element: date_month, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"
