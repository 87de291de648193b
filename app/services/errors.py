"""Refusals a service raises when a business rule says no."""

from __future__ import annotations


class ServiceRefusal(Exception):
    """The request breaks a rule; `field` names the form field at fault, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def each(self) -> list[ServiceRefusal]:
        """The single refusals, so a form puts each message beside its own field."""
        return [self]


class ServiceRefusals(ServiceRefusal):
    """Several rules said no at once (one per field), so a form shows every problem in one round."""

    def __init__(self, refusals: list[ServiceRefusal]) -> None:
        super().__init__("；".join(r.message for r in refusals), refusals[0].field)
        self.refusals = refusals

    def each(self) -> list[ServiceRefusal]:
        return self.refusals
