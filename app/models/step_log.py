"""What each runner action did to an application, kept so its decisions can be replayed on an edited diagram."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import JSONData, SealedJSON, UTCDateTime


class StepRecord(db.Model):
    """One action on an application: its start, a completion, a message delivered, timers fired.

    `seq` is the instance's version counter after the action, so steps sort in the order they
    happened. `results` are the service tasks' results of the action, in order
    (element, operator, result): a replay reuses them instead of calling operators again. The
    paths of an application's steps, one after the other, are the path it took.
    """

    __table_args__ = (UniqueConstraint("instance_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))  # start / complete / message / timer
    element: Mapped[str | None] = mapped_column(String(80))  # the user task completed
    message: Mapped[str | None] = mapped_column(String(80))  # the message delivered
    # Start data, submitted form or message payload.
    data: Mapped[dict[str, Any]] = mapped_column(SealedJSON("step_record.data"))
    results: Mapped[list[dict[str, Any]]] = mapped_column(SealedJSON("step_record.results"))
    path: Mapped[list[str]] = mapped_column(JSONData)  # the elements the action completed, in order
    actor: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # the engine's clock during the action
