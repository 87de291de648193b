"""Placement check: does the unit's site (or red page) carry this certificate's badge?

The badge diagrams call `check` (operator placement.check) before the hanging deadline, to remind a
unit that has not hung it yet, and at the deadline, whose verdict `record_deadline` keeps (operator
placement.record_deadline). After the deadline the worker re-checks valid certificates
(`run_due_checks`), so a unit that hangs the badge late leaves the 编办's overdue list, and one that
takes it down comes back on it.

A page counts as carrying the badge when it holds (DOMAIN.md §2.4) a script URL with the certificate's
标识编号, a link with its public id, or the `_ideConac` placeholder; the check records which. Every
address goes through safe_fetch: a unit's address never reaches the platform's own network.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app, url_for
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from app.models import Certificate, PlacementCheck, PlacementStatus, RedPage, Unit
from app.services import audit, calendar, jurisdiction, safe_fetch
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.services.safe_fetch import FetchFailed, FetchPolicy, FetchRefused
from app.taskforms.formats import to_ascii_domain

LOCATIONS = {"red_page": "网络红页", "own_site": "自建网站"}
# Addresses tried per check at most: a unit may bind 50 domains, one check should stay short.
MAX_ADDRESSES = 3
_EXCERPT_CHARS = 240
_SPACES = re.compile(r"\s+")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Address:
    """One place to look: the URL and, for a bound domain, the server IP the application gave."""

    url: str
    connect_to: str = ""


@dataclass(frozen=True)
class Attempt:
    """What looking at one address gave."""

    url: str
    outcome: str  # found / missing / refused / failed
    final_url: str = ""
    http_status: int | None = None
    marker: str = ""
    reason: str = ""
    excerpt: str = ""

    def summary(self) -> dict[str, Any]:
        return {"url": self.url, "outcome": self.outcome, "http_status": self.http_status, "reason": self.reason}


def policy_from(settings: Mapping[str, Any]) -> FetchPolicy:
    """The fetch limits from the settings (PLACEMENT_*)."""
    return FetchPolicy(
        connect_timeout=float(settings["PLACEMENT_CONNECT_TIMEOUT"]),
        read_timeout=float(settings["PLACEMENT_READ_TIMEOUT"]),
        max_bytes=int(settings["PLACEMENT_MAX_BYTES"]),
        allowed_networks=safe_fetch.parse_networks(str(settings["PLACEMENT_ALLOWED_NETWORKS"])),
    )


def track(
    session: Session,
    certificate_id: int,
    location: str,
    reminder_days: int,
    english_domain: str = "",
    server_ip: str = "",
) -> dict[str, str]:
    """Note where this certificate's badge must hang (the application's 挂标位置 and site address);
    returns remind_on, the working day `reminder_days` before its hanging deadline."""
    if location not in LOCATIONS:
        raise ServiceRefusal(f"挂标位置“{location}”无效，应为网络红页（red_page）或自建网站（own_site）")
    certificate = session.get(Certificate, certificate_id)
    if certificate is None or certificate.hang_deadline is None:
        raise ServiceRefusal("没有这张标识证书或其挂标期限，无法登记挂标位置")
    status = session.get(PlacementStatus, certificate_id)
    if status is None:
        status = PlacementStatus(certificate_id=certificate_id, found=False, deadline_result="")
        session.add(status)
    status.location, status.english_domain, status.server_ip = location, english_domain.strip(), server_ip.strip()
    session.flush()
    remind_on = workdays_before(certificate.hang_deadline, max(0, int(reminder_days)))
    return {"remind_on": remind_on.isoformat(), "location": location}


def workdays_before(deadline: date, n: int) -> date:
    """The n-th working day before `deadline` (n = 0: the deadline itself)."""
    day, counted = deadline, 0
    while counted < n:
        day -= timedelta(days=1)
        if calendar.is_workday(day):
            counted += 1
    return day


def check(
    session: Session, certificate_id: int, purpose: str, now: datetime, policy: FetchPolicy, by: str = "system"
) -> PlacementCheck:
    """Look for the badge at the certificate's addresses and store the result with its evidence."""
    certificate, status = _tracked(session, certificate_id)
    attempts = _look(session, certificate, status, policy)
    decisive = _decisive(attempts)
    row = PlacementCheck(
        certificate_id=certificate_id,
        checked_at=now,
        purpose=purpose,
        requested_by=by,
        url=decisive.url[:500],
        final_url=decisive.final_url[:500],
        http_status=decisive.http_status,
        outcome=decisive.outcome,
        marker=decisive.marker,
        reason=decisive.reason[:300],
        excerpt=decisive.excerpt,
        attempts=[a.summary() for a in attempts],
    )
    session.add(row)
    session.flush()
    status.latest_check_id, status.found = row.id, decisive.outcome == "found"
    session.flush()
    return row


def record_deadline(session: Session, certificate_id: int, compliant: bool, now: datetime, recheck: timedelta) -> str:
    """The deadline's verdict: 按时挂标, or 逾期未挂标 (the 编办's overdue list); re-checks start."""
    _, status = _tracked(session, certificate_id)
    status.deadline_result = "compliant" if compliant else "overdue"
    status.deadline_recorded_at = now
    status.next_check_at = now + recheck
    session.flush()
    return status.deadline_result


