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
    """A script or operator failed; the action was rolled back and the instance marked as error."""

    def __init__(self, element_id: str, message: str) -> None:
        self.element_id = element_id
        super().__init__(f"[{element_id}] {message}")
