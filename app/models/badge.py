"""Website badge certificates (网站标识)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import UTCDateTime, utcnow


class Certificate(db.Model):
    """A badge: human 标识编号 plus an opaque public id for the certificate page."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(30), unique=True)  # set once the id is known
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    colour: Mapped[str] = mapped_column(String(10))  # red (党政机关) / blue (事业单位)
    site_name: Mapped[str] = mapped_column(String(120))
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="valid")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hang_deadline: Mapped[date | None] = mapped_column(Date)
    deadline_passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
