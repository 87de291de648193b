"""The account's “API 令牌” page: list, create (the secret shown once) and revoke its personal API tokens.

Units and reviewers get the page (app.services.api_tokens says who may hold tokens); staff enter a current
second-factor code with every new token, so a token is never made from a session left open.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField
from wtforms.validators import Length

from app.extensions import db
from app.services import api_tokens, second_factor
from app.services.errors import ServiceRefusal
from app.web.auth.forms import NO_HTML, required
from app.web.input_policy import PolicyForm

blueprint = Blueprint("api_tokens", __name__, url_prefix="/account/api-tokens")
LIFETIMES = (30, 90, 180, 365)


class TokenForm(PolicyForm):
    name = StringField(_l("令牌名称"), validators=[required(_l("令牌名称")), Length(max=60), NO_HTML])
    days = SelectField(_l("有效期"), coerce=int)
    code = StringField(_l("第二因素验证码"), validators=[Length(max=20)])


@blueprint.before_request
@login_required
def _holders_only() -> None:
    if not api_tokens.may_hold_tokens(current_user):
        abort(403)


@blueprint.get("/")
def list_tokens() -> str:
    return _page(_form())


@blueprint.post("/")
def create_token() -> str | tuple[str, int]:
    form, user, now = _form(), current_user._get_current_object(), datetime.now(UTC)
    if not form.validate_on_submit():
        return _page(form), 400
    wanted = api_tokens.Request(form.name.data, form.days.data, form.code.data or "")
    limits = (current_app.config["API_TOKEN_MAX_DAYS"], current_app.config["API_TOKENS_PER_ACCOUNT"])
    try:
        issued = api_tokens.create(db.session, user, wanted, now, request.remote_addr, limits)
    except ServiceRefusal as refusal:
        db.session.commit()  # a wrong code counts towards the lockout, and is audited
        getattr(form, refusal.field or "name").errors.append(refusal.message)
        return _page(form), 400
    db.session.commit()
    return _page(_form(), issued), 201


@blueprint.post("/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Response:
    token = api_tokens.token_of(db.session, current_user, token_id)
    if token is None:
        abort(404)
    try:
        api_tokens.revoke(db.session, current_user, token, datetime.now(UTC), request.remote_addr)
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "warning")
    else:
        db.session.commit()
        flash(_("令牌“%(name)s”已吊销，使用它的请求将被拒绝。", name=token.name), "success")
    return redirect(url_for("api_tokens.list_tokens"))


def _form() -> TokenForm:
    form = TokenForm()
    longest = int(current_app.config["API_TOKEN_MAX_DAYS"])
    form.days.choices = [(days, _("%(days)s 天", days=days)) for days in LIFETIMES if days <= longest] or [
        (longest, _("%(days)s 天", days=longest))
    ]
    return form


def _page(form: TokenForm, issued: api_tokens.Issued | None = None) -> str:
    return render_template(
        "api/tokens.html",
        form=form,
        tokens=api_tokens.tokens_of(db.session, current_user),
        issued=issued,
        needs_code=second_factor.is_required(current_user),
        now=datetime.now(UTC),
    )
