"""GB/T 2260 administrative divisions, shipped as data and loaded by `flask regions load`."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class Region(db.Model):
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    level: Mapped[str] = mapped_column(String(10))  # province / city / county
    parent_code: Mapped[str | None] = mapped_column(String(6), index=True)
