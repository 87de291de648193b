"""网上名称管理 for units and their 编办: 到期域名查询 with renewal of several domains, 待缴费 with 消费变更,
the 编办's 冻结/解冻/删除 of a domain, and the Excel exports of these lists.

A unit sees its own domains and fees, a 编办 those of the units it answers for; any other domain
or application is not found (404, audited). Renewals are committed by the engine runner; the other
actions commit here, each with its audit record.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.engine import get_engine
from app.engine.errors import FormValidationError, RefusedError, TaskFailure
from app.extensions import db
from app.models import Domain, ProcessInstance
from app.models.account import BIANBAN_ROLE, UNIT_ROLE
from app.models.domain import STATUS_LABELS
from app.services import domain_lifecycle, domain_query, exports, payments, renewal_requests
from app.services.billing import change_years as change_fee_years
from app.services.calendar import to_beijing_date
from app.services.errors import ServiceRefusal
from app.services.jurisdiction import instance_for, unit_for
from app.services.renewals import open_renewal
from app.taskforms.render import parse
from app.web import downloads
from app.web.access import current_actor, gate
from app.web.domains.forms import ReasonForm

blueprint = Blueprint("domains", __name__, url_prefix="/domains")
gate(blueprint, UNIT_ROLE, BIANBAN_ROLE)


class DomainAction(NamedTuple):
    """A 编办 action's words: whole phrases, so each language can order them its own way."""

    heading: LazyString
    button: LazyString
    done: LazyString  # with %(name)s, the domain


DOMAIN_ACTIONS = {
    "freeze": DomainAction(_l("冻结域名"), _l("确认冻结"), _l("域名 %(name)s 已冻结。")),
    "unfreeze": DomainAction(_l("解冻域名"), _l("确认解冻"), _l("域名 %(name)s 已解冻。")),
    "delete": DomainAction(_l("删除域名"), _l("确认删除"), _l("域名 %(name)s 已删除。")),
}


# ---- 到期域名查询 and renewal ---------------------------------------------------------------


@blueprint.get("/")
def query() -> str:
    return _render_query(_filters(request.args))


@blueprint.post("/renew")
def renew() -> Response | tuple[str, int]:
    filters = _filters(request.args)
    data = parse(renewal_requests.start_schema(db.session), request.form)
    try:
        instance = renewal_requests.submit(db.session, current_user, current_actor(), data)
    except FormValidationError as invalid:
        return _render_query(filters, data, invalid.errors), 400
    except (RefusedError, TaskFailure) as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("domains.query", **filters.as_dict()))
    flash(
        _("已提交续费申请 %(key)s，当前状态：%(stage)s。", key=instance.business_key, stage=instance.stage), "success"
    )
    return redirect(_after_renewal(instance))


@blueprint.get("/export.xlsx")
def export_domains() -> Response:
    filters = _filters(request.args)
    rows = domain_query.rows_for(db.session, current_user, filters, limit=current_app.config["EXPORT_MAX_ROWS"])
    return downloads.excel("到期域名查询", [exports.domain_sheet(rows)], filters.as_dict())


# ---- one domain: 冻结, 解冻, 删除 (编办) -------------------------------------------------------


@blueprint.get("/<int:domain_id>")
def show_domain(domain_id: int) -> str:
    return _render_domain(_managed_domain_or_404(domain_id))


@blueprint.post("/<int:domain_id>/<action>")
def change_domain(domain_id: int, action: str) -> Response | tuple[str, int]:
    domain = _managed_domain_or_404(domain_id)
    if action not in DOMAIN_ACTIONS:
        abort(404)
    form = ReasonForm()
    if not form.validate():
        return _render_domain(domain, form, action), 400
    try:
        _apply(domain, action, form.reason.data)
    except ServiceRefusal as refusal:
        db.session.rollback()
        form.reason.errors = [*form.reason.errors, refusal.message]
        return _render_domain(domain, form, action), 400
    db.session.commit()
    flash(str(DOMAIN_ACTIONS[action].done) % {"name": domain.name}, "success")
    return redirect(url_for("domains.show_domain", domain_id=domain_id))


def _apply(domain: Domain, action: str, reason: str) -> None:
    actor = current_actor()
    if action == "freeze":
        domain_lifecycle.freeze(db.session, domain, reason, actor)
    elif action == "unfreeze":
        today, grace = get_engine().runner.clock(), int(current_app.config["DOMAIN_GRACE_DAYS"])
        domain_lifecycle.unfreeze(db.session, domain, reason, actor, to_beijing_date(today), grace)
    else:
        domain_lifecycle.delete(db.session, domain, reason, actor)


# ---- 待缴费 and 消费变更 ---------------------------------------------------------------------


@blueprint.get("/unpaid")
def unpaid() -> str:
    return _render_unpaid()