def run_due_checks(session: Session, now: datetime, limit: int) -> int:
    """The worker's periodic re-check of valid certificates past their deadline; returns how many ran.

    Each certificate is claimed in a transaction of its own (its next look moved on, locked rows
    skipped), so several workers never check the same one twice; the fetch then runs with no lock held.
    """
    config = current_app.config
    policy = policy_from(config)
    recheck = timedelta(hours=float(config["PLACEMENT_RECHECK_HOURS"]))
    done = 0
    for _ in range(limit):
        certificate_id = _claim_due(session, now, recheck)
        session.commit()
        if certificate_id is None:
            break
        check(session, certificate_id, "periodic", now, policy)
        session.commit()
        done += 1
    return done


def _claim_due(session: Session, now: datetime, recheck: timedelta) -> int | None:
    query = (
        select(PlacementStatus)
        .join(Certificate, Certificate.id == PlacementStatus.certificate_id)
        .where(PlacementStatus.next_check_at <= now, Certificate.status == "valid")
        .order_by(PlacementStatus.next_check_at)
        .limit(1)
        .with_for_update(skip_locked=True, of=PlacementStatus)
    )
    status = session.scalar(query)
    if status is None:
        return None
    status.next_check_at = now + recheck
    return status.certificate_id


def _tracked(session: Session, certificate_id: int) -> tuple[Certificate, PlacementStatus]:
    certificate = session.get(Certificate, certificate_id)
    status = session.get(PlacementStatus, certificate_id)
    if certificate is None or status is None:
        raise ServiceRefusal("没有这张标识证书的挂标信息，无法检查挂标情况")
    return certificate, status


# ---- looking ---------------------------------------------------------------------------------


def addresses(certificate: Certificate, status: PlacementStatus) -> list[Address]:
    """Where a self-built site's badge should be: the English domain, then the bound Chinese domains,
    pinned to the server IP the application gave (the name still goes in the Host header)."""
    found = [Address(f"http://{status.english_domain}/")] if status.english_domain else []
    for name in certificate.domains:
        try:
            found.append(Address(f"http://{to_ascii_domain(str(name))}/", status.server_ip))
        except ValueError:
            continue  # a name that cannot be encoded cannot be visited either
    return found[:MAX_ADDRESSES]


def _look(session: Session, certificate: Certificate, status: PlacementStatus, policy: FetchPolicy) -> list[Attempt]:
    if status.location == "red_page":
        return [_look_at_red_page(session, certificate)]
    attempts: list[Attempt] = []
    for address in addresses(certificate, status):
        attempt = _look_at(address, certificate, policy)
        attempts.append(attempt)
        if attempt.outcome == "found":
            break
    if not attempts:
        attempts.append(Attempt("", "failed", reason="证书没有可访问的网站地址"))
    return attempts


def _look_at(address: Address, certificate: Certificate, policy: FetchPolicy) -> Attempt:
    try:
        response = safe_fetch.fetch(address.url, policy, address.connect_to)
    except FetchRefused as refused:
        return Attempt(address.url, "refused", final_url=refused.url, reason=refused.reason)
    except FetchFailed as failed:
        return Attempt(address.url, "failed", final_url=failed.url, reason=failed.reason)
    base = {"final_url": response.final_url, "http_status": response.status}
    if not 200 <= response.status < 300:
        return Attempt(address.url, "missing", **base, reason=f"网站返回 HTTP {response.status}，不是正常页面")
    marker, position = find_marker(response.body, certificate)
    if marker:
        return Attempt(address.url, "found", **base, marker=marker, excerpt=_excerpt(response.body, position))
    return Attempt(address.url, "missing", **base, reason="页面中没有本证书的网站标识", excerpt=_title(response.body))


def _look_at_red_page(session: Session, certificate: Certificate) -> Attempt:
    """The unit's published 网络红页 as visitors get it, rendered here: it is the platform's own page,
    so no address a unit typed is fetched and no network is involved."""
    # Imported here: the public page's view lives in the web layer, which imports the services.
    from app.web.red_pages.site import show_page

    page = session.scalar(select(RedPage).where(RedPage.unit_id == certificate.unit_id))
    if page is None or page.published_at is None:
        return Attempt("网络红页", "missing", reason="单位的网络红页尚未发布")
    with current_app.test_request_context():
        path = url_for("red_page_site.show_page", page_id=page.id)
    with current_app.test_request_context(path):  # as a visitor's request for that page
        response = show_page(page.id)
    body = response.get_data()
    base = {"final_url": path, "http_status": response.status_code}
    marker, position = find_marker(body, certificate)
    if marker:
        return Attempt(path, "found", **base, marker=marker, excerpt=_excerpt(body, position))
    return Attempt(path, "missing", **base, reason="网络红页中没有本证书的网站标识", excerpt=_title(body))


