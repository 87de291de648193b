"""What an operator or script helper may know about the action being run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


@dataclass
class ActionContext:
    """One runner action: who acts, on which unit and instance, at what time."""

    session: Session
    unit_id: int
    actor: str
    role: str
    now: datetime
    settings: dict[str, Any]
    instance_id: int | None = None
    procedure: dict[str, str] = field(default_factory=dict)  # the diagram's process properties
    data: dict[str, Any] = field(default_factory=dict)
