"""Start, complete a task, fire timers, correlate messages: each one locked transaction.

Every action: lock the instance, load the workflow onto the cached spec, act, run engine
steps, cut finished history off the task tree, save the state with a version compare-and-set,
rebuild the read models, audit, commit. The lock reads the instance with its unit and the process
context in one statement (a completion: with the work item too); the save writes the state, the read
models, the step record and the audit event in as few as the database allows (app/engine/saving.py).
Any error rolls all of it back. Any fault other than an answer meant for the user (conflict,
refusal, invalid form, not found) additionally marks the instance as `error` with the failed
action, so an admin can retry: the stored text is Chinese, names the step and an incident number;
the exception and its traceback go to the server log under that number, never into the instance
or the audit trail.

The runner is one class, `Runner`, put together from one part per concern (each a base class here):
core.py (locking, loading, context, transactions, marking errors), advancing.py (engine steps and saving),
actions.py (start, complete), timers.py, messages.py, withdrawal.py (撤回, 放弃), retry.py (retry, version moves).
"""

from __future__ import annotations

from app.engine.runner.core import WITHDRAW_MESSAGE, WORKER, Loaded, Locked
from app.engine.runner.retry import Retrying

__all__ = ["WITHDRAW_MESSAGE", "WORKER", "Loaded", "Locked", "Runner"]


class Runner(Retrying):
    """Start, complete, fire timers, correlate messages, withdraw, abandon, retry: see the module docstring."""
