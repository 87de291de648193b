"""Running applications moved to another version of their procedure, with what is needed to undo the move."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import SealedJSON, UTCDateTime


class InstanceMigration(db.Model):
    """One move of an application from one version to another; `undone_at` once it was taken back.

    The state, stage and version counter from before the move restore it exactly; `version_after`
    is the counter the move left, so an undo can tell whether the application moved on since.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    from_definition_id: Mapped[int] = mapped_column(ForeignKey("workflow_definition.id"))
    to_definition_id: Mapped[int] = mapped_column(ForeignKey("workflow_definition.id"))
    old_state: Mapped[dict[str, Any]] = mapped_column(SealedJSON("instance_migration.old_state"))
    old_stage: Mapped[str] = mapped_column(String(40))
    version_before: Mapped[int]
    version_after: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(80))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by: Mapped[str | None] = mapped_column(String(80))
