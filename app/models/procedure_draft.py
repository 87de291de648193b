"""Procedure drafts: a policy staff member's unfinished edit of a procedure in the studio."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import JSONData, UTCDateTime, utcnow


class ProcedureDraft(db.Model):
    """The diagram and files one author is editing; one draft per procedure and author."""

    __table_args__ = (UniqueConstraint("process_id", "author"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(80), index=True)
    author: Mapped[str] = mapped_column(String(80))
    base_version: Mapped[int | None] = mapped_column(Integer)  # the version the edit started from
    file_name: Mapped[str] = mapped_column(String(200))
    xml: Mapped[str] = mapped_column(Text)
    files: Mapped[dict[str, str]] = mapped_column(JSONData, default=dict)  # "forms/x.schema.json" → text
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
