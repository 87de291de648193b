"""SQLAlchemy models, one module per subject."""

from app.models.audit import AuditEvent
from app.models.badge import Certificate
from app.models.billing import Charge, Remittance
from app.models.calendar import CalendarDay
from app.models.domain import Domain
from app.models.org import Contact, Office, Unit
from app.models.outbox import OutboxMessage
from app.models.workflow import (
    BusinessKeySequence,
    MessageSubscription,
    ProcessInstance,
    TimerSubscription,
    WorkflowDefinition,
    WorkItem,
)

__all__ = [
    "AuditEvent",
    "BusinessKeySequence",
    "CalendarDay",
    "Certificate",
    "Charge",
    "Contact",
    "Domain",
    "MessageSubscription",
    "Office",
    "OutboxMessage",
    "ProcessInstance",
    "Remittance",
    "TimerSubscription",
    "Unit",
    "WorkItem",
    "WorkflowDefinition",
]
