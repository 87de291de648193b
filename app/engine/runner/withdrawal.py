"""The unit taking an application back: 撤回 (a message the diagram catches) while no reviewer has claimed
it, and 放弃 of one never submitted (its open work goes, the row stays for the audit trail)."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from app.engine.errors import ConflictError, RefusedError
from app.engine.faults import UNDONE, fault_reported
from app.engine.runner.core import WITHDRAW_MESSAGE
from app.engine.runner.messages import Messages
from app.models import Draft, InstanceOffice, MessageSubscription, ProcessInstance, TimerSubscription, WorkItem
from app.models.workflow import ABANDONED
from app.services import audit
from app.services.audit import Actor


class Withdrawal(Messages):
    """撤回 and 放弃."""

    def withdraw(self, instance_id: int, actor: Actor) -> ProcessInstance:
        """The unit's 撤回: the diagram decides where the message leads; refused once a reviewer claimed."""
        with self._failure_recorded(instance_id, {"kind": "withdraw", "actor": actor.name, "role": actor.role}):
            return self._withdraw(instance_id, actor)

    def _withdraw(self, instance_id: int, actor: Actor) -> ProcessInstance:
        with self._transaction():
            claimed = self.session.scalar(
                select(WorkItem.assignee)
                .where(WorkItem.instance_id == instance_id, WorkItem.assignee.is_not(None))
                .limit(1)
            )
            if claimed:
                raise RefusedError(f"审核人员 {claimed} 已签收，不能撤回")
            try:
                self._deliver(instance_id, WITHDRAW_MESSAGE, {}, actor, self.clock())
            except ConflictError as exc:
                raise RefusedError("当前阶段不能撤回") from exc
            return self.session.get(ProcessInstance, instance_id)  # type: ignore[return-value]

    def abandon(self, instance_id: int, actor: Actor) -> None:
        """The unit's 放弃 of an application it never submitted: its open tasks, drafts and waits go.

        The instance row stays, marked abandoned and hidden from every list, because the audit
        trail is append-only and its events (立即申请, this 放弃) point at it. It has no number.
        """
        with fault_reported(UNDONE), self._transaction():
            instance = self._lock(instance_id)
            if instance.status == ABANDONED:
                raise RefusedError("该申请已放弃")
            if instance.numbered:
                raise RefusedError(f"申请 {instance.business_key} 已提交，不能放弃")
            self._forget_open_work(instance_id)
            values = {"status": ABANDONED, "stage": "已放弃", "error": None, "failed_action": None}
            table = ProcessInstance.__table__
            saved = self.session.connection().execute(
                update(table)
                .where(table.c.id == instance_id, table.c.version == instance.version)
                .values(**values, updated_at=self.clock(), version=instance.version + 1)
            )
            if saved.rowcount != 1:
                raise ConflictError("申请已被他人同时更新，请刷新后重试")
            audit.record(self.session, actor, "abandon", instance_id, detail={"key": instance.business_key})

    def _forget_open_work(self, instance_id: int) -> None:
        """Drafts of its open tasks, the tasks, waits and offices: nothing of it is left to act on."""
        open_tasks = select(WorkItem.task_id).where(WorkItem.instance_id == instance_id)
        self.session.execute(delete(Draft).where(Draft.task_id.in_(open_tasks)))
        for model in (WorkItem, TimerSubscription, MessageSubscription, InstanceOffice):
            self.session.execute(delete(model).where(model.instance_id == instance_id))
