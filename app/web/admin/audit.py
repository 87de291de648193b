"""The audit admin's pages: the audit trail (filters, pages, personal data masked) and 验证审计链."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _

from app.extensions import db
from app.services import audit_trail
from app.services.audit_chain import Report
from app.web.access import current_actor
from app.web.admin.permissions import admin_gate

blueprint = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")
admin_gate(blueprint)
_FILTERS = ("start", "end", "actor", "action", "business_key")


@blueprint.get("/")
def trail() -> tuple[str, int]:
    return _trail_page(report=None)


@blueprint.post("/verify")
def verify() -> tuple[str, int]:
    report = audit_trail.verify(db.session, current_actor())
    return _trail_page(report)


def _trail_page(report: Report | None) -> tuple[str, int]:
    """The filtered trail; a date that is not a date is named and the trail shown unfiltered by time."""
    errors: dict[str, str] = {}
    trail_filter = audit_trail.TrailFilter(
        start=_date_arg("start", errors),
        end=_date_arg("end", errors),
        actor=request.args.get("actor", "").strip()[:80],
        action=request.args.get("action", "").strip()[:40],
        business_key=request.args.get("business_key", "").strip()[:20],
    )
    page = audit_trail.listing(
        db.session, trail_filter, _page_number(), current_app.config["PAGE_SIZE"], current_actor()
    )
    actions = audit_trail.actions(db.session)
    db.session.commit()  # the reading (and a verification) is recorded in the trail
    html = render_template(
        "admin/audit.html",
        page=page,
        actions=actions,
        args={name: request.args.get(name, "") for name in _FILTERS},
        errors=errors,
        report=report,
        url_with=_url_with,
        verify_url=url_for("admin_audit.verify", **_kept_args()),
    )
    return html, 400 if errors else 200


def _date_arg(name: str, errors: dict[str, str]) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = _("日期格式应为 YYYY-MM-DD，如 2026-12-03")
        return None


def _page_number() -> int:
    value = request.args.get("page", "")
    return int(value) if value.isdigit() and 0 < int(value) < 100000 else 1


def _kept_args() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k in _FILTERS and v}


def _url_with(**changes: Any) -> str:
    args = {**_kept_args(), **changes}
    return url_for("admin_audit.trail", **{k: v for k, v in args.items() if v not in (None, "")})
