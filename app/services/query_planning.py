"""Plans made for the values a query runs with, where one plan for any value would be badly wrong.

psycopg prepares a statement it has run five times on a connection, and PostgreSQL may then keep one generic
plan for any values. A generic plan cannot tell a rare name from a common one (search, 到期域名), a quarter of
expiries from ten years, or a county's three years from the country's (统计): it then reads whole tables
where the values would have let it read a few rows (docs/scale.md, docs/dashboards.md). The lists that are
plain index ranges keep the default: planning every run would cost them more than it saves.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def plan_per_value(session: Session) -> None:
    """For the rest of this transaction (the request's), PostgreSQL plans each statement for its values."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
