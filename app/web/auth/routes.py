"""Login, logout, unit self-registration, the region cascade, and the role-based home redirect."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app.extensions import db, limiter
from app.models import User
from app.models.account import POLICY_ROLE, REVIEWER_AUDIENCE, UNIT_ROLE
from app.services import accounts, audit, regions, second_factor, second_factor_sms, sessions
from app.services.audit import Actor
from app.services.errors import ServiceRefusal, ServiceRefusals
from app.web.admin.permissions import HOME_BY_ADMIN_ROLE
from app.web.auth.forms import LoginForm, PasswordChangeForm, RegistrationForm, SecondFactorForm

blueprint = Blueprint("auth", __name__)

HOME_BY_ROLE = {UNIT_ROLE: "wizard.home", POLICY_ROLE: "studio.index", **HOME_BY_ADMIN_ROLE}


def home_url() -> str:
    if current_user.audience == REVIEWER_AUDIENCE:
        return url_for("worklist.inbox")
    return url_for(HOME_BY_ROLE.get(current_user.role, "public.list_procedures"))


def _submitted_name() -> str:
    return "login-name:" + request.form.get("username", "").strip().lower()[:40]


def _failed(response: Response) -> bool:
    return response.status_code == 401


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_NAME"],
    key_func=_submitted_name,
    methods=["POST"],
    deduct_when=_failed,
)
def login() -> str | Response | tuple[str, int]:
    form = LoginForm()
    if form.validate_on_submit():
        now, ip = datetime.now(UTC), request.remote_addr
        try:
            user = accounts.authenticate(db.session, form.username.data, form.password.data, now, ip)
        except ServiceRefusal as refusal:
            audit.record(db.session, Actor(form.username.data, "-", ip), "login_failed")
            db.session.commit()
            form.password.errors.append(refusal.message)
            return render_template("auth/login.html", form=form), 401
        _start_session(user, now)
        audit.record(db.session, Actor(user.username, user.role, ip), "login")
        db.session.commit()
        if second_factor.is_required(user):
            return redirect(_second_factor_page(user))
        if accounts.must_choose_password(user, now):
            flash(_choose_password_reason(user, now), "warning")
            return redirect(url_for("auth.change_password"))
        return redirect(home_url())
    return render_template("auth/login.html", form=form)


@blueprint.errorhandler(429)
def login_throttled(error: Exception) -> tuple[str, int]:
    """The page a throttled login attempt gets: the same words whether or not the name exists."""
    audit.record(db.session, Actor(request.form.get("username", "")[:40], "-", request.remote_addr), "login_throttled")
    db.session.commit()
    form = LoginForm()
    form.password.errors = [accounts.LOCKED]
    return render_template("auth/login.html", form=form), 429


def _choose_password_reason(user: User, now: datetime) -> str:
    if user.must_change_password:
        return _("首次登录或管理员重置密码后，须先设置您自己的新密码。")
    days = accounts.password_policy().max_age.days
    return _("您的密码已超过 %(days)s 天未修改，已经过期，请先设置新密码。", days=days)


def _start_session(user: User, now: datetime, second_factor_passed: bool = False) -> None:
    """A new server-side session and a fresh cookie: nothing of the anonymous session carries over."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session[sessions.COOKIE_KEY] = sessions.open_session(db.session, user, request.remote_addr, now)
    if second_factor_passed:
        sessions.mark_second_factor(db.session, session[sessions.COOKIE_KEY], now)
    session.permanent = True
    login_user(user)


