"""The 经办人身份证复印件 a unit uploads beside its paper materials: sensitive personal information (PIPL 第28条).

The image is sealed at rest (SealedBytes); the row outlives it as the record of consent, upload and deletion.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import SealedBytes, UTCDateTime, utcnow


class IdCardCopy(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    content: Mapped[bytes | None] = mapped_column(SealedBytes("id_card_copy.content"))  # None once deleted
    size: Mapped[int] = mapped_column(Integer)  # bytes of the stored JPEG
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The separate consent (单独同意) given on the upload form, and the notice version it was given to.
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_notice: Mapped[str] = mapped_column(String(20))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
