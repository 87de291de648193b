"""Errors the engine raises; `message` is Chinese text fit for the user who acted."""

from __future__ import annotations


class EngineError(Exception):
    """Base of all engine errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DeployError(EngineError):
    """A diagram was refused; each problem names the element id and the reason."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("；".join(f"[{element}] {reason}" for element, reason in problems))


class NotFoundError(EngineError):
    """No such definition, instance or open task."""


class ConflictError(EngineError):
    """Someone else acted first; nothing was changed."""


class FormValidationError(EngineError):
    """Submitted data does not satisfy the task's form; `errors` maps field → message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("；".join(f"{field}: {msg}" if field else msg for field, msg in errors.items()))


class RefusedError(EngineError):
    """A rule in the procedure refused the action (e.g. no paid domain yet); nothing was changed."""


class TaskFailure(EngineError):
    """A step failed (a script, an operator, the engine, the database); the action was rolled back.

    The runner marks the instance as error. `detail` is Chinese text fit to store and show; what
    an exception said goes only to the server log, under the `incident` number the text names.
    """

    def __init__(self, element_id: str | None, detail: str, incident: str | None = None) -> None:
        self.element_id = element_id
        self.detail = detail
        self.incident = incident
        super().__init__(f"[{element_id}] {detail}" if element_id else detail)