@blueprint.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        audit.record(db.session, Actor(current_user.username, current_user.role, request.remote_addr), "logout")
        sessions.end_all_sessions(db.session, current_user.id)
        db.session.commit()
    logout_user()
    language = session.get("lang")
    session.clear()
    if language:  # the language is the reader's choice, not the account's
        session["lang"] = language
    flash(_("您已安全退出"), "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response | tuple[str, int]:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user, now = current_user._get_current_object(), datetime.now(UTC)
        try:
            accounts.change_password(db.session, user, form.current.data, form.password.data, now)
        except ServiceRefusal as refused:
            db.session.rollback()
            for refusal in refused.each():
                getattr(form, refusal.field or "password").errors.append(refusal.message)
            return _password_page(form), 400
        audit.record(db.session, Actor(user.username, user.role, request.remote_addr), "password_change")
        _start_session(user, now, second_factor_passed=True)  # every other session of the account has ended
        db.session.commit()
        flash(_("密码已修改，其他设备上的登录已全部退出。"), "success")
        return redirect(home_url())
    status = 400 if request.method == "POST" else 200
    return _password_page(form), status


def _password_page(form: PasswordChangeForm) -> str:
    rule = accounts.password_rule_text(current_user.role)
    history = accounts.password_policy().history
    return render_template("auth/password.html", form=form, rule=rule, history=history)


# ---- the second factor of staff accounts (app.services.second_factor) ----------------------------------

# What a password-only session reaches; it may also log in afresh (as another account, say).
PASSWORD_ONLY_PAGES = (
    "auth.second_factor_code",
    "auth.second_factor_enrol",
    "auth.second_factor_enrol_sms",
    "auth.second_factor_send_sms",
    "auth.logout",
    "static",
)
SECOND_FACTOR_ENDPOINTS = (*PASSWORD_ONLY_PAGES, "auth.login")


def _second_factor_page(user: User) -> str:
    endpoint = "auth.second_factor_code" if second_factor.is_enrolled(user) else "auth.second_factor_enrol"
    return url_for(endpoint)


def _second_factor_pending() -> bool:
    """A logged-in staff account whose session has not passed the second factor yet."""
    if not current_user.is_authenticated or not second_factor.is_required(current_user):
        return False
    row = sessions.current_row(db.session, session.get(sessions.COOKIE_KEY))
    return row is None or row.second_factor_at is None


@blueprint.before_app_request
def _require_second_factor() -> Response | None:
    """With the password alone a staff account reaches only the code pages and logout (registered before
    the password gate, so the second factor comes before a forced password change)."""
    if request.endpoint in SECOND_FACTOR_ENDPOINTS or not _second_factor_pending():
        return None
    return redirect(_second_factor_page(current_user))


def _after_second_factor(user: User, now: datetime) -> Response:
    sessions.mark_second_factor(db.session, session.get(sessions.COOKIE_KEY), now)
    db.session.commit()
    if accounts.must_choose_password(user, now):
        flash(_choose_password_reason(user, now), "warning")
        return redirect(url_for("auth.change_password"))
    return redirect(home_url())


@blueprint.route("/account/second-factor", methods=["GET", "POST"])
@login_required
def second_factor_code() -> str | Response | tuple[str, int]:
    user = current_user._get_current_object()
    if not _second_factor_pending():
        return redirect(home_url())
    if not second_factor.is_enrolled(user):
        return redirect(url_for("auth.second_factor_enrol"))
    form, now, login = SecondFactorForm(), datetime.now(UTC), _login_code()
    if form.validate_on_submit():
        try:
            second_factor.verify(db.session, user, form.code.data, now, request.remote_addr, login)
        except ServiceRefusal as refusal:
            db.session.commit()  # the failure counts towards the lockout
            form.code.errors.append(refusal.message)
            return _code_page(user, form, login, now), 401
        return _after_second_factor(user, now)
    status = 400 if request.method == "POST" else 200
    return _code_page(user, form, login, now), status


def _code_page(user: User, form: SecondFactorForm, login: second_factor_sms.LoginCode | None, now: datetime) -> str:
    sms = second_factor.uses_sms(user)
    wait = second_factor_sms.seconds_until_resend(db.session, user, now) if sms and login else 0
    hint = second_factor_sms.mobile_hint(user)
    return render_template("auth/second_factor.html", form=form, sms=sms, mobile=hint, wait=wait)


def _login_code() -> second_factor_sms.LoginCode | None:
    """This login's SMS code slot (its session row) and the key of the code's HMAC."""
    row = sessions.current_row(db.session, session.get(sessions.COOKIE_KEY))
    if row is None:
        return None
    return second_factor_sms.LoginCode(row, str(current_app.config["SECRET_KEY"]).encode())


@blueprint.post("/account/second-factor/sms")
@limiter.limit(lambda: current_app.config["SMS_LIMIT_PER_IP"])
@login_required
def second_factor_send_sms() -> Response:
    """Send this login a code by SMS: to log in (method sms) or to choose SMS at enrolment."""
    user, login = current_user._get_current_object(), _login_code()
    if not _second_factor_pending() or login is None:
        return redirect(home_url())
    enrolled = second_factor.is_enrolled(user)
    back = url_for("auth.second_factor_code" if enrolled else "auth.second_factor_enrol_sms")
    if enrolled and not second_factor.uses_sms(user):
        return redirect(back)
    now = datetime.now(UTC)
    try:
        delivered = second_factor_sms.send_code(db.session, user, login, current_app.config, now, request.remote_addr)
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "warning")
        return redirect(back)
    db.session.commit()
    if delivered:
        flash(_("验证码已发送至 %(mobile)s，5分钟内有效。", mobile=second_factor_sms.mobile_hint(user)), "success")
    else:
        flash(_("验证码短信发送失败，请在60秒后重新获取；多次失败请联系安全管理员。"), "danger")
    return redirect(back)


