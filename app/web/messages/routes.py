"""消息中心 for units and reviewers: the notifications addressed to the account's unit or office, unread first
in the nav's count, marked read one by one or all at once. A message of another unit or office is not found."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.engine import get_engine
from app.extensions import db
from app.models.account import REVIEWER_AUDIENCE, UNIT_AUDIENCE
from app.services import message_center
from app.web.access import gate

blueprint = Blueprint("messages", __name__, url_prefix="/messages")
gate(blueprint, audiences=(UNIT_AUDIENCE, REVIEWER_AUDIENCE))


@blueprint.app_context_processor
def unread_messages() -> dict[str, Any]:
    """`unread_message_count()` for the nav; counted only where a page asks for it."""

    def count() -> int:
        if not current_user.is_authenticated or current_user.audience not in (UNIT_AUDIENCE, REVIEWER_AUDIENCE):
            return 0
        return message_center.unread_count(db.session, current_user)

    return {"unread_message_count": count}


@blueprint.get("/")
def index() -> str:
    unread_only = request.args.get("unread") == "1"
    number = _page_number(request.args.get("page"))
    page = message_center.page(db.session, current_user, number, current_app.config["PAGE_SIZE"], unread_only)
    return render_template("messages/index.html", page=page, unread_only=unread_only, url_with=_url_with)


@blueprint.post("/<int:message_id>/read")
def mark_read(message_id: int) -> Response:
    if not message_center.mark_read(db.session, current_user, message_id, get_engine().runner.clock()):
        abort(404)
    db.session.commit()
    return redirect(_back())


@blueprint.post("/read-all")
def mark_all_read() -> Response:
    marked = message_center.mark_all_read(db.session, current_user, get_engine().runner.clock())
    db.session.commit()
    flash(_("已将 %(count)s 条消息标为已读", count=marked), "success")
    return redirect(_back())


def _back() -> str:
    """The list page the form was posted from (its filter and page), never another site."""
    return url_for("messages.index", **{k: v for k, v in request.args.items() if k in ("page", "unread") and v})


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) < 100000 else 1


def _url_with(**changes: Any) -> str:
    args = {**request.args.to_dict(), **changes}
    return url_for("messages.index", **{k: v for k, v in args.items() if k in ("page", "unread") and v})
