"""Login, logout, unit self-registration, the region cascade, and the role-based home redirect."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app.extensions import db
from app.models.account import ADMIN_ROLE, POLICY_ROLE, REVIEWER_ROLES, UNIT_ROLE
from app.services import accounts, audit, regions
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.web.auth.forms import LoginForm, RegistrationForm

blueprint = Blueprint("auth", __name__)

HOME_BY_ROLE = {UNIT_ROLE: "wizard.home", POLICY_ROLE: "public.list_procedures", ADMIN_ROLE: "admin.index"}


def home_url() -> str:
    if current_user.role in REVIEWER_ROLES:
        return url_for("worklist.inbox")
    return url_for(HOME_BY_ROLE.get(current_user.role, "public.list_procedures"))


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(db.session, form.username.data, form.password.data, datetime.now(UTC))
        except ServiceRefusal as refusal:
            audit.record(db.session, Actor(form.username.data, "-", request.remote_addr), "login_failed")
            db.session.commit()
            form.password.errors.append(refusal.message)
            return render_template("auth/login.html", form=form), 401
        session.clear()  # a fresh session id after login
        session.permanent = True
        login_user(user)
        audit.record(db.session, Actor(user.username, user.role, request.remote_addr), "login")
        db.session.commit()
        return redirect(home_url())
    return render_template("auth/login.html", form=form)


@blueprint.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        audit.record(db.session, Actor(current_user.username, current_user.role, request.remote_addr), "logout")
        db.session.commit()
    logout_user()
    session.clear()
    flash("您已安全退出", "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/register", methods=["GET", "POST"])
def register() -> str | Response:
    form = RegistrationForm()
    provinces = regions.children(db.session, None)
    form.province.choices = [SelectChoice("", "请选择省份"), *(SelectChoice(r.code, r.name) for r in provinces)]
    if form.validate_on_submit():
        user = _register(form)
        if user is not None:
            flash(f"注册成功。请牢记您的用户名 {user.username}，并使用它登录。", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form), 200 if request.method == "GET" else 400


def _register(form: RegistrationForm) -> object | None:
    region = regions.get(db.session, form.region_code())
    if region is None:
        form.province.errors = [*form.province.errors, "请选择所在地区"]
        return None
    fields = {
        name: getattr(form, name).data
        for name in (
            "username",
            "password",
            "unit_type",
            "name",
            "uscc",
            "nature",
            "affiliation",
            "address",
            "postcode",
            "leader",
            "contact_name",
            "contact_mobile",
            "contact_email",
            "contact_phone",
        )
    }
    try:
        user = accounts.register_unit(
            db.session,
            accounts.UnitRegistration(
                region_code=region.code, level=region.level, **{k: v or "" for k, v in fields.items()}
            ),
        )
    except ServiceRefusal as refusal:
        db.session.rollback()
        getattr(form, refusal.field or "username").errors.append(refusal.message)
        return None
    audit.record(db.session, Actor(user.username, UNIT_ROLE, request.remote_addr), "register")
    db.session.commit()
    return user


@blueprint.get("/regions")
def region_children() -> list[dict[str, str]]:
    parent = request.args.get("parent") or None
    return [{"code": r.code, "name": r.name, "level": r.level} for r in regions.children(db.session, parent)]


@blueprint.get("/home")
def home() -> Response:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(home_url())
