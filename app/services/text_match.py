"""Finding part of a name (LIKE '%…%') in the way the indexes can serve it.

On PostgreSQL, pg_trgm's GIN indexes (migration fa13a0000001) serve strings of three characters or more. A
shorter string has no trigram; Chinese names are often searched by two characters (教育, 医院), so for those
`short_grams(column)` (every character and pair of characters, GIN-indexed by migration fm13a0000009 on unit
and domain names) narrows the rows first and LIKE checks them. SQLite scans with LIKE.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, and_, func
from sqlalchemy.dialects.postgresql import ARRAY

SHORT = 2  # the longest string without a trigram


def like_pattern(text: str) -> str:
    """`%text%` with LIKE's own characters (and the escape) escaped: the user's text matches as written."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def contains(column: Any, text: str, dialect: str) -> ColumnElement[bool]:
    """`column` holds `text`; on PostgreSQL a short `text` also through the column's short-gram index."""
    like = column.like(like_pattern(text), escape="\\")
    if dialect != "postgresql" or len(text) > SHORT:
        return like
    return and_(func.short_grams(column, type_=ARRAY(Text)).contains([text]), like)
