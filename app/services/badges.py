"""Website badge certificates: issue the 标识代码, record the hanging deadline."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Certificate, Unit
from app.services.calendar import to_beijing_date


def issue(
    session: Session, unit_id: int, instance_id: int | None, fields: dict[str, object], now: datetime
) -> dict[str, object]:
    """Create the certificate with its human code and opaque public id."""
    unit = session.get(Unit, unit_id)
    assert unit is not None
    certificate = Certificate(
        public_id=uuid.uuid4().hex.upper(),
        unit_id=unit_id,
        instance_id=instance_id,
        colour=str(fields["colour"]),
        site_name=str(fields["site_name"]),
        domains=list(fields["domains"]),  # type: ignore[arg-type]
        hang_deadline=date.fromisoformat(str(fields["hang_deadline"])),
        issued_at=now,
    )
    session.add(certificate)
    session.flush()
    certificate.code = f"CA{unit.region_code}{to_beijing_date(now).year}{certificate.id:07d}"
    session.flush()
    return {
        "certificate_id": certificate.id,
        "code": certificate.code,
        "public_id": certificate.public_id,
        "hang_deadline": certificate.hang_deadline.isoformat(),
    }


def mark_deadline(session: Session, certificate_id: int, now: datetime) -> bool:
    """The hanging deadline has passed; compliance checks pick it up from here."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        return False
    certificate.deadline_passed_at = now
    session.flush()
    return True


def for_instance(session: Session, instance_id: int) -> list[Certificate]:
    """Certificates an application issued."""
    query = select(Certificate).where(Certificate.instance_id == instance_id).order_by(Certificate.id)
    return list(session.scalars(query))