def find_marker(body: bytes, certificate: Certificate) -> tuple[str, int]:
    """The strongest badge marker in a page and where it is; ("", -1) when there is none."""
    lowered = body.lower()
    needles = [
        ("code", re.compile(re.escape(str(certificate.code or "").lower().encode()) + rb"\.js")),
        ("link", re.compile(re.escape(certificate.public_id.lower().encode()))),
        ("placeholder", re.compile(rb"_ideconac")),
    ]
    for marker, pattern in needles:
        if marker == "code" and not certificate.code:
            continue
        match = pattern.search(lowered)
        if match:
            return marker, match.start()
    return "", -1


def _decisive(attempts: list[Attempt]) -> Attempt:
    """The attempt that decides: one that found the badge, else a page without it, else the first."""
    for outcome in ("found", "missing"):
        for attempt in attempts:
            if attempt.outcome == outcome:
                return attempt
    return attempts[0]


def _excerpt(body: bytes, position: int) -> str:
    half = _EXCERPT_CHARS // 2
    window = body[max(0, position - half) : position + half]
    return _SPACES.sub(" ", window.decode("utf-8", errors="replace")).strip()


def _title(body: bytes) -> str:
    match = _TITLE.search(body[:65536])
    text = match.group(1) if match else body[:_EXCERPT_CHARS]
    return "页面：" + _SPACES.sub(" ", text.decode("utf-8", errors="replace")).strip()[:_EXCERPT_CHARS]


# ---- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificatePlacement:
    """A certificate's placement as pages show it: its status row and latest checks, newest first."""

    certificate: Certificate
    status: PlacementStatus | None
    checks: list[PlacementCheck]


def for_certificates(session: Session, certificates: list[Certificate], latest: int = 5) -> list[CertificatePlacement]:
    """Each certificate's placement status and its `latest` checks."""
    found: list[CertificatePlacement] = []
    for certificate in certificates:
        query = (
            select(PlacementCheck)
            .where(PlacementCheck.certificate_id == certificate.id)
            .order_by(PlacementCheck.checked_at.desc(), PlacementCheck.id.desc())
            .limit(latest)
        )
        status = session.get(PlacementStatus, certificate.id)
        found.append(CertificatePlacement(certificate, status, list(session.scalars(query))))
    return found


@dataclass(frozen=True)
class OverdueRow:
    unit: Unit
    certificate: Certificate
    status: PlacementStatus
    latest: PlacementCheck | None


def overdue_conditions() -> tuple[ColumnElement[bool], ...]:
    """逾期未挂标, on PlacementStatus joined to its Certificate: a valid certificate past its hanging deadline
    whose latest check found no badge (the 编办's list and the 统计 page count the same)."""
    return (
        PlacementStatus.deadline_recorded_at.is_not(None),
        PlacementStatus.found.is_(False),
        Certificate.status == "valid",
    )


def overdue(session: Session, unit_ids: Any) -> list[OverdueRow]:
    """Valid certificates of these units past their deadline whose latest check found no badge."""
    query = (
        select(PlacementStatus, Certificate, Unit)
        .join(Certificate, Certificate.id == PlacementStatus.certificate_id)
        .join(Unit, Unit.id == Certificate.unit_id)
        .where(*overdue_conditions(), Unit.id.in_(unit_ids))
        .order_by(Certificate.hang_deadline, Unit.name)
    )
    rows = []
    for status, certificate, unit in session.execute(query):
        latest = session.get(PlacementCheck, status.latest_check_id) if status.latest_check_id else None
        rows.append(OverdueRow(unit, certificate, status, latest))
    return rows


# ---- who may look, and a check on request ------------------------------------------------------


def certificate_for(session: Session, user: Any, certificate_id: int) -> Certificate | None:
    """The certificate, if the user answers for its unit (the unit itself, or the 编办 of its region)."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        return None
    in_reach = select(jurisdiction.visible_units(session, user).where(Unit.id == certificate.unit_id).exists())
    return certificate if session.scalar(in_reach) else None


def check_now(
    session: Session, certificate: Certificate, actor: Actor, now: datetime, policy: FetchPolicy, pause: timedelta
) -> PlacementCheck:
    """重新检查 on a page: refused while the certificate is not valid or was checked less than `pause` ago."""
    status = session.get(PlacementStatus, certificate.id)
    if status is None:
        raise ServiceRefusal("该标识尚未登记挂标位置（标识发放后由系统登记），暂不能检查")
    if certificate.status != "valid":
        raise ServiceRefusal("该标识证书已不是有效状态，不再检查挂标情况")
    latest = session.get(PlacementCheck, status.latest_check_id) if status.latest_check_id else None
    if latest is not None and now - latest.checked_at < pause:
        wait = math.ceil((pause - (now - latest.checked_at)).total_seconds() / 60)
        raise ServiceRefusal(f"刚刚检查过，请{wait}分钟后再检查")
    row = check(session, certificate.id, "manual", now, policy, by=actor.name)
    detail = {"certificate": certificate.code, "outcome": row.outcome, "url": row.final_url or row.url}
    audit.record(session, actor, "placement_check", instance_id=certificate.instance_id, detail=detail)
    return row
