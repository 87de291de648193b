"""Column helpers shared by the models."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, Text
from sqlalchemy.types import TypeDecorator

from app import field_encryption


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)


JSONData = JSON(none_as_null=True)


class SealedType(TypeDecorator[Any]):
    """A column whose values are sealed with the personal-data keys (app/field_encryption.py).

    `context` names the column; it is the associated data, so a value copied into another column fails to
    open. Values are random-nonce ciphertexts: a column of this type can be tested for NULL, never compared
    to a value in SQL. Subclasses say how a value becomes bytes and back.
    """

    impl = Text
    cache_ok = True
    to_bytes: Callable[[Any], bytes]
    from_bytes: Callable[[bytes], Any]

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: object) -> str | None:
        if value is None:
            return None
        return field_encryption.active_keyring().seal(self.to_bytes(value), self.context)

    def process_result_value(self, value: str | None, dialect: object) -> Any:
        if value is None:
            return None
        return self.from_bytes(field_encryption.active_keyring().unseal(value, self.context))


def json_bytes(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


class SealedText(SealedType):
    """A short personal value: a mobile, an ID number, a second-factor secret."""

    cache_ok = True

    to_bytes = staticmethod(lambda value: str(value).encode())
    from_bytes = staticmethod(bytes.decode)


class SealedJSON(SealedType):
    """A JSON document that may hold personal data (the workflow state, a draft, a submitted form)."""

    cache_ok = True

    to_bytes = staticmethod(json_bytes)
    from_bytes = staticmethod(orjson.loads)


class SealedBytes(SealedType):
    """A file that is personal data (an ID-card copy)."""

    cache_ok = True

    to_bytes = staticmethod(bytes)
    from_bytes = staticmethod(bytes)
