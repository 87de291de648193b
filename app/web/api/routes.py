"""REST API /api/v1 (docs/api.md, the OpenAPI document in spec.py): every route in this file.

Each route does what its page does, through the same services: the same jurisdiction (another unit's or
office's record is a 404, audited), the same form validation (the engine's, with its Chinese messages),
the same audit events. Reviewers' actions are the 待办 page's; units' are the wizard's and 到期域名查询's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import lazy_gettext as _l

from app.engine import get_engine
from app.engine.errors import ConflictError, EngineError, FormValidationError, NotFoundError, RefusedError
from app.extensions import db
from app.models import ProcessInstance, User, WorkItem
from app.models.account import BIANBAN_ROLE, REVIEWER_AUDIENCE, UNIT_ROLE
from app.services import (
    applications,
    assignment,
    badges,
    domain_query,
    renewal_requests,
    task_pages,
    unit_applications,
    worklist,
)
from app.services.errors import ServiceRefusal
from app.services.jurisdiction import instance_for, work_item_for
from app.web.api import params, reference, spec, views
from app.web.api.auth import api_actor, api_user, init_api_auth, require_audience, require_role
from app.web.api.errors import ApiError, init_api_errors, json_response

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = ("api.openapi", "api.docs")
init_api_errors(blueprint)
init_api_auth(blueprint, PUBLIC_ENDPOINTS)
NOT_FOUND = _l("没有找到该对象，或您无权查看")
BUSINESS_KEY_SHAPE = re.compile(r"[A-Za-z0-9-]{1,20}")  # YM2026000001, or draft-… before it is submitted


# ---- the document ----------------------------------------------------------------------------


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return json_response(spec.document())


@blueprint.get("/docs")
def docs() -> str:
    return render_template("api/docs.html", reference=reference.reference(spec.document()))


@blueprint.get("/me")
def me() -> Response:
    return json_response(views.user_json(api_user()))


# ---- work items (待办) -----------------------------------------------------------------------


@blueprint.get("/work-items")
def list_work_items() -> Response:
    filters, sort = params.inbox_filters()
    page, size = params.page_and_size()
    now = get_engine().runner.clock()
    return json_response(views.inbox_json(worklist.inbox(db.session, api_user(), filters, sort, page, size, now=now)))


@blueprint.get("/work-items/<int:item_id>")
def show_work_item(item_id: int) -> Response:
    item = _item_or_404(item_id)
    return json_response(_item_detail(item))


@blueprint.post("/work-items/<int:item_id>/claim")
def claim_work_item(item_id: int) -> Response:
    require_audience(REVIEWER_AUDIENCE)
    _item_or_404(item_id)
    return _assign(item_id, lambda user, ip: assignment.claim(db.session, user, item_id, ip))


@blueprint.post("/work-items/<int:item_id>/release")
def release_work_item(item_id: int) -> Response:
    require_audience(REVIEWER_AUDIENCE)
    _item_or_404(item_id)
    return _assign(item_id, lambda user, ip: assignment.release(db.session, user, item_id, ip))


@blueprint.post("/work-items/<int:item_id>/complete")
def complete_work_item(item_id: int) -> Response:
    item = _item_or_404(item_id)
    payload = params.body()
    data = params.form_data(payload, "data", applications.item_schema(db.session, item))
    version = params.optional_int(payload, "expected_version")
    instance_id = item.instance_id
    if api_user().role == UNIT_ROLE:
        _submit_unit_task(item, data, version)
    else:
        _engine_action(lambda: get_engine().runner.complete(item.task_id, api_actor(), data, version))
    return _application(db.session.get(ProcessInstance, instance_id))


# ---- applications ----------------------------------------------------------------------------


@blueprint.post("/applications")
def start_application() -> Response:
    """As the wizard's 立即申请: with the start form's data, or an application whose first form is its draft."""
    require_role(UNIT_ROLE)
    payload = params.body()
    unit = api_user().unit
    guide = unit_applications.guide_for(db.session, unit, str(payload.get("procedure", "")))
    if guide is None:
        raise ApiError(404, "procedure_not_found", _l("没有该办理事项，或您的单位类型不能办理"))
    data = params.form_data(payload, "data", guide.start_schema)
    runner = get_engine().runner
    instance = _engine_action(lambda: runner.start(guide.guide.process_id, unit.id, api_actor(), data))
    return _application(instance, 201)


@blueprint.get("/applications/<business_key>")
def show_application(business_key: str) -> Response:
    return _application(_instance_or_404(business_key))


@blueprint.get("/applications/<business_key>/history")
def application_history(business_key: str) -> Response:
    instance = _instance_or_404(business_key)
    events = applications.timeline(db.session, instance.id)
    return json_response({"business_key": instance.business_key, "events": views.history_json(api_user(), events)})


# ---- domains ---------------------------------------------------------------------------------


@blueprint.get("/domains")
def query_domains() -> Response:
    require_role(UNIT_ROLE, BIANBAN_ROLE)
    filters = params.domain_filters(api_user().role)
    page, size = params.page_and_size()
    return json_response(views.domains_json(domain_query.query(db.session, api_user(), filters, page, size)))


@blueprint.post("/domains/renewals")
def renew_domains() -> Response:
    """As 到期域名查询's 续费: the ticked domains of one unit and the years; a 编办 renews for its units."""
    require_role(UNIT_ROLE, BIANBAN_ROLE)
    data = params.form_data(params.body(), "data", renewal_requests.start_schema(db.session))
    instance = _engine_action(lambda: renewal_requests.submit(db.session, api_user(), api_actor(), data))
    return _application(instance, 201)


