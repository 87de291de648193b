"""网络红页: the free micro-site of a unit without a website of its own (DOMAIN.md §4).

The page's content is one JSON document, kept twice: the draft the unit edits and the copy made when
it presses 发布红页. Visitors only ever see the published copy, so editing after publishing changes
nothing public until the next 发布. Images are rows of their own, referenced by id from the content.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import UTCDateTime, utcnow


class RedPage(db.Model):
    """A unit's one red page: the draft content and, once published, the published content."""

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), unique=True)
    draft: Mapped[dict[str, Any]] = mapped_column(JSON)
    published: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(80))


class RedPageImage(db.Model):
    """A carousel or background image, re-encoded as JPEG on upload; the bytes live in the database."""

    id: Mapped[int] = mapped_column(primary_key=True)
    red_page_id: Mapped[int] = mapped_column(ForeignKey("red_page.id"), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
