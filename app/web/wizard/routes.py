"""The unit's wizard: 办事指南 for its type, starting, its open tasks, 我的申请, an application, 催办, 撤回.

Every route that takes an id loads it through the jurisdiction rules first: another unit's
application or task is not found (404). The engine runner commits its own actions; drafts and
reminders commit here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.engine import get_engine
from app.engine.errors import ConflictError, FormValidationError, NotFoundError, RefusedError, TaskFailure
from app.extensions import db
from app.models import ProcessInstance, WorkItem
from app.models.account import UNIT_ROLE
from app.services import applications, drafts, reminders, unit_applications
from app.services.errors import ServiceRefusal
from app.services.jurisdiction import instance_for, work_item_for
from app.taskforms.render import fields, parse
from app.web.access import current_actor, gate

blueprint = Blueprint("wizard", __name__, url_prefix="/unit")
gate(blueprint, UNIT_ROLE)

DOCUMENT_ENDPOINT = "applications.document"
FAILED = "系统处理该申请时出错，已记录并通知管理员，您填写的内容已保存为草稿，请稍后再试。"


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
    flash(f"已创建申请 {instance.business_key}（{guide.guide.name}）", "success")
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
    key = _business_key(item)
    data = parse(applications.item_schema(db.session, item), request.form)
    now = get_engine().runner.clock()
    if request.form.get("action") == "save":
        drafts.save(db.session, item.task_id, current_user.id, data, now)
        db.session.commit()
        flash("草稿已保存，可稍后继续填写。", "success")
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
        flash(problem.message if not isinstance(problem, TaskFailure) else FAILED, "warning")
        return redirect(url_for("wizard.show_application", business_key=key))
    except NotFoundError:
        abort(404)
    db.session.commit()
    flash(f"已提交，当前状态：{instance.stage}。", "success")
    return redirect(url_for("wizard.show_application", business_key=key))


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
    )


@blueprint.post("/applications/<business_key>/remind")
def remind(business_key: str) -> Response:
    instance = _instance_or_404(business_key)
    try:
        reminders.remind(db.session, instance, current_actor(), current_user.unit.name, get_engine().runner.clock())
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "warning")
    else:
        db.session.commit()
        flash("已催办，审核部门将收到催办通知。", "success")
    return redirect(url_for("wizard.show_application", business_key=business_key))


@blueprint.post("/applications/<business_key>/withdraw")
def withdraw(business_key: str) -> Response:
    instance = _instance_or_404(business_key)
    try:
        get_engine().runner.withdraw(instance.id, current_actor())
    except (RefusedError, ConflictError, TaskFailure) as refusal:
        flash(refusal.message, "warning")
        return redirect(url_for("wizard.show_application", business_key=business_key))
    flash("申请已撤回，可修改后重新提交。", "success")
    item = unit_applications.open_unit_item(db.session, instance.id)
    if item is not None:
        return redirect(url_for("wizard.show_task", item_id=item.id))
    return redirect(url_for("wizard.show_application", business_key=business_key))


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


def _business_key(item: WorkItem) -> str:
    return unit_applications.task_instance(db.session, item).business_key


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
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None
