"""Administrators (三员, permissions.py): staff accounts and their roles, unlocks, resets and sessions, and
applications stuck in the error state (重试)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app.extensions import db
from app.models import User
from app.services import administration, applications, organisation, regions, second_factor
from app.services.errors import ServiceRefusal
from app.services.masking import mask_mobile
from app.web.access import current_actor
from app.web.admin.forms import MobileForm, OfficeForm, PasswordResetForm, RoleChangeForm, RoleForm, StaffForm
from app.web.admin.permissions import HOME_BY_ADMIN_ROLE, admin_gate, may_open

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
admin_gate(blueprint)
blueprint.add_app_template_global(may_open, "admin_may")


@blueprint.get("/")
def index() -> Response:
    return redirect(url_for(HOME_BY_ADMIN_ROLE[current_user.role]))


@blueprint.get("/users")
def list_users() -> str:
    now = datetime.now(UTC)
    return render_template("admin/users.html", users=administration.users(db.session), now=now)


@blueprint.post("/users/<int:user_id>/unlock")
def unlock_user(user_id: int) -> Response:
    user = _user_or_404(user_id)
    administration.unlock(db.session, user, current_actor())
    db.session.commit()
    flash(_("已解锁账号 %(username)s", username=user.username), "success")
    return redirect(url_for("admin.list_users"))


@blueprint.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def reset_password(user_id: int) -> Response | tuple[str, int]:
    user = _user_or_404(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            administration.reset_password(db.session, user, form.password.data, current_actor(), datetime.now(UTC))
        except ServiceRefusal as refused:
            db.session.rollback()
            form.password.errors.extend(refusal.message for refusal in refused.each())
        else:
            db.session.commit()
            flash(_("已重置 %(username)s 的密码，该账号下次登录须修改密码", username=user.username), "success")
            return redirect(url_for("admin.list_users"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/password_reset.html", form=form, user=user), status


@blueprint.post("/users/<int:user_id>/sessions/end")
def end_sessions(user_id: int) -> Response:
    user = _user_or_404(user_id)
    ended = administration.end_sessions(db.session, user, current_actor())
    db.session.commit()
    flash(_("已结束 %(username)s 的 %(count)s 个会话", username=user.username, count=ended), "success")
    return redirect(url_for("admin.list_users"))


@blueprint.post("/users/<int:user_id>/second-factor/reset")
def reset_second_factor(user_id: int) -> Response:
    user = _user_or_404(user_id)
    try:
        second_factor.reset(db.session, user, current_actor())
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "danger")
        return redirect(url_for("admin.list_users"))
    db.session.commit()
    flash(_("已重置 %(username)s 的第二因素，该账号下次登录须重新设置", username=user.username), "success")
    return redirect(url_for("admin.list_users"))


@blueprint.route("/users/<int:user_id>/mobile", methods=["GET", "POST"])
def set_mobile(user_id: int) -> Response | tuple[str, int]:
    """The security admin registers or changes the mobile for a staff account's SMS second factor."""
    user = _user_or_404(user_id)
    form = MobileForm()
    if form.validate_on_submit():
        try:
            ended = second_factor.set_mobile(db.session, user, form.mobile.data, current_actor())
        except ServiceRefusal as refusal:
            db.session.rollback()
            form.mobile.errors.append(refusal.message)
        else:
            db.session.commit()
            flash(_("已登记 %(username)s 的手机号码", username=user.username), "success")
            if ended:
                flash(_("该账号使用短信验证码，已结束其 %(count)s 个会话", count=ended), "info")
            return redirect(url_for("admin.list_users"))
    status = 400 if request.method == "POST" else 200
    current, uses_sms = mask_mobile(user.mobile or ""), second_factor.uses_sms(user)
    return render_template("admin/mobile.html", form=form, user=user, current=current, uses_sms=uses_sms), status


@blueprint.route("/users/<int:user_id>/role", methods=["GET", "POST"])
def change_role(user_id: int) -> Response | tuple[str, int]:
    user = _user_or_404(user_id)
    form = RoleChangeForm(data={"role": user.role, "office": user.office_code or ""})
    _fill_role_choices(form)
    if form.validate_on_submit():
        try:
            administration.change_role(db.session, user, form.role.data, form.office.data or None, current_actor())
        except ServiceRefusal as refusal:
            db.session.rollback()
            getattr(form, refusal.field or "role", form.role).errors.append(refusal.message)
        else:
            db.session.commit()
            flash(_("已将 %(username)s 的角色改为 %(role)s", username=user.username, role=user.role), "success")
            return redirect(url_for("admin.list_users"))
    return render_template("admin/role_change.html", form=form, user=user), 200 if request.method == "GET" else 400


