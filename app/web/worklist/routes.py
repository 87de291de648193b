"""Reviewers (编办, CONAC, 电子政务中心): 待办 of their role and office, the task page, search, 已办.

Every route that takes an item id loads it through the jurisdiction rules first: an item of
another office or role is not found (404). The engine runner commits a completion itself;
claim, release and transfer commit here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.engine import get_engine
from app.engine.errors import ConflictError, FormValidationError, NotFoundError, RefusedError, TaskFailure
from app.extensions import db
from app.models import WorkItem
from app.models.account import REVIEWER_AUDIENCE
from app.services import (
    application_search,
    applications,
    assignment,
    diagrams,
    exports,
    notifications,
    regions,
    task_pages,
    worklist,
)
from app.services.calendar import BEIJING
from app.services.errors import ServiceRefusal
from app.services.jurisdiction import work_item_for
from app.taskforms.render import fields, parse
from app.web import downloads
from app.web.access import current_actor, gate

blueprint = Blueprint("worklist", __name__, url_prefix="/review")
# The query parameters that narrow the 待办 list (an export records those it was made under).
_INBOX_FILTERS = ("procedure", "stage", "region", "submitted_from", "submitted_to", "overdue", "claimed", "sort")
gate(blueprint, audiences=(REVIEWER_AUDIENCE,))
DOCUMENT_ENDPOINT = "applications.document"  # the printed documents the paper check links to


@blueprint.app_template_filter("beijing")
def beijing(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as Beijing wall-clock time."""
    return moment.astimezone(BEIJING).strftime(pattern) if moment else ""


# ---- lists -----------------------------------------------------------------------------


@blueprint.get("/")
def inbox() -> str:
    args = request.args
    filters = _filters(args)
    sort = args.get("sort", worklist.DEFAULT_SORT)
    now = get_engine().runner.clock()
    page = worklist.inbox(db.session, current_user, filters, sort, _page_at(args), now=now)
    notices = notifications.office_notices(db.session, current_user.office_code, now)
    office_region = current_user.office.region_code if current_user.office else None
    return render_template(
        "worklist/inbox.html",
        inbox=page,
        filters=filters,
        sort=sort,
        url_with=_url_with,
        notices=notices,
        region_choices=regions.filter_choices(db.session, office_region),
    )


@blueprint.get("/export.xlsx")
def export_inbox() -> Response:
    """The 待办 list under its filters and sort, as Excel."""
    filters, sort = _filters(request.args), request.args.get("sort", worklist.DEFAULT_SORT)
    now = get_engine().runner.clock()
    rows = worklist.inbox_rows(db.session, current_user, filters, sort, now, current_app.config["EXPORT_MAX_ROWS"])
    shown = {k: v for k, v in request.args.items() if k in _INBOX_FILTERS and v}
    return downloads.excel("待办", [exports.inbox_sheet(rows)], shown)


@blueprint.get("/done")
def done() -> str:
    page = worklist.done(db.session, current_user, _page_at(request.args))
    return render_template("worklist/done.html", done=page, url_with=_url_with)


@blueprint.get("/search")
def search() -> str:
    text = request.args.get("q", "").strip()
    hits = application_search.search(db.session, current_user, text)
    return render_template("worklist/search.html", q=text, hits=hits)


# ---- one task --------------------------------------------------------------------------


@blueprint.get("/tasks/<int:item_id>")
def show_task(item_id: int) -> str:
    return _render_task(_item_or_404(item_id))


@blueprint.post("/tasks/<int:item_id>")
def complete_task(item_id: int) -> str | Response | tuple[str, int]:
    item = _item_or_404(item_id)
    title = item.title  # the row is gone once the task is completed
    data = parse(applications.item_schema(db.session, item), request.form)
    try:
        get_engine().runner.complete(item.task_id, current_actor(), data, _int(request.form.get("expected_version")))
    except FormValidationError as invalid:
        return _render_task(item, data, invalid.errors), 400
    except (ConflictError, RefusedError, TaskFailure) as problem:
        return _after_problem(item_id, data, _problem_text(problem))
    except NotFoundError:
        abort(404)
    flash(_("已提交：%(task)s", task=title), "success")
    return redirect(url_for("worklist.inbox"))


