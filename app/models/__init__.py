"""SQLAlchemy models, one module per subject."""

from app.models.account import User
from app.models.audit import AuditEvent
from app.models.badge import Certificate
from app.models.billing import Charge, Remittance
from app.models.calendar import CalendarDay
from app.models.dns import DnsRecord
from app.models.domain import Domain
from app.models.draft import Draft
from app.models.migration import InstanceMigration
from app.models.org import Contact, Office, Role, Unit
from app.models.outbox import OutboxMessage
from app.models.procedure_draft import ProcedureDraft
from app.models.region import Region
from app.models.session import UserSession
from app.models.step_log import StepRecord
from app.models.workflow import (
    BusinessKeySequence,
    InstanceOffice,
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
    "DnsRecord",
    "Domain",
    "Draft",
    "InstanceMigration",
    "InstanceOffice",
    "MessageSubscription",
    "Office",
    "OutboxMessage",
    "ProcedureDraft",
    "ProcessInstance",
    "Region",
    "Remittance",
    "Role",
    "StepRecord",
    "TimerSubscription",
    "Unit",
    "User",
    "UserSession",
    "WorkItem",
    "WorkflowDefinition",
]
