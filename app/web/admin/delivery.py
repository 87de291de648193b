"""Administrators: the outbox with each message's status, attempts and last error (a given-up message can be
sent again), and the SMS the recording gateway kept instead of sending."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.engine import get_engine
from app.extensions import db
from app.services import delivery, mail, sms
from app.web.admin.permissions import admin_gate

blueprint = Blueprint("admin_delivery", __name__, url_prefix="/admin")
admin_gate(blueprint)
_OUTBOX_FILTERS = ("status", "channel", "page")


@blueprint.get("/outbox")
def outbox() -> str:
    status, channel = request.args.get("status", ""), request.args.get("channel", "")
    page = delivery.listing(db.session, status, channel, _page_number(), current_app.config["PAGE_SIZE"])
    return render_template(
        "admin/outbox.html",
        page=page,
        status=status,
        channel=channel,
        counts=delivery.counts(db.session),
        status_labels=delivery.STATUS_LABELS,
        channel_labels=delivery.CHANNEL_LABELS,
        smtp_configured=mail.configured(current_app.config),
        url_with=_outbox_url_with,
    )


@blueprint.post("/outbox/<int:message_id>/retry")
def retry(message_id: int) -> Response:
    message = delivery.requeue(db.session, message_id, get_engine().runner.clock())
    if message is None:
        abort(404)
    db.session.commit()
    flash(_("消息 #%(id)s 已重新排队，后台任务将再次发送", id=message_id), "success")
    return redirect(url_for("admin_delivery.outbox", **_kept_args(_OUTBOX_FILTERS)))


@blueprint.get("/sms")
def sms_records() -> str:
    page = sms.recorded(db.session, _page_number(), current_app.config["PAGE_SIZE"])
    return render_template(
        "admin/sms.html",
        page=page,
        recording=current_app.config["SMS_GATEWAY"] == sms.RECORDING_GATEWAY,
        url_with=_sms_url_with,
    )


def _page_number() -> int:
    value = request.args.get("page", "")
    return int(value) if value.isdigit() and 0 < int(value) < 100000 else 1


def _kept_args(names: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k in names and v}


def _outbox_url_with(**changes: Any) -> str:
    args = {**_kept_args(_OUTBOX_FILTERS), **changes}
    return url_for("admin_delivery.outbox", **{k: v for k, v in args.items() if v not in (None, "")})


def _sms_url_with(**changes: Any) -> str:
    return url_for("admin_delivery.sms_records", **{k: v for k, v in changes.items() if v not in (None, "")})