# ---- certificates ----------------------------------------------------------------------------


@blueprint.get("/certificates/<reference>")
def show_certificate(reference: str) -> Response:
    """By public id or 标识编号: what the public 标识证书 page shows, so no jurisdiction applies."""
    certificate = badges.by_public_id(db.session, reference) or badges.by_code(db.session, reference)
    if certificate is None:
        raise ApiError(404, "not_found", _l("没有找到该网上名称《标识证书》"))
    return json_response(views.certificate_json(db.session, certificate))


# ---- helpers ---------------------------------------------------------------------------------


def _item_or_404(item_id: int) -> WorkItem:
    item = work_item_for(db.session, api_user(), item_id) if item_id <= spec.MAX_ID else None
    if item is None:
        raise ApiError(404, "not_found", NOT_FOUND)
    return item


def _instance_or_404(business_key: str) -> ProcessInstance:
    shaped = BUSINESS_KEY_SHAPE.fullmatch(business_key) is not None  # nothing else is looked up
    instance = instance_for(db.session, api_user(), business_key) if shaped else None
    if instance is None:
        raise ApiError(404, "not_found", NOT_FOUND)
    return instance


def _item_detail(item: WorkItem) -> dict[str, Any]:
    """The item with its form (JSON Schema) and what the task page shows beside it."""
    user, instance = api_user(), db.session.get(ProcessInstance, item.instance_id)
    assert instance is not None  # a work item always belongs to an instance
    overdue = item.due_at is not None and item.due_at < get_engine().runner.clock()
    detail = views.work_item_json(item, views.ItemContext.of(instance), overdue)
    if user.role == UNIT_ROLE:
        page = unit_applications.task_page(db.session, user, item)
        extra = {"instructions": page.instructions, "values": page.values, "reason": page.reason or None}
        return {**detail, **extra, "form_schema": page.schema, "version": instance.version}
    review = task_pages.task_page(db.session, user, item)
    sections = [{"title": s.title, "rows": [{"label": k, "value": v} for k, v in s.rows]} for s in review.sections]
    extra = {"instructions": review.instructions, "values": review.values, "sections": sections}
    return {**detail, **extra, "form_schema": review.schema, "version": instance.version}


def _assign(item_id: int, action: Callable[[User, str | None], object]) -> Response:
    """签收 or 释放: committed here like the page; losing a race is a 409 with the page's words."""
    try:
        action(api_user(), request.remote_addr)
    except ServiceRefusal as refusal:
        db.session.rollback()
        raise ApiError(409, "claim_conflict", refusal.message) from refusal
    db.session.commit()
    return json_response(_item_detail(_item_or_404(item_id)))


def _submit_unit_task(item: WorkItem, data: dict[str, Any], version: int | None) -> None:
    """The wizard's 提交: what is refused stays as the draft, as on the page."""
    user, now = api_user(), get_engine().runner.clock()
    try:
        unit_applications.submit(db.session, item, api_actor(), user.id, data, version, now)
    except unit_applications.SubmissionHeld as held:
        db.session.commit()
        if held.errors:
            raise ApiError(422, "validation_failed", _l("表单内容有误"), held.errors) from held
        message = _l("部分内容已按规范改写，请核对后按改写后的值重新提交")
        raise ApiError(422, "confirm_normalised", message, held.notes) from held
    except EngineError as problem:
        db.session.commit()  # the draft keeps what was sent
        raise _engine_error(problem) from problem
    db.session.commit()


def _engine_action(action: Callable[[], Any]) -> Any:
    """Run an engine action (the runner commits or rolls back itself); its refusals as the API's errors."""
    try:
        return action()
    except EngineError as problem:
        raise _engine_error(problem) from problem


def _engine_error(problem: EngineError) -> ApiError:
    if isinstance(problem, FormValidationError):
        return ApiError(422, "validation_failed", _l("表单内容有误"), problem.errors)
    if isinstance(problem, ConflictError):
        return ApiError(409, "conflict", problem.message)
    if isinstance(problem, RefusedError):
        return ApiError(409, "refused", problem.message)
    if isinstance(problem, NotFoundError):
        return ApiError(404, "not_found", NOT_FOUND)
    return ApiError(500, "task_failed", problem.message)  # TaskFailure: marked 异常, the admin is told


def _application(instance: ProcessInstance | None, status: int = 200) -> Response:
    if instance is None:  # an application the unit gave up meanwhile
        raise ApiError(404, "not_found", NOT_FOUND)
    db.session.refresh(instance)
    page = unit_applications.application_page(db.session, instance, get_engine().runner.clock())
    return json_response(views.application_json(db.session, api_user(), page), status)