@blueprint.post("/tasks/<int:item_id>/claim")
def claim_task(item_id: int) -> Response:
    _item_or_404(item_id)
    return _act(
        lambda: assignment.claim(db.session, current_user, item_id, request.remote_addr), _("已签收，该任务由您办理")
    )


@blueprint.post("/tasks/<int:item_id>/release")
def release_task(item_id: int) -> Response:
    _item_or_404(item_id)
    return _act(
        lambda: assignment.release(db.session, current_user, item_id, request.remote_addr), _("已释放，同事可签收")
    )


@blueprint.post("/tasks/<int:item_id>/transfer")
def transfer_task(item_id: int) -> Response:
    _item_or_404(item_id)
    colleague = request.form.get("colleague", "")
    return _act(
        lambda: assignment.transfer(db.session, current_user, item_id, colleague, request.remote_addr),
        _("已转办给 %(colleague)s", colleague=colleague),
        url_for("worklist.inbox"),
    )


# ---- helpers ---------------------------------------------------------------------------


def _item_or_404(item_id: int) -> WorkItem:
    """The item if it is open in the user's worklist; otherwise one 404 page for gone and foreign items alike."""
    item = work_item_for(db.session, current_user, item_id)
    if item is None:
        abort(make_response(render_template("worklist/gone.html"), 404))
    return item


def _render_task(
    item: WorkItem, data: dict[str, Any] | None = None, errors: dict[str, str] | None = None, problem: str = ""
) -> str:
    page = task_pages.task_page(db.session, current_user, item)
    return render_template(
        "worklist/task.html",
        page=page,
        form_fields=fields(page.schema, page.values if data is None else data, errors),
        invalid=bool(errors),
        form_error=errors.get("") if errors else None,
        problem=problem,
        business_key=page.instance.business_key,
        progress_overview=diagrams.overview(db.session, page.instance),
        timeline=page.timeline,
        now=get_engine().runner.clock(),
        document_links=DOCUMENT_ENDPOINT in current_app.view_functions,
    )


def _after_problem(item_id: int, data: dict[str, Any], message: str) -> Response | tuple[str, int]:
    """Show a conflict or refusal above the form; if the task is gone meanwhile, back to the list."""
    item = work_item_for(db.session, current_user, item_id)
    if item is None:
        flash(message, "error")
        return redirect(url_for("worklist.inbox"))
    return _render_task(item, data, problem=message), 409


def _problem_text(problem: Exception) -> str:
    if isinstance(problem, TaskFailure):
        return _("系统处理该任务时出错，申请已标记为异常并通知管理员，请稍后查看。")
    return str(getattr(problem, "message", problem))


def _act(action: Callable[[], object], success: str, target: str | None = None) -> Response:
    """Run a claim/release/transfer: commit and confirm, or roll back and show the refusal."""
    item_id = (request.view_args or {})["item_id"]
    try:
        action()
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        still_open = work_item_for(db.session, current_user, item_id) is not None
        return redirect(url_for("worklist.show_task", item_id=item_id) if still_open else url_for("worklist.inbox"))
    db.session.commit()
    flash(success, "success")
    return redirect(target or url_for("worklist.show_task", item_id=item_id))


def _filters(args: MultiDict[str, str]) -> worklist.InboxFilters:
    claimed = args.get("claimed", "")
    return worklist.InboxFilters(
        procedure=args.get("procedure", "").strip(),
        stage=args.get("stage", "").strip(),
        region=args.get("region", "").strip() if args.get("region", "").strip().isdigit() else "",
        submitted_from=_date(args.get("submitted_from")),
        submitted_to=_date(args.get("submitted_to")),
        overdue=args.get("overdue") == "1",
        claimed=claimed if claimed in worklist.CLAIM_FILTERS else "",
    )


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: str | None, default: int | None = None) -> int | None:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _page_at(args: MultiDict[str, str]) -> worklist.PageAt:
    """The page asked for: its number, and the cursor of the page before when "下一页" led here."""
    return worklist.PageAt(_int(args.get("page"), 1), args.get("after", "")[:200])


def _url_with(**changes: Any) -> str:
    """The current list URL with some query parameters changed (empty values dropped)."""
    args = {**request.args.to_dict(), "after": None, **changes}  # a cursor holds only for the "下一页" link
    return url_for(request.endpoint or "worklist.inbox", **{k: v for k, v in args.items() if v not in (None, "")})
