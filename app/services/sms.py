"""SMS gateways: the interface the outbox delivery calls, and the default that records instead of sending.

A provider's adapter is a class with the same constructor and `send`, named by the SMS_GATEWAY setting.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import OutboxMessage, SmsRecord
from app.services.delivery_errors import DeliveryFailure
from app.services.paging import Paged

MOBILE = re.compile(r"1\d{10}")
# The default of the SMS_GATEWAY setting.
RECORDING_GATEWAY = "app.services.sms:RecordingSmsGateway"


class SmsGateway(Protocol):
    def __init__(self, session: Session, config: Mapping[str, Any]) -> None: ...

    def send(self, message: OutboxMessage, now: datetime) -> None:
        """Hand the SMS over to the provider; raise DeliveryFailure when it was not accepted."""


class RecordingSmsGateway:
    """Keeps each SMS in the database (in the delivery's transaction) for the administrator to read."""

    def __init__(self, session: Session, config: Mapping[str, Any]) -> None:
        self.session = session

    def send(self, message: OutboxMessage, now: datetime) -> None:
        mobile = checked_mobile(message.recipient)
        self.session.add(SmsRecord(outbox_id=message.id, mobile=mobile, text=message.body, recorded_at=now))


def checked_mobile(recipient: str) -> str:
    mobile = recipient.strip()
    if not MOBILE.fullmatch(mobile):
        raise DeliveryFailure("收件人不是手机号码，不能发送短信", "invalid-mobile", permanent=True)
    return mobile


def gateway(session: Session, config: Mapping[str, Any]) -> SmsGateway:
    """The gateway the SMS_GATEWAY setting names (module:Class)."""
    module_name, _, class_name = str(config["SMS_GATEWAY"]).partition(":")
    gateway_class = getattr(importlib.import_module(module_name), class_name)
    return gateway_class(session, config)  # type: ignore[no-any-return]


def recorded(session: Session, page: int, page_size: int) -> Paged:
    """The recorded SMS, newest first."""
    total = session.scalar(select(func.count(SmsRecord.id))) or 0
    query = select(SmsRecord).order_by(SmsRecord.id.desc()).offset((page - 1) * page_size).limit(page_size)
    return Paged(list(session.scalars(query)), total, page, page_size)
