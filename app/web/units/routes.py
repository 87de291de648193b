"""用户管理——申报单位管理 (编办, seed 003 FAQ 二、四): its units' information, password resets, unlocking,
and the unit list as Excel.

A unit outside the 编办's jurisdiction is not found (404, audited as a denied access). Each change
commits here with its audit record.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app.engine import get_engine
from app.extensions import db
from app.models import Unit
from app.models.account import BIANBAN_ROLE
from app.services import exports, regions, unit_admin
from app.services.errors import ServiceRefusal
from app.services.jurisdiction import unit_for
from app.web import downloads
from app.web.access import current_actor, gate
from app.web.units.forms import UnitInfoForm, UnitPasswordForm

blueprint = Blueprint("units", __name__, url_prefix="/units")
gate(blueprint, BIANBAN_ROLE)

# The filter's unit types: stored value → name in the reader's language.
UNIT_TYPES = {"党政机关": _l("党政机关"), "事业单位": _l("事业单位"), "社会组织": _l("社会组织")}


@blueprint.get("/")
def list_units() -> str:
    filters = _filters()
    page = unit_admin.units_page(db.session, current_user, filters, _page(), current_app.config["PAGE_SIZE"], _now())
    return render_template("units/list.html", page=page, filters=filters, unit_types=UNIT_TYPES, url_with=_url_with)


@blueprint.get("/export.xlsx")
def export_units() -> Response:
    filters = _filters()
    rows = unit_admin.unit_rows(db.session, current_user, filters, _now(), limit=current_app.config["EXPORT_MAX_ROWS"])
    return downloads.excel("申报单位", [exports.unit_sheet(rows)], filters.as_dict())


@blueprint.route("/<int:unit_id>", methods=["GET", "POST"])
def show_unit(unit_id: int) -> str | Response | tuple[str, int]:
    unit = _unit_or_404(unit_id)
    form = UnitInfoForm() if request.method == "POST" else UnitInfoForm(data=_initial(unit))
    _choices(form, unit)
    if request.method == "POST" and form.validate():
        try:
            changes = unit_admin.edit(db.session, current_user, unit, _values(form), current_actor())
        except ServiceRefusal as refusal:
            db.session.rollback()
            getattr(form, refusal.field or "name").errors.append(refusal.message)
        else:
            db.session.commit()
            saved = ngettext(
                "已保存单位信息（修改了 %(num)d 项）。", "已保存单位信息（修改了 %(num)d 项）。", len(changes)
            )
            flash(saved if changes else _("单位信息没有变化。"), "success")
            return redirect(url_for("units.show_unit", unit_id=unit_id))
    return _render_unit(unit, form), 400 if request.method == "POST" else 200


@blueprint.post("/<int:unit_id>/password")
def reset_password(unit_id: int) -> Response | tuple[str, int]:
    unit = _unit_or_404(unit_id)
    form = UnitPasswordForm()
    if form.validate():
        try:
            account = unit_admin.reset_password(db.session, unit, form.password.data, current_actor(), _now())
        except ServiceRefusal as refused:
            db.session.rollback()
            form.password.errors = [*form.password.errors, *(refusal.message for refusal in refused.each())]
        else:
            db.session.commit()
            flash(
                _("已重置账号 %(username)s 的密码，该单位下次登录时须设置新密码。", username=account.username),
                "success",
            )
            return redirect(url_for("units.show_unit", unit_id=unit_id))
    info = UnitInfoForm(formdata=None, data=_initial(unit))
    _choices(info, unit)
    return _render_unit(unit, info, form), 400


@blueprint.post("/<int:unit_id>/unlock")
def unlock(unit_id: int) -> Response:
    unit = _unit_or_404(unit_id)
    try:
        account = unit_admin.unlock(db.session, unit, current_actor(), _now())
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "warning")
    else:
        db.session.commit()
        flash(_("已解锁账号 %(username)s。", username=account.username), "success")
    return redirect(url_for("units.show_unit", unit_id=unit_id))


# ---- helpers ---------------------------------------------------------------------------


def _unit_or_404(unit_id: int) -> Unit:
    unit = unit_for(db.session, current_user, unit_id)
    if unit is None:
        abort(404)
    return unit


def _render_unit(unit: Unit, form: UnitInfoForm, password_form: UnitPasswordForm | None = None) -> str:
    account, locked = unit_admin.account_status(db.session, unit, _now())
    return render_template(
        "units/unit.html",
        unit=unit,
        form=form,
        password_form=password_form or UnitPasswordForm(formdata=None),
        account=account,
        locked=locked,
        missing=unit_admin.missing_fields(unit),
        region_name=regions.full_name(db.session, unit.region_code),
    )


def _initial(unit: Unit) -> dict[str, str]:
    """The unit as the form's fields name it (the region split into province, city and county)."""
    code, level = unit.region_code, unit.level
    keys = ("unit_type", "name", "uscc", "nature", "affiliation", "address", "postcode", "leader")
    return {
        **{key: getattr(unit, key) or "" for key in keys},
        "province": code[:2] + "0000",
        "city": code[:4] + "00" if level in ("city", "county") else "",
        "county": code if level == "county" else "",
    }


def _choices(form: UnitInfoForm, unit: Unit) -> None:
    """The province list, and a blank first choice where the unit's stored value is not one of the options
    (e.g. a 隶属关系 entered before the list existed): saving then asks for a choice instead of quietly
    storing the first option."""
    provinces = regions.children(db.session, None)
    form.province.choices = [SelectChoice("", _("请选择省份")), *(SelectChoice(r.code, r.name) for r in provinces)]
    for field in (form.nature, form.affiliation):
        stored = getattr(unit, field.name) or ""
        if stored not in [choice.value for choice in field.choices]:  # type: ignore[union-attr]
            blank = _("请选择（原为“%(stored)s”）", stored=stored) if stored else _("请选择")
            field.choices = [SelectChoice("", blank), *field.choices]


def _values(form: UnitInfoForm) -> dict[str, str]:
    keys = ("name", "uscc", "unit_type", "nature", "affiliation", "address", "postcode", "leader")
    return {**{k: getattr(form, k).data or "" for k in keys}, "region_code": form.region_code()}


def _filters() -> unit_admin.UnitFilters:
    region, unit_type = request.args.get("region", "").strip(), request.args.get("unit_type", "")
    return unit_admin.UnitFilters(
        text=request.args.get("q", "").strip()[:60],
        region=region if region.isdigit() and len(region) <= 6 else "",
        unit_type=unit_type if unit_type in UNIT_TYPES else "",
    )


def _page() -> int:
    value = request.args.get("page", "")
    return int(value) if value.isdigit() else 1


def _now() -> Any:
    return get_engine().runner.clock()


def _url_with(**changes: Any) -> str:
    args = {**request.args.to_dict(), **changes}
    return url_for("units.list_units", **{k: v for k, v in args.items() if v not in (None, "")})
