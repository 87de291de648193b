"""SQLAlchemy models, one module per subject."""

from app.models.account import PasswordHistory, User
from app.models.api_token import ApiToken
from app.models.audit import AuditChainHead, AuditEvent
from app.models.badge import Certificate
from app.models.billing import Charge, Remittance
from app.models.calendar import CalendarDay
from app.models.dns import DnsRecord
from app.models.domain import Domain
from app.models.draft import Draft
from app.models.id_card_copy import IdCardCopy
from app.models.inbox import InAppMessage, InAppMessageRead
from app.models.migration import InstanceMigration
from app.models.org import Contact, Office, Role, Unit
from app.models.outbox import OutboxMessage, SmsRecord
from app.models.placement import PlacementCheck, PlacementStatus
from app.models.procedure_draft import ProcedureDraft
from app.models.red_page import RedPage, RedPageImage
from app.models.region import Region
from app.models.session import UserSession
from app.models.step_log import StepRecord
from app.models.task_wait import TaskWait, TaskWaitHour
from app.models.workflow import (
    BusinessKeySequence,
    InboxCount,
    InboxCountDelta,
    InstanceOffice,
    MessageSubscription,
    ProcessInstance,
    TimerSubscription,
    WorkflowDefinition,
    WorkItem,
)

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "BusinessKeySequence",
    "CalendarDay",
    "Certificate",
    "Charge",
    "Contact",
    "DnsRecord",
    "Domain",
    "Draft",
    "IdCardCopy",
    "InAppMessage",
    "InAppMessageRead",
    "InboxCount",
    "InboxCountDelta",
    "InstanceMigration",
    "InstanceOffice",
    "MessageSubscription",
    "Office",
    "OutboxMessage",
    "PasswordHistory",
    "PlacementCheck",
    "PlacementStatus",
    "ProcedureDraft",
    "ProcessInstance",
    "RedPage",
    "RedPageImage",
    "Region",
    "Remittance",
    "Role",
    "SmsRecord",
    "StepRecord",
    "TaskWait",
    "TaskWaitHour",
    "TimerSubscription",
    "Unit",
    "User",
    "UserSession",
    "WorkItem",
    "WorkflowDefinition",
]
