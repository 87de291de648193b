"""Faults of a step: where the action was when it failed, and the Chinese text a user may see.

An action's own answers (conflict, refusal, invalid form, not found) pass through untouched.
Any other exception becomes a TaskFailure whose text names the step and an incident number;
the exception and its traceback go to the server log under that number, never to the user,
the instance or the audit trail.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

from SpiffWorkflow.task import Task

from app.engine.definitions import CompiledDefinition
from app.engine.errors import ConflictError, FormValidationError, NotFoundError, RefusedError, TaskFailure
from app.engine.sandbox import ScriptLimitError

logger = logging.getLogger(__name__)

# The answers an action gives its user; any other exception is a fault of the platform.
OUTCOMES = (ConflictError, RefusedError, FormValidationError, NotFoundError)
RETRYABLE = "本次操作已撤销，管理员排除原因后可重试"
UNDONE = "本次操作已撤销，请稍后重试；如仍出错，请联系管理员"


class Step(NamedTuple):
    """What an action is doing, so that a fault can say where it happened."""

    element: str | None
    title: str

    @property
    def doing(self) -> str:
        return f"处理“{self.title}”" if self.element else self.title


LOADING = Step(None, "读取申请状态")
SAVING = Step(None, "保存办理结果")
# One value per thread (and per request): the runner itself is shared.
step: ContextVar[Step | None] = ContextVar("engine_step", default=None)


def enter_task(task: Task, compiled: CompiledDefinition) -> None:
    element = task.task_spec.bpmn_id
    if element:  # gateways' and boundary events' helper tasks belong to the element around them
        step.set(Step(element, compiled.names.get(element, element)))


def failure_from(exc: Exception, outcome: str) -> TaskFailure:
    """The user's text for a fault (the platform's own words, or a generic one), logged with an incident number."""
    incident = secrets.token_hex(4).upper()
    current = step.get()
    logger.error("事件编号 %s：%s时出错", incident, current.doing if current else "办理", exc_info=exc)
    if isinstance(exc, TaskFailure) and _in_own_words(exc):
        what = exc.detail.rstrip("。")
    else:
        what = f"{current.doing if current else '办理'}时系统出错"
    element = exc.element_id if isinstance(exc, TaskFailure) else current.element if current else None
    return TaskFailure(element, f"{what}，{outcome}（事件编号 {incident}）。", incident)


@contextmanager
def fault_reported(outcome: str, record: Callable[[TaskFailure], None] | None = None) -> Iterator[None]:
    """Turn a fault into a TaskFailure the user can read, `record` it, raise it."""
    token = step.set(None)
    try:
        yield
    except OUTCOMES:
        raise
    except Exception as exc:
        failure = failure_from(exc, outcome)
        if record is not None:
            record(failure)
        raise failure from exc
    finally:
        step.reset(token)


def _in_own_words(failure: TaskFailure) -> bool:
    """Whether the platform wrote the text (fit to store), rather than copied it from an exception."""
    return failure.__cause__ is None or isinstance(failure.__cause__, ScriptLimitError)
