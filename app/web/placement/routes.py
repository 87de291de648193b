"""挂标检查: each certificate's placement checks with their evidence, a check on request, and the 编办's
逾期未挂标 list (units of its jurisdiction past the hanging deadline whose badge was not found).

A certificate outside the user's reach is not found (404). The partials `placement/_certificate.html`
and `placement/_unit_badges.html` show the results on the unit's application page and the 编办's task page.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.engine import get_engine
from app.extensions import db
from app.models import Certificate, ProcessInstance
from app.models.account import BIANBAN_ROLE, REVIEWER_AUDIENCE, UNIT_AUDIENCE
from app.models.placement import OUTCOME_LABELS
from app.services import badges, exports, jurisdiction, placement
from app.services.errors import ServiceRefusal
from app.web import downloads
from app.web.access import current_actor, gate

blueprint = Blueprint("placement", __name__, url_prefix="/placement")
gate(blueprint, audiences=(UNIT_AUDIENCE, REVIEWER_AUDIENCE))

# A check on request fetches someone's site: once per certificate in this many minutes.
CHECK_PAUSE = timedelta(minutes=5)


@blueprint.get("/overdue")
def overdue() -> str:
    if current_user.role != BIANBAN_ROLE:
        abort(403)
    rows = placement.overdue(db.session, jurisdiction.visible_units(db.session, current_user))
    return render_template("placement/overdue.html", rows=rows)


@blueprint.get("/overdue/export.xlsx")
def export_overdue() -> Response:
    if current_user.role != BIANBAN_ROLE:
        abort(403)
    rows = placement.overdue(db.session, jurisdiction.visible_units(db.session, current_user))
    return downloads.excel("逾期未挂标", [exports.overdue_sheet(rows)], {})


@blueprint.get("/certificates/<int:certificate_id>")
def show_certificate(certificate_id: int) -> str:
    certificate = _certificate_or_404(certificate_id)
    (found,) = placement.for_certificates(db.session, [certificate], latest=50)
    instance = db.session.get(ProcessInstance, certificate.instance_id) if certificate.instance_id else None
    return render_template(
        "placement/certificate.html",
        placement=found,
        certificate_status_label=badges.status_label(badges.current_status(db.session, certificate)),
        business_key=instance.business_key if instance else None,
        locations=placement.LOCATIONS,
        outcome_labels=OUTCOME_LABELS,
    )


@blueprint.post("/certificates/<int:certificate_id>/check")
def check_certificate(certificate_id: int) -> Response:
    certificate = _certificate_or_404(certificate_id)
    policy = placement.policy_from(current_app.config)
    now = get_engine().runner.clock()
    try:
        row = placement.check_now(db.session, certificate, current_actor(), now, policy, CHECK_PAUSE)
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "warning")
    else:
        db.session.commit()
        flash(_("检查完成：%(outcome)s", outcome=row.outcome_label), "success" if row.outcome == "found" else "warning")
    return redirect(url_for(".show_certificate", certificate_id=certificate_id))


@blueprint.post("/certificates/<int:certificate_id>/revoke")
def revoke_certificate(certificate_id: int) -> Response:
    """注销 by the 编办 whose jurisdiction holds the unit; units and CONAC cannot."""
    if current_user.role != BIANBAN_ROLE:
        abort(403)
    certificate = _certificate_or_404(certificate_id)
    try:
        badges.revoke(
            db.session, certificate, current_actor(), request.form.get("reason", ""), get_engine().runner.clock()
        )
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
    else:
        db.session.commit()
        flash(_("标识 %(code)s 已注销", code=certificate.code), "success")
    return redirect(url_for(".show_certificate", certificate_id=certificate_id))


@blueprint.app_template_global("placement_of_certificates")
def placement_of_certificates(certificates: list[Certificate]) -> list[placement.CertificatePlacement]:
    """For the partials: each certificate's placement status and latest checks."""
    return placement.for_certificates(db.session, certificates, latest=3)


@blueprint.app_template_global("placement_of_unit")
def placement_of_unit(unit_id: int) -> list[placement.CertificatePlacement]:
    """For the 编办's task page: the placement of the unit's certificates (a 资格复核 shows the current badge)."""
    return placement.for_certificates(db.session, badges.for_unit(db.session, unit_id), latest=1)


def _certificate_or_404(certificate_id: int) -> Certificate:
    certificate = placement.certificate_for(db.session, current_user, certificate_id)
    if certificate is None:
        abort(404)
    return certificate
