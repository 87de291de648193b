"""Firing timers: the due ones of many instances (claimed through app/engine/timer_queue.py) or one claimed
instance's, each in its own transaction; a fault marks that instance `error` and the others go on."""

from __future__ import annotations

from datetime import datetime

from app.engine import events, step_log, subscriptions, timer_queue
from app.engine.errors import ConflictError, NotFoundError, TaskFailure
from app.engine.faults import Step, step
from app.engine.runner.advancing import Advancing
from app.engine.runner.core import WORKER, logger
from app.services import audit


class Timers(Advancing):
    """Firing due timers."""

    def fire_due_timers(self, now: datetime | None = None, limit: int = 50) -> list[str]:
        """Fire the timers due at `now` of up to `limit` instances; returns the business keys that moved on."""
        return timer_queue.fire_due_up_to(self, now or self.clock(), limit)

    def fire_claimed(self, instance_id: int, now: datetime) -> str | None:
        """Fire an instance's due timers (claimed by app/engine/timer_queue.py); its business key, or None
        when none is due any more (another worker fired it) or it faulted (marked `error`, logged)."""
        try:
            with self._failure_recorded(instance_id, {"kind": "timers", "at": now.isoformat()}):
                return self._fire_timers(instance_id, now)
        except (TaskFailure, NotFoundError, ConflictError) as exc:  # gone or 放弃 since the claim, or faulted
            logger.info("定时事件未触发（申请 %s）：%s", instance_id, type(exc).__name__)
            return None

    def _fire_timers(self, instance_id: int, now: datetime) -> str | None:
        with self._transaction():
            loaded = self._load(instance_id, WORKER, now)
            step.set(Step(None, "处理到期的定时事件"))
            timer = subscriptions.first_due_timer(self.session, instance_id, now)  # named in the timeline
            if timer is None:  # fired by another worker since this one's claim: nothing to do
                return None
            events.timer_firing.send(self, session=self.session, due=events.earliest_due(loaded.workflow, now))
            loaded.workflow.refresh_timers()
            task = (timer, loaded.compiled.names.get(timer, timer)) if timer else None
            event = audit.event(WORKER, "timer", instance_id, task, detail={"at": now.isoformat()})
            self._advance(loaded, WORKER, event, step_log.fired())
            return loaded.instance.business_key
