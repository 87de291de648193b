"""Why one message could not be delivered: what the administrator reads, and a code fit for the logs."""

from __future__ import annotations


class DeliveryFailure(Exception):
    """`reason` is stored with the message (the admin page shows it); `code` is a short category without
    personal data, the only part that goes to the log. A permanent failure is given up at once."""

    def __init__(self, reason: str, code: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.permanent = permanent