@blueprint.route("/account/second-factor/enrol", methods=["GET", "POST"])
@login_required
def second_factor_enrol() -> str | Response | tuple[str, int]:
    user = current_user._get_current_object()
    if not _second_factor_pending():
        return redirect(home_url())
    if second_factor.is_enrolled(user):
        return redirect(url_for("auth.second_factor_code"))
    row = sessions.current_row(db.session, session.get(sessions.COOKIE_KEY))
    if row is None:
        return redirect(url_for("auth.login"))
    if row.pending_totp_secret is None:
        row.pending_totp_secret = second_factor.new_secret()
        db.session.commit()
    secret, form, now = row.pending_totp_secret, SecondFactorForm(), datetime.now(UTC)
    if form.validate_on_submit():
        try:
            codes = second_factor.enrol(db.session, user, secret, form.code.data, now, request.remote_addr)
        except ServiceRefusal as refusal:
            db.session.commit()  # the failure counts towards the lockout
            form.code.errors.append(refusal.message)
            return _enrol_page(user, secret, form), 401
        next_page = _after_second_factor(user, now)
        return render_template("auth/recovery_codes.html", codes=codes, next_url=next_page.location)
    return _enrol_page(user, secret, form), 400 if request.method == "POST" else 200


def _enrol_page(user: User, secret: str, form: SecondFactorForm) -> str:
    qr = second_factor.qr_svg(second_factor.provisioning_uri(user, secret))
    mobile = second_factor_sms.mobile_hint(user)
    return render_template("auth/second_factor_enrol.html", form=form, qr=qr, secret=secret, mobile=mobile)


@blueprint.route("/account/second-factor/enrol/sms", methods=["GET", "POST"])
@login_required
def second_factor_enrol_sms() -> str | Response | tuple[str, int]:
    """Enrolment by SMS (offered when the security admin registered a mobile): the code sent confirms it."""
    user, login = current_user._get_current_object(), _login_code()
    if not _second_factor_pending() or login is None:
        return redirect(home_url())
    if second_factor.is_enrolled(user) or not user.mobile:
        return redirect(_second_factor_page(user))
    form, now = SecondFactorForm(), datetime.now(UTC)
    if form.validate_on_submit():
        try:
            codes = second_factor.enrol_sms(db.session, user, form.code.data, login, now, request.remote_addr)
        except ServiceRefusal as refusal:
            db.session.commit()  # the failure counts towards the lockout
            form.code.errors.append(refusal.message)
            return _enrol_sms_page(user, form, login, now), 401
        next_page = _after_second_factor(user, now)
        return render_template("auth/recovery_codes.html", codes=codes, next_url=next_page.location)
    return _enrol_sms_page(user, form, login, now), 400 if request.method == "POST" else 200


def _enrol_sms_page(user: User, form: SecondFactorForm, login: second_factor_sms.LoginCode, now: datetime) -> str:
    wait = second_factor_sms.seconds_until_resend(db.session, user, now)
    sent = login.row.sms_code_hash is not None
    mobile = second_factor_sms.mobile_hint(user)
    return render_template("auth/second_factor_enrol_sms.html", form=form, mobile=mobile, wait=wait, sent=sent)


@blueprint.before_app_request
def _require_new_password() -> Response | None:
    """After an admin's reset, at a new staff account's first login and once the password expired,
    the account can do nothing but choose a new password (or leave)."""
    if not current_user.is_authenticated or not accounts.must_choose_password(current_user, datetime.now(UTC)):
        return None
    if request.endpoint in ("auth.change_password", *PASSWORD_ONLY_PAGES):
        return None
    return redirect(url_for("auth.change_password"))


@blueprint.app_context_processor
def _password_expiry_notice() -> dict[str, int | None]:
    """Days until a staff password expires, for the notice on every page once the warning period began."""
    if not current_user.is_authenticated:
        return {"password_days_left": None}
    return {"password_days_left": accounts.days_until_expiry_notice(current_user, datetime.now(UTC))}


@blueprint.route("/register", methods=["GET", "POST"])
def register() -> str | Response:
    form = RegistrationForm()
    provinces = regions.children(db.session, None)
    form.province.choices = [SelectChoice("", _("请选择省份")), *(SelectChoice(r.code, r.name) for r in provinces)]
    if form.validate_on_submit():
        user = _register(form)
        if user is not None:
            flash(_("注册成功。请牢记您的用户名 %(username)s，并使用它登录。", username=user.username), "success")
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        _add_account_refusals(form)
    return render_template("auth/register.html", form=form), 200 if request.method == "GET" else 400


def _add_account_refusals(form: RegistrationForm) -> None:
    """The account rules beside the form's own errors, so one submit shows every problem."""
    data = (form.username.data or "", form.password.data or "", form.uscc.data or "")
    for refusal in accounts.registration_refusals(db.session, *data):
        field = getattr(form, refusal.field or "username")
        if not field.errors:
            field.errors = [*field.errors, refusal.message]


def _register(form: RegistrationForm) -> object | None:
    region = regions.get(db.session, form.region_code())
    if region is None:
        form.province.errors = [*form.province.errors, _("请选择所在地区")]
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
    except ServiceRefusals as refused:
        db.session.rollback()
        for refusal in refused.refusals:
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
