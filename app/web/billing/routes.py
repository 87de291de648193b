"""Fees after collection: 编办 remits collected fees to CONAC; CONAC confirms (认款) a remittance."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from app.engine import get_engine
from app.engine.errors import EngineError
from app.extensions import db
from app.models.account import BIANBAN_ROLE, CONAC_ROLE
from app.services import audit, billing, exports, payments
from app.services.errors import ServiceRefusal
from app.web import downloads
from app.web.access import current_actor, gate

blueprint = Blueprint("billing", __name__, url_prefix="/billing")
gate(blueprint, BIANBAN_ROLE, CONAC_ROLE)


@blueprint.get("/")
def overview() -> str:
    if current_user.role == BIANBAN_ROLE:
        return render_template(
            "billing/bianban.html",
            collected=payments.collected(db.session, current_user.office_code),
            batches=payments.batches(db.session, office_code=current_user.office_code),
        )
    return render_template(
        "billing/conac.html",
        pending=payments.batches(db.session, confirmed=False),
        confirmed=payments.batches(db.session, confirmed=True, limit=50),
    )


@blueprint.get("/remittances.xlsx")
def export_remittances() -> Response:
    """The batches the user sees (a 编办 its own, CONAC all), pending or confirmed, with every charge in them."""
    status = request.args.get("status", "")
    confirmed = {"pending": False, "confirmed": True}.get(status)
    office = current_user.office_code if current_user.role == BIANBAN_ROLE else None
    found = payments.batches(db.session, office, confirmed, limit=current_app.config["EXPORT_MAX_ROWS"])
    filters = {"status": status} if confirmed is not None else {}
    return downloads.excel("汇款批次", exports.remittance_sheets(found), filters)


@blueprint.post("/remittances")
def create_remittance() -> Response:
    if current_user.role != BIANBAN_ROLE:
        abort(403)
    try:
        # one choice per application: the ids of its charges, comma-separated (they are remitted together)
        charge_ids = [int(c) for value in request.form.getlist("charge_id") for c in value.split(",") if c.strip()]
        remittance = billing.create_remittance(db.session, current_user.office_code, charge_ids, current_user.username)
        detail = {"remittance_id": remittance.id, "charges": charge_ids}
        audit.record(db.session, current_actor(), "remittance_create", detail=detail)
        db.session.commit()
    except (ServiceRefusal, ValueError) as exc:
        db.session.rollback()
        flash(getattr(exc, "message", _("请选择有效的费用")), "error")
        return redirect(url_for("billing.overview"))
    created = ngettext(
        "已生成汇款批次 %(batch)s，共 %(num)d 笔，请按批次向CONAC汇款。",
        "已生成汇款批次 %(batch)s，共 %(num)d 笔，请按批次向CONAC汇款。",
        len(charge_ids),
        batch=remittance.id,
    )
    flash(created, "success")
    return redirect(url_for("billing.overview"))


@blueprint.post("/remittances/<int:remittance_id>/confirm")
def confirm_remittance(remittance_id: int) -> Response:
    if current_user.role != CONAC_ROLE:
        abort(403)
    try:
        moved = get_engine().runner.confirm_remittance(remittance_id, current_actor())
    except EngineError as error:
        flash(error.message, "error")
        return redirect(url_for("billing.overview"))
    confirmed = ngettext(
        "汇款批次 %(batch)s 已认款，%(num)d 件申请将于1个工作日后办结。",
        "汇款批次 %(batch)s 已认款，%(num)d 件申请将于1个工作日后办结。",
        len(moved),
        batch=remittance_id,
    )
    flash(confirmed, "success")
    return redirect(url_for("billing.overview"))