@blueprint.post("/unpaid/<business_key>/years")
def change_years(business_key: str) -> Response | tuple[str, int]:
    if current_user.role != BIANBAN_ROLE:
        abort(403)
    instance = _bianban_instance_or_404(business_key)
    years = request.form.get("years", "").strip()
    try:
        if not years.isdigit():
            raise ServiceRefusal(_("缴费年限须为1至10的整数"), field="years")
        total = change_fee_years(db.session, instance.id, int(years), current_actor())
    except ServiceRefusal as refusal:
        db.session.rollback()
        return _render_unpaid({business_key: refusal.message}, {business_key: years}), 400
    db.session.commit()
    flash(
        _("申请 %(key)s 已变更为 %(years)s 年，应缴金额 %(total)s 元。", key=business_key, years=years, total=total),
        "success",
    )
    return redirect(url_for("domains.unpaid", page=request.args.get("page")))


@blueprint.get("/unpaid/export.xlsx")
def export_unpaid() -> Response:
    rows = payments.unpaid_rows(db.session, current_user, limit=current_app.config["EXPORT_MAX_ROWS"])
    return downloads.excel("待缴费", [exports.unpaid_sheet(rows)], {})


# ---- helpers ---------------------------------------------------------------------------


def _render_query(
    filters: domain_query.DomainFilters, data: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> str:
    page = domain_query.query(
        db.session, current_user, filters, _int(request.args.get("page"), 1), current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "domains/query.html",
        page=page,
        filters=filters,
        statuses=[(s, STATUS_LABELS[s]) for s in domain_query.QUERY_STATUSES],
        suffixes=domain_query.SUFFIXES,
        chosen=set((data or {}).get("domains", [])),
        years=(data or {}).get("years", 1),
        errors=errors or {},
        url_with=_url_with,
    )


def _render_domain(domain: Domain, form: ReasonForm | None = None, action: str = "") -> str:
    return render_template(
        "domains/domain.html",
        domain=domain,
        unit=unit_for(db.session, current_user, domain.unit_id),
        renewal=open_renewal(db.session, domain.id) or "",
        form=form or ReasonForm(formdata=None),
        action=action,
        actions=DOMAIN_ACTIONS,
    )


def _render_unpaid(errors: dict[str, str] | None = None, typed: dict[str, str] | None = None) -> str:
    page = payments.unpaid(db.session, current_user, _int(request.args.get("page"), 1), current_app.config["PAGE_SIZE"])
    return render_template("domains/unpaid.html", page=page, errors=errors or {}, typed=typed or {}, url_with=_url_with)


def _managed_domain_or_404(domain_id: int) -> Domain:
    """A domain of a unit the 编办 answers for; units manage theirs under 我的域名."""
    if current_user.role != BIANBAN_ROLE:
        abort(403)
    domain = db.session.get(Domain, domain_id)
    if domain is None or unit_for(db.session, current_user, domain.unit_id) is None:
        abort(404)
    return domain


def _bianban_instance_or_404(business_key: str) -> ProcessInstance:
    instance = instance_for(db.session, current_user, business_key)
    if instance is None or unit_for(db.session, current_user, instance.unit_id) is None:
        abort(404)
    return instance


def _after_renewal(instance: ProcessInstance) -> str:
    """The 编办 goes on to 确认收费; the unit sees its application with the amount due."""
    item = renewal_requests.open_item(db.session, current_user, instance.id)
    if current_user.role == BIANBAN_ROLE and item is not None:
        return url_for("worklist.show_task", item_id=item.id)
    if current_user.role == UNIT_ROLE:
        return url_for("wizard.show_application", business_key=instance.business_key)
    return url_for("domains.query")


def _filters(args: MultiDict[str, str]) -> domain_query.DomainFilters:
    region = args.get("region", "").strip()
    suffix, status = args.get("suffix", ""), args.get("status", "")
    return domain_query.DomainFilters(
        expires_from=_date(args.get("expires_from")),
        expires_to=_date(args.get("expires_to")),
        region=region if region.isdigit() and len(region) <= 6 and current_user.role == BIANBAN_ROLE else "",
        suffix=suffix if suffix in domain_query.SUFFIXES else "",
        status=status if status in domain_query.QUERY_STATUSES else "",
        text=args.get("q", "").strip()[:60],
    )


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _url_with(**changes: Any) -> str:
    """The current list with some query parameters changed; a refused renewal's page links to the query."""
    args = {**request.args.to_dict(), **changes}
    endpoint = {"domains.renew": "domains.query", "domains.change_years": "domains.unpaid"}.get(
        request.endpoint or "", request.endpoint or "domains.query"
    )
    return url_for(endpoint, **{k: v for k, v in args.items() if v not in (None, "")})
