"""Messages: correlating one with every instance waiting for it under the keys a business change yields
(e.g. CONAC's 认款 of a remittance batch), and delivering it to one instance; a faulting delivery is left out
and its instance marked `error`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from sqlalchemy.orm import Session

from app.engine import step_log, subscriptions
from app.engine.errors import ConflictError, RefusedError
from app.engine.faults import OUTCOMES, RETRYABLE, UNDONE, Step, failure_from, fault_reported, step
from app.engine.runner.advancing import Advancing
from app.services import audit, billing
from app.services.audit import Actor
from app.services.calendar import to_beijing_date
from app.services.errors import ServiceRefusal


class _DeliveryFailed(Exception):
    """A message delivery to one instance faulted with `fault`."""

    def __init__(self, instance_id: int, payload: dict[str, Any], fault: Exception) -> None:
        super().__init__(instance_id)
        self.instance_id = instance_id
        self.payload = payload
        self.fault = fault


class Messages(Advancing):
    """Correlating and delivering messages."""

    def correlate(
        self, message_name: str, actor: Actor, collect: Callable[[Session, datetime], tuple[list[str], dict[str, Any]]]
    ) -> list[str]:
        """Deliver a message to every instance waiting for it under the keys `collect` returns.

        `collect` runs inside the same transaction (e.g. CONAC confirming a remittance batch),
        so the business change and the deliveries commit together; a refusal or conflict undoes
        all of it. A delivery that faults is left out instead: the whole is redone without it,
        and that instance is marked `error` with the delivery for an admin to retry.
        """
        failed: set[int] = set()
        with fault_reported(UNDONE):
            while True:
                try:
                    return self._correlate_once(message_name, actor, collect, failed)
                except _DeliveryFailed as delivery:
                    failed.add(delivery.instance_id)
                    self._record_delivery_fault(delivery, message_name, actor)

    def _correlate_once(
        self,
        message_name: str,
        actor: Actor,
        collect: Callable[[Session, datetime], tuple[list[str], dict[str, Any]]],
        failed: set[int],
    ) -> list[str]:
        with self._transaction():
            now = self.clock()
            try:
                keys, payload = collect(self.session, now)
            except ServiceRefusal as refusal:
                raise RefusedError(refusal.message) from refusal
            return [
                self._delivered(instance_id, message_name, payload, actor, now)
                for instance_id in subscriptions.subscribers(self.session, message_name, keys)
                if instance_id not in failed
            ]

    def _delivered(
        self, instance_id: int, message_name: str, payload: dict[str, Any], actor: Actor, now: datetime
    ) -> str:
        try:
            return self._deliver(instance_id, message_name, payload, actor, now)
        except OUTCOMES:
            raise
        except Exception as exc:
            raise _DeliveryFailed(instance_id, payload, exc) from exc

    def _record_delivery_fault(self, delivery: _DeliveryFailed, message_name: str, actor: Actor) -> None:
        action = {"kind": "message", "message": message_name, "payload": delivery.payload}
        failure = failure_from(delivery.fault, RETRYABLE)
        self._mark_error(delivery.instance_id, failure, {**action, "actor": actor.name, "role": actor.role})

    def confirm_remittance(self, remittance_id: int, actor: Actor) -> list[str]:
        """CONAC's 认款 of a remittance batch, delivered to every application in the batch."""

        def collect(session: Session, now: datetime) -> tuple[list[str], dict[str, Any]]:
            charge_ids = billing.confirm_remittance(session, remittance_id, actor.name, now)
            detail = {"remittance_id": remittance_id, "charges": charge_ids}
            audit.record(session, actor, "remittance_confirm", detail=detail)  # 认款 itself, beside each delivery
            payload = {"remittance_id": remittance_id, "confirmed_on": to_beijing_date(now).isoformat()}
            return [str(c) for c in charge_ids], payload

        return self.correlate(billing.REMITTANCE_CONFIRMED, actor, collect)

    def _deliver(
        self, instance_id: int, message_name: str, payload: dict[str, Any], actor: Actor, now: datetime
    ) -> str:
        loaded = self._load(instance_id, actor, now)
        step.set(Step(None, f"接收消息“{message_name}”"))
        event = BpmnEvent(MessageEventDefinition(message_name), payload=payload)
        try:
            loaded.workflow.send_event(event)
        except SpiffWorkflowException as exc:
            raise ConflictError(f"申请 {loaded.instance.business_key} 未在等待“{message_name}”") from exc
        event = audit.event(actor, "message", instance_id, detail={"message": message_name, **payload})
        self._advance(loaded, actor, event, step_log.delivered(message_name, payload))
        return loaded.instance.business_key
