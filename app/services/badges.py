"""Website badge certificates: issue the 标识代码, record the hanging deadline, and the code a unit pastes
into its pages (the two snippet shapes of DOMAIN.md §2.1) with the addresses it names.

Addresses take a `base_url` (such as https://bszs.example.cn): the web layer passes the platform's
public address for code that runs on other sites; without one they are root-relative, which is
right for pages the platform serves itself (the 网络红页).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Certificate, Domain, InstanceOffice, Office, Unit
from app.models.account import BIANBAN_ROLE
from app.models.badge import REVOKED, STATUS_LABELS, VALID
from app.services import audit, jurisdiction
from app.services.audit import Actor
from app.services.calendar import to_beijing_date
from app.services.errors import ServiceRefusal
from app.taskforms.formats import to_ascii_domain

# Our 标识编号 (models/badge.py): CA + region (PP, city, county) + year of issue + sequence number.
CODE_SHAPE = re.compile(r"CA(\d{2})(\d{2})(\d{2})\d{4}(\d{7,})")
PUBLIC_ID_SHAPE = re.compile(r"[0-9A-F]{32}")
SHAPES = (1, 2)
# A bound domain whose record is in one of these states makes a valid certificate show as expired or abnormal.
_DOMAIN_STATUS_EFFECT = {"expired": "expired", "frozen": "abnormal", "deleted": "abnormal"}


def issue(
    session: Session, unit_id: int, instance_id: int | None, fields: dict[str, object], now: datetime
) -> dict[str, object]:
    """Create the certificate with its human code and opaque public id."""
    unit = session.get(Unit, unit_id)
    assert unit is not None
    issuer = issuing_office(session, unit, instance_id)
    certificate = Certificate(
        public_id=uuid.uuid4().hex.upper(),
        unit_id=unit_id,
        instance_id=instance_id,
        colour=str(fields["colour"]),
        site_name=str(fields["site_name"]),
        domains=list(fields["domains"]),  # type: ignore[arg-type]
        english_domain=str(fields.get("english_domain") or ""),
        functions=str(fields.get("functions") or unit.functions),
        issuer_office_code=issuer.code,
        issuer_name=issuer.name,
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


def issuing_office(session: Session, unit: Unit, instance_id: int | None) -> Office:
    """The 标识发放单位: the 编办 that reviewed the application (the one nearest the unit if several did),
    else the unit's 同级编办 as routing finds it."""
    query = select(Office).join(InstanceOffice, InstanceOffice.office_code == Office.code)
    offices = session.scalars(query.where(InstanceOffice.instance_id == instance_id, Office.kind == BIANBAN_ROLE))
    nearest = sorted(offices, key=lambda office: _distance(unit.region_code, office.region_code or ""))
    if nearest:
        return nearest[0]
    code = jurisdiction.route(session, unit, BIANBAN_ROLE)
    office = session.scalar(select(Office).where(Office.code == code))
    assert office is not None  # route() only names offices that exist
    return office


def _distance(unit_region: str, office_region: str) -> int:
    """0 for the unit's own region, 1 for its city, 2 for its province, 3 for anything else."""
    for distance, prefix in enumerate((6, 4, 2)):
        if office_region == unit_region[:prefix].ljust(6, "0"):
            return distance
    return 3


def mark_deadline(session: Session, certificate_id: int, now: datetime) -> bool:
    """The hanging deadline has passed; compliance checks pick it up from here."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        return False
    certificate.deadline_passed_at = now
    session.flush()
    return True


REVOKE_REASON_MAX = 200


def revoke(session: Session, certificate: Certificate, actor: Actor, reason: str, now: datetime) -> None:
    """注销: the badge shows its error image from the next cache refresh on (BADGE_CACHE_SECONDS), and the
    certificate page says 已注销. Audited; a revoked certificate stays revoked (a new application issues anew)."""
    reason = reason.strip()
    if certificate.status == REVOKED:
        raise ServiceRefusal("该标识已注销")
    if not reason:
        raise ServiceRefusal("请填写注销原因")
    if len(reason) > REVOKE_REASON_MAX:
        raise ServiceRefusal(f"注销原因不超过{REVOKE_REASON_MAX}个字（现为{len(reason)}个字）")
    certificate.status, certificate.revoked_at = REVOKED, now
    certificate.revoked_by, certificate.revoke_reason = actor.name, reason
    audit.record(
        session,
        actor,
        "certificate_revoke",
        certificate.instance_id,
        detail={"code": certificate.code, "reason": reason},
    )
    session.flush()


def for_instance(session: Session, instance_id: int) -> list[Certificate]:
    """Certificates an application issued."""
    query = select(Certificate).where(Certificate.instance_id == instance_id).order_by(Certificate.id)
    return list(session.scalars(query))


def for_unit(session: Session, unit_id: int) -> list[Certificate]:
    """The unit's certificates, newest first (its 标识管理 list)."""
    query = select(Certificate).where(Certificate.unit_id == unit_id).order_by(Certificate.id.desc())
    return list(session.scalars(query))


def unit_certificate(session: Session, unit_id: int, code: str) -> Certificate | None:
    """One of the unit's own certificates by its 标识编号; another unit's is not found."""
    query = select(Certificate).where(Certificate.code == code, Certificate.unit_id == unit_id)
    return session.scalar(query)