def _fill_role_choices(form: StaffForm | RoleChangeForm) -> None:
    """The staff roles, and the offices a reviewer may belong to (none for policy staff and admins)."""
    form.role.choices = [SelectChoice(r, r) for r in administration.staff_roles(db.session)]
    form.office.choices = [
        SelectChoice("", _("（不属于审核机构）")),
        *(SelectChoice(o.code, f"{o.name}（{o.kind}）") for o in administration.offices(db.session)),
    ]


def _user_or_404(user_id: int) -> User:
    user = administration.user_or_none(db.session, user_id)
    if user is None:
        abort(404)
    return user


@blueprint.route("/users/new", methods=["GET", "POST"])
def create_user() -> Response | tuple[str, int]:
    form = StaffForm()
    _fill_role_choices(form)
    if form.validate_on_submit():
        account = administration.StaffAccount(
            username=form.username.data.strip(),
            display_name=form.display_name.data.strip(),
            role=form.role.data,
            password=form.password.data,
            office_code=form.office.data or None,
        )
        try:
            user = administration.create_staff_account(db.session, account, current_actor())
        except ServiceRefusal as refused:
            db.session.rollback()
            for refusal in refused.each():
                getattr(form, refusal.field or "username", form.username).errors.append(refusal.message)
        else:
            db.session.commit()
            flash(_("已创建账号 %(username)s（%(role)s）", username=user.username, role=user.role), "success")
            return redirect(url_for("admin.list_users"))
    return render_template("admin/user_form.html", form=form), 200 if request.method == "GET" else 400


@blueprint.route("/roles", methods=["GET", "POST"])
def list_roles() -> str | Response | tuple[str, int]:
    form = RoleForm()
    form.audience.choices = [SelectChoice(k, v) for k, v in organisation.AUDIENCES.items() if k != "unit"]
    form.scope.choices = [SelectChoice(k, v) for k, v in organisation.SCOPES.items()]
    if form.validate_on_submit():
        try:
            role = organisation.add_role(
                db.session, form.name.data, form.audience.data, form.scope.data, form.description.data or "",
                current_actor(),
            )
        except ServiceRefusal as refusal:
            db.session.rollback()
            getattr(form, refusal.field or "name").errors.append(refusal.message)
        else:
            db.session.commit()
            flash(_("已增加角色“%(name)s”，流程图中可用它作泳道名", name=role.name), "success")
            return redirect(url_for("admin.list_roles"))
    page = render_template("admin/roles.html", form=form, roles=organisation.roles(db.session), labels=organisation)
    return page if request.method == "GET" else (page, 400)


@blueprint.route("/offices", methods=["GET", "POST"])
def list_offices() -> str | Response | tuple[str, int]:
    form = OfficeForm()
    form.kind.choices = [SelectChoice(r.role.name, r.role.name) for r in organisation.roles(db.session)
                         if r.role.audience == "reviewer"]
    form.province.choices = [SelectChoice("", _("请选择省份"))] + [
        SelectChoice(r.code, r.name) for r in regions.children(db.session, None)
    ]
    if form.validate_on_submit():
        try:
            office = organisation.add_office(
                db.session, form.kind.data, form.name.data, form.region_code(), current_actor()
            )
        except ServiceRefusal as refusal:
            db.session.rollback()
            field = {"region_code": "province"}.get(refusal.field or "name", refusal.field or "name")
            getattr(form, field).errors.append(refusal.message)
        else:
            db.session.commit()
            flash(_("已设立机构 %(name)s（%(code)s）", name=office.name, code=office.code), "success")
            return redirect(url_for("admin.list_offices"))
    page = render_template(
        "admin/offices.html", form=form, offices=organisation.offices(db.session), levels=organisation.LEVELS
    )
    return page if request.method == "GET" else (page, 400)


@blueprint.get("/errors")
def list_errors() -> str:
    return render_template("admin/errors.html", failed=administration.failed_instances(db.session))


@blueprint.post("/errors/<business_key>/retry")
def retry_instance(business_key: str) -> Response:
    instance = applications.find_instance(db.session, business_key)
    if instance is None:
        abort(404)
    try:
        instance = administration.retry(instance, current_actor())
    except ServiceRefusal as refusal:
        flash(refusal.message, "error")
    else:
        flash(_("申请 %(key)s 已重试成功，当前状态：%(stage)s", key=business_key, stage=instance.stage), "success")
    return redirect(url_for("admin.list_errors"))
