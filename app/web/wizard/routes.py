"""The unit's wizard: 办事指南 for its type, starting, its open tasks, 我的申请, an application, 催办, 撤回, 放弃.

Every route that takes an id loads it through the jurisdiction rules first: another unit's
application or task is not found (404). The engine runner commits its own actions; drafts and
reminders commit here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from app.engine import get_engine
from app.engine.errors import ConflictError, FormValidationError, NotFoundError, RefusedError, TaskFailure
from app.extensions import db
from app.models import Contact, DnsRecord, ProcessInstance, WorkItem
from app.models.account import UNIT_ROLE
from app.models.workflow import ABANDONED
from app.services import (
    applications,
    dns,
    drafts,
    payments,
    regions,
    reminders,
    unit_applications,
    unit_domains,
    unit_profile,
)
from app.services.errors import ServiceRefusal
from app.services.jurisdiction import instance_for, work_item_for
from app.taskforms.render import fields, parse
from app.web.access import current_actor, gate
from app.web.wizard.forms import ContactForm, UnitProfileForm

blueprint = Blueprint("wizard", __name__, url_prefix="/unit")
gate(blueprint, UNIT_ROLE)

DOCUMENT_ENDPOINT = "applications.document"
# The procedures 我的域名 leads to: a record's review (域名解析) and renewal.
DNS_PROCESS, RENEWAL_PROCESS = "dns_record", "domain_renewal"
FAILED = _l("系统处理该申请时出错，已记录并通知管理员，您填写的内容已保存为草稿，请稍后再试。")


# ---- 办事指南 and starting ---------------------------------------------------------------


@blueprint.get("/")
def home() -> str:
    return render_template("wizard/home.html", guides=unit_applications.guides_for(db.session, current_user.unit))


@blueprint.get("/start/<process_id>")
def show_start(process_id: str) -> str:
    return _render_start(_guide_or_404(process_id))


@blueprint.post("/start/<process_id>")
def start_application(process_id: str) -> Response | tuple[str, int]:
    guide = _guide_or_404(process_id)
    data = parse(guide.start_schema, request.form) if guide.start_form else {}
    try:
        instance = get_engine().runner.start(process_id, current_user.unit_id, current_actor(), data)
    except FormValidationError as invalid:
        return _render_start(guide, data, invalid.errors), 400
    except (RefusedError, TaskFailure) as refusal:
        flash(refusal.message, "warning")
        return redirect(url_for("wizard.home"))
    flash(_created(instance, guide.guide.name), "success")
    item = unit_applications.open_unit_item(db.session, instance.id)
    if item is not None:
        return redirect(url_for("wizard.show_task", item_id=item.id))
    return redirect(url_for("wizard.show_application", business_key=instance.business_key))


# ---- the unit's open task ----------------------------------------------------------------


@blueprint.get("/tasks/<int:item_id>")
def show_task(item_id: int) -> str:
    return _render_task(_item_or_404(item_id))


@blueprint.post("/tasks/<int:item_id>")
def submit_task(item_id: int) -> Response | tuple[str, int]:
    item = _item_or_404(item_id)
    instance_id = item.instance_id  # its key changes when the first submission numbers it
    schema = applications.item_schema(db.session, item)
    data = parse(schema, request.form)
    if request.form.get("contact_id"):  # 选择联系人: the chosen contact's details replace what was typed
        data = unit_applications.with_contact(current_user.unit, schema, data, request.form["contact_id"])
    now = get_engine().runner.clock()
    if request.form.get("action") == "save":
        drafts.save(db.session, item.task_id, current_user.id, data, now)
        db.session.commit()
        flash(_("草稿已保存，可稍后继续填写。"), "success")
        return redirect(url_for("wizard.show_task", item_id=item_id))
    version = _int(request.form.get("expected_version"))
    try:
        instance = unit_applications.submit(db.session, item, current_actor(), current_user.id, data, version, now)
    except unit_applications.SubmissionHeld as held:
        db.session.commit()  # the draft keeps the data as it will be stored
        return _render_task(_item_or_404(item_id), held.errors, held.notes), 400 if held.errors else 200
    except FormValidationError as invalid:
        db.session.commit()  # the draft keeps what was typed
        return _render_task(_item_or_404(item_id), invalid.errors), 400
    except (ConflictError, RefusedError, TaskFailure) as problem:
        db.session.commit()
        flash(problem.message if not isinstance(problem, TaskFailure) else str(FAILED), "warning")
        return redirect(_application_url(instance_id))
    except NotFoundError:
        abort(404)
    db.session.commit()
    flash(_("已提交，当前状态：%(stage)s。", stage=instance.stage), "success")
    return redirect(_application_url(instance_id))


# ---- 我的申请 and one application --------------------------------------------------------


@blueprint.get("/applications")
def my_applications() -> str:
    page = unit_applications.list_page(
        db.session, current_user.unit_id, _int(request.args.get("page")) or 1, current_app.config["PAGE_SIZE"]
    )
    return render_template("wizard/applications.html", page=page)


@blueprint.get("/applications/<business_key>")
def show_application(business_key: str) -> str:
    instance = _instance_or_404(business_key)
    page = unit_applications.application_page(db.session, instance, get_engine().runner.clock())
    return render_template(
        "wizard/application.html",
        page=page,
        business_key=business_key,
        timeline=page.timeline,
        documents=page.documents_available and DOCUMENT_ENDPOINT in current_app.view_functions,
        payee=payments.payee(db.session, instance.unit, current_app.config) if page.bill else None,
    )


@blueprint.post("/applications/<business_key>/remind")
def remind(business_key: str) -> Response:
    instance = _instance_or_404(business_key)
    now = get_engine().runner.clock()
    try:
        state = reminders.remind(db.session, instance, current_actor(), current_user.unit.name, now)
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "warning")
    else:
        offices = "、".join(reminders.office_names(db.session, state)) or _("审核部门")
        db.session.commit()
        flash(_("已催办，%(offices)s的审核人员将在消息中心收到催办通知。", offices=offices), "success")
    return redirect(url_for("wizard.show_application", business_key=business_key))


@blueprint.post("/applications/<business_key>/withdraw")
def withdraw(business_key: str) -> Response:
    instance = _instance_or_404(business_key)
    try:
        get_engine().runner.withdraw(instance.id, current_actor())
    except (RefusedError, ConflictError, TaskFailure) as refusal:
        flash(refusal.message, "warning")
        return redirect(url_for("wizard.show_application", business_key=business_key))
    flash(_("申请已撤回，可修改后重新提交。"), "success")
    item = unit_applications.open_unit_item(db.session, instance.id)
    if item is not None:
        return redirect(url_for("wizard.show_task", item_id=item.id))
    return redirect(url_for("wizard.show_application", business_key=business_key))


@blueprint.post("/applications/<business_key>/abandon")
def abandon(business_key: str) -> Response:
    """放弃 an application not submitted yet: it leaves 我的申请 with its drafts; the audit trail keeps it."""
    instance = _instance_or_404(business_key)
    try:
        get_engine().runner.abandon(instance.id, current_actor())
    except (RefusedError, ConflictError, TaskFailure) as refusal:
        flash(refusal.message, "warning")
        return redirect(_application_url(instance.id))
    flash(_("已放弃该申请，填写的内容已一并删除。"), "success")
    return redirect(url_for("wizard.my_applications"))


# ---- 我的域名 and 域名解析 ------------------------------------------------------------------


@blueprint.get("/domains")
def my_domains() -> str:
    domains = unit_domains.domains_of(db.session, current_user.unit_id)
    return render_template("wizard/domains.html", domains=domains, renewal=RENEWAL_PROCESS)


@blueprint.get("/domains/<int:domain_id>")
def show_domain(domain_id: int) -> str:
    view = _domain_or_404(domain_id)
    offer = dns.www_offer(db.session, domain_id, _int(request.args.get("offer")) or 0)
    return _render_domain(view, offer=offer)


@blueprint.post("/domains/<int:domain_id>/dns")
def add_dns_record(domain_id: int) -> Response | tuple[str, int]:
    """Submit one record: it starts the review procedure, whose first step records it as pending."""
    view = _domain_or_404(domain_id)
    guide = _guide_or_404(DNS_PROCESS)
    data = {**parse(guide.start_schema, request.form), "record_domain": view.domain.name}
    try:
        instance = get_engine().runner.start(DNS_PROCESS, current_user.unit_id, current_actor(), data)
    except FormValidationError as invalid:
        return _render_domain(view, data, invalid.errors), 400
    except (RefusedError, TaskFailure) as refusal:
        flash(refusal.message, "warning")
        return redirect(url_for("wizard.show_domain", domain_id=domain_id))
    flash(_("解析记录已提交（申请编号 %(key)s），经同级编办审核通过后生效。", key=instance.business_key), "success")
    record = dns.record_of_application(db.session, instance.id)
    offer = record.id if record is not None and record.host == "@" else None
    return redirect(url_for("wizard.show_domain", domain_id=domain_id, offer=offer))


@blueprint.post("/domains/<int:domain_id>/dns/<int:record_id>/remove")
def remove_dns_record(domain_id: int, record_id: int) -> Response:
    _domain_or_404(domain_id)
    try:
        dns.remove(db.session, current_user.unit_id, record_id, current_actor(), get_engine().runner.clock())
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "warning")
    else:
        db.session.commit()
        flash(_("解析记录已删除，将从下一次发布的区域文件中去掉。"), "success")
    return redirect(url_for("wizard.show_domain", domain_id=domain_id))


def _domain_or_404(domain_id: int) -> unit_domains.DomainView:
    view = unit_domains.domain_of(db.session, current_user.unit_id, domain_id)
    if view is None:
        abort(404)
    return view


def _render_domain(
    view: unit_domains.DomainView,
    data: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    offer: DnsRecord | None = None,
) -> str:
    guide = unit_applications.guide_for(db.session, current_user.unit, DNS_PROCESS)
    schema = guide.start_schema if guide else {}
    shown = [f for f in fields(schema, data, errors) if f.name != "record_domain"]  # the page is the domain's
    problem = (errors or {}).get("record_domain") or (errors or {}).get("")
    return render_template(
        "wizard/domain.html",
        view=view,
        form_fields=shown if view.domain.status == dns.PUBLISHED_DOMAIN_STATUS and guide else [],
        form_error=problem,
        offer=offer,
        type_labels=dns.TYPE_LABELS,
        renewal=RENEWAL_PROCESS,
    )


# ---- 单位信息 and contacts ---------------------------------------------------------------


@blueprint.route("/profile", methods=["GET", "POST"])
def profile() -> str | Response | tuple[str, int]:
    unit = current_user.unit
    form = UnitProfileForm(obj=unit)
    if form.validate_on_submit():
        fields_ = unit_profile.ProfileFields(form.address.data, form.postcode.data or "", form.leader.data)
        changed = unit_profile.update_profile(db.session, unit, fields_, current_actor())
        db.session.commit()
        flash(_("单位信息已保存。") if changed else _("单位信息没有变化。"), "success")
        return redirect(url_for("wizard.profile"))
    region = regions.full_name(db.session, unit.region_code) or unit.region_code
    page = render_template("wizard/profile.html", unit=unit, form=form, region=region)
    return (page, 400) if request.method == "POST" else page


@blueprint.route("/contacts/new", methods=["GET", "POST"])
def add_contact() -> str | Response | tuple[str, int]:
    form = ContactForm()
    if form.validate_on_submit():
        try:
            unit_profile.add_contact(db.session, current_user.unit, _contact_fields(form), current_actor())
        except ServiceRefusal as refusal:
            db.session.rollback()
            getattr(form, refusal.field or "name").errors.append(refusal.message)
        else:
            db.session.commit()
            flash(_("已添加联系人 %(name)s。", name=form.name.data), "success")
            return redirect(url_for("wizard.profile"))
    return _render_contact(form, None)


@blueprint.route("/contacts/<int:contact_id>", methods=["GET", "POST"])
def edit_contact(contact_id: int) -> str | Response | tuple[str, int]:
    form = ContactForm(obj=_contact_or_404(contact_id))
    if form.validate_on_submit():
        try:
            fields_ = _contact_fields(form)
            unit_profile.update_contact(db.session, current_user.unit, contact_id, fields_, current_actor())
        except ServiceRefusal as refusal:
            db.session.rollback()
            getattr(form, refusal.field or "name").errors.append(refusal.message)
        else:
            db.session.commit()
            flash(_("联系人 %(name)s 的信息已保存。", name=form.name.data), "success")
            return redirect(url_for("wizard.profile"))
    return _render_contact(form, contact_id)


@blueprint.post("/contacts/<int:contact_id>/remove")
def remove_contact(contact_id: int) -> Response:
    contact = _contact_or_404(contact_id)
    name = contact.name
    try:
        unit_profile.remove_contact(db.session, current_user.unit, contact_id, current_actor())
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "warning")
    else:
        db.session.commit()
        flash(_("已删除联系人 %(name)s。", name=name), "success")
    return redirect(url_for("wizard.profile"))


def _contact_or_404(contact_id: int) -> Contact:
    try:
        return unit_profile.contact_of(current_user.unit, contact_id)
    except ServiceRefusal:
        abort(404)


def _contact_fields(form: ContactForm) -> unit_profile.ContactFields:
    return unit_profile.ContactFields(form.name.data, form.mobile.data, form.email.data, form.phone.data or "")


def _render_contact(form: ContactForm, contact_id: int | None) -> str | tuple[str, int]:
    page = render_template("wizard/contact.html", form=form, contact_id=contact_id)
    return (page, 400) if request.method == "POST" else page


# ---- helpers -----------------------------------------------------------------------------


def _guide_or_404(process_id: str) -> unit_applications.UnitGuide:
    guide = unit_applications.guide_for(db.session, current_user.unit, process_id)
    if guide is None:
        abort(404)
    return guide


def _item_or_404(item_id: int) -> WorkItem:
    item = work_item_for(db.session, current_user, item_id)
    if item is None:
        abort(404)
    return item


def _instance_or_404(business_key: str) -> ProcessInstance:
    instance = instance_for(db.session, current_user, business_key)
    if instance is None:
        abort(404)
    return instance


def _application_url(instance_id: int) -> str:
    """The application's page under its current key, or 我的申请 once the unit has given it up."""
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None or instance.status == ABANDONED:
        return url_for("wizard.my_applications")
    return url_for("wizard.show_application", business_key=instance.business_key)


def _created(instance: ProcessInstance, procedure: str) -> str:
    if instance.numbered:  # its start form was the submission (e.g. 域名续费)
        return _("已创建申请 %(key)s（%(procedure)s）", key=instance.business_key, procedure=procedure)
    return _("已创建申请（%(procedure)s）。提交后分配申请编号；提交前可随时放弃。", procedure=procedure)


def _render_start(
    guide: unit_applications.UnitGuide, data: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> str:
    schema = guide.start_schema
    choices = unit_applications.form_choices(db.session, current_user.unit, {})
    return render_template(
        "wizard/start.html",
        guide=guide.guide,
        form_fields=fields(schema, data, errors, choices),
        form_error=(errors or {}).get(""),
    )


def _render_task(item: WorkItem, errors: dict[str, str] | None = None, notes: dict[str, str] | None = None) -> str:
    page = unit_applications.task_page(db.session, current_user, item)
    return render_template(
        "wizard/task.html",
        page=page,
        form_fields=fields(page.schema, page.values, errors, page.choices, notes),
        form_error=(errors or {}).get(""),
        documents=page.paper is not None and DOCUMENT_ENDPOINT in current_app.view_functions,
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None
