"""Counting what a block of code sends to the database, for the round-trip test and bench/completion.py.

A statement is one cursor execution (an executemany batch counts once: the driver sends it in one go).
Round trips are the statements plus the transaction's BEGIN and COMMIT or ROLLBACK, each its own message
to a PostgreSQL server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event


@dataclass
class Sent:
    statements: list[str] = field(default_factory=list)
    transaction_messages: int = 0  # BEGIN, COMMIT, ROLLBACK

    @property
    def round_trips(self) -> int:
        return len(self.statements) + self.transaction_messages


@contextmanager
def counted(engine: Engine) -> Iterator[Sent]:
    """What `engine` sends while the block runs."""
    sent = Sent()

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        sent.statements.append(" ".join(text.split()))

    def transaction_message(_conn: Any) -> None:
        sent.transaction_messages += 1

    listeners = [("before_cursor_execute", statement)]
    listeners += [(name, transaction_message) for name in ("begin", "commit", "rollback")]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield sent
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)