def by_public_id(session: Session, public_id: str) -> Certificate | None:
    """The certificate a public page asks for; anything not shaped like a public id is not looked up."""
    if not PUBLIC_ID_SHAPE.fullmatch(public_id):
        return None
    return session.scalar(select(Certificate).where(Certificate.public_id == public_id))


def by_code(session: Session, code: str) -> Certificate | None:
    """The certificate a badge script names; anything not shaped like a 标识编号 is not looked up."""
    if not CODE_SHAPE.fullmatch(code):
        return None
    return session.scalar(select(Certificate).where(Certificate.code == code))


# ---- status --------------------------------------------------------------------------------------


def current_status(session: Session, certificate: Certificate) -> str:
    """The status shown: the certificate's own, or expired/abnormal when a bound domain expired, was frozen
    or was deleted (DOMAIN.md §8.2: an expired domain's badge shows the error image)."""
    if certificate.status != VALID or not certificate.domains:
        return certificate.status
    names = [to_ascii_domain(name) for name in certificate.domains]
    query = select(Domain.status).where(Domain.unit_id == certificate.unit_id, Domain.ascii_name.in_(names))
    effects = {_DOMAIN_STATUS_EFFECT.get(status) for status in session.scalars(query)}
    for effect in ("abnormal", "expired"):
        if effect in effects:
            return effect
    return VALID


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


# ---- addresses and the code to paste --------------------------------------------------------------


def script_segments(code: str) -> tuple[str, str, str, str]:
    """CONAC's /js/PP/CCC/DDDD/ID/ path segments from our code: province, city, county, sequence number."""
    match = CODE_SHAPE.fullmatch(code)
    if match is None:
        raise ValueError(f"not a badge code: {code!r}")
    province, city, county, number = match.groups()
    return province, city.zfill(3), county.zfill(4), number


def script_path(certificate: Certificate) -> str:
    """/js/PP/CCC/DDDD/ID/<code>.js, the badge script's path (DOMAIN.md §2.2)."""
    code = str(certificate.code)
    return "/js/" + "/".join(script_segments(code)) + f"/{code}.js"


def script_url(certificate: Certificate, base_url: str = "") -> str:
    """The badge script's address: absolute under `base_url`, root-relative without one."""
    return base_url.rstrip("/") + script_path(certificate)


def page_url(public_id: str, base_url: str = "") -> str:
    """The public 标识证书 page."""
    return f"{base_url.rstrip('/')}/sitename?method=show&id={public_id}"


def image_url(colour: str, valid: bool, base_url: str = "") -> str:
    """The badge image: red or blue, its _error variant for a certificate or page that does not qualify."""
    return f"{base_url.rstrip('/')}/image/{colour}{'' if valid else '_error'}.png"


def snippet(certificate: Certificate, shape: int, base_url: str = "") -> str:
    """The code to paste before </body>: shape 1 (document.write, as CONAC's 标识管理 gives it) or shape 2
    (a placeholder and a script tag, safe in async and single-page sites)."""
    source = script_url(certificate, base_url)
    if shape == 1:
        written = f"<span id='_ideConac' ></span><script src='{source}' type='text/javascript'></script>"
        escaped = written.replace("<", "%3C").replace(">", "%3E")  # as CONAC's code: only the brackets
        return f'<script type="text/javascript">document.write(unescape("{escaped}"));</script>'
    if shape == 2:
        return f'<span id="_ideConac"></span><script src="{source}" type="text/javascript"></script>'
    raise ValueError(f"snippet shape must be one of {SHAPES}, not {shape!r}")


def qr_svg(url: str) -> str:
    """A QR code of `url` as inline SVG markup (no scripts, no style attributes)."""
    return str(segno.make(url, error="m").svg_inline(scale=4, title=url))


# ---- what the certificate page and the 标识管理 page show ------------------------------------------


@dataclass(frozen=True)
class CertificateFacts:
    """The 标识证书 page: the fields of the 管理办法 第四条 (DOMAIN.md §2.3) and a status line."""

    certificate: Certificate
    unit_name: str
    unit_kind: str  # 机构类型
    address: str
    functions_title: str  # 机构职能, or 业务范围 for 事业单位
    functions: str
    domains: list[str]  # 中英文域名
    issuer: str  # 标识发放单位
    status: str
    status_label: str


def facts(session: Session, certificate: Certificate) -> CertificateFacts:
    unit = certificate.unit
    status = current_status(session, certificate)
    english = [certificate.english_domain] if certificate.english_domain else []
    return CertificateFacts(
        certificate=certificate,
        unit_name=unit.name,
        unit_kind=unit.nature or unit.unit_type,
        address=unit.address,
        functions_title="业务范围" if certificate.colour == "blue" else "机构职能",
        functions=certificate.functions or unit.functions,
        domains=[*certificate.domains, *english],
        issuer=certificate.issuer_name,
        status=status,
        status_label=status_label(status),
    )


@dataclass(frozen=True)
class BadgeCode:
    """What the unit's 标识管理 page gives for one certificate: the code in both shapes and its addresses."""

    facts: CertificateFacts
    script_url: str
    page_url: str
    snippets: dict[int, str]
    qr_svg: str  # the certificate page's address as a QR code


def badge_code(session: Session, certificate: Certificate, base_url: str) -> BadgeCode:
    page = page_url(certificate.public_id, base_url)
    return BadgeCode(
        facts=facts(session, certificate),
        script_url=script_url(certificate, base_url),
        page_url=page,
        snippets={shape: snippet(certificate, shape, base_url) for shape in SHAPES},
        qr_svg=qr_svg(page),
    )
