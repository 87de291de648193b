"""The policy studio (role 政策): procedures and their versions, the editor, compare, roll back.

Pages render on the server; the editor talks to the JSON routes below (draft, check, deploy,
previews, 试跑 on past applications). Routes that receive a whole procedure raise the request size
limit to the diagram limit plus the files; every other request keeps the app's limit. Migration of
running applications is plain forms: choose, dry run (试算), migrate, undo.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.engine import get_engine
from app.engine.context import CONTEXT_NAMES
from app.engine.errors import DeployError, EngineError
from app.engine.scripting import HELPER_NAMES
from app.extensions import db
from app.models import WorkflowDefinition
from app.models.account import POLICY_ROLE, REVIEWER_AUDIENCE, UNIT_AUDIENCE
from app.services import (
    audit,
    compare,
    jurisdiction,
    migration,
    preview,
    studio,
    studio_migration,
    studio_preview,
    versions,
)
from app.services.calendar import BEIJING
from app.services.errors import ServiceRefusal
from app.taskforms.formats import FORMAT_MESSAGES
from app.web.access import current_actor, gate

blueprint = Blueprint("studio", __name__, url_prefix="/studio")
gate(blueprint, POLICY_ROLE)
MAX_CHOSEN = 100  # applications per dry run or migration: each is loaded and moved while the request waits
KEY_LENGTH = 20  # ProcessInstance.business_key
_DIGITS = re.compile(r"[0-9]{1,6}")  # a count or page number as text (str.isdigit also takes "²")


# ---- pages -------------------------------------------------------------------------------------


@blueprint.get("/")
def index() -> str:
    return render_template("studio/index.html", rows=studio.procedures(db.session, current_user.username))


@blueprint.get("/<process_id>/")
def list_versions(process_id: str) -> str:
    rows = versions.history(db.session, process_id)
    if not rows:
        abort(404)
    draft = studio.draft_of(db.session, process_id, current_user.username)
    moves = studio_migration.history(db.session, process_id, _page("moves"))
    return render_template(
        "studio/versions.html",
        rows=rows,
        latest=rows[0].definition,
        draft=draft,
        moves=moves,
        url_with=_pager("moves", "migrations"),
    )


@blueprint.get("/<process_id>/v<int:number>")
def show_version(process_id: str, number: int) -> str:
    row = _version_or_404(process_id, number)
    latest = versions.find(db.session, process_id)
    # Aspect pairs, not objects: the JSON in the page must keep each element's aspects in their order.
    elements = {element: list(aspects.items()) for element, aspects in compare.describe(row.xml).items()}
    return render_template("studio/version.html", row=row, latest=latest, elements=elements)


@blueprint.get("/<process_id>/v<int:number>.bpmn")
def version_xml(process_id: str, number: int) -> Response:
    response = Response(_version_or_404(process_id, number).xml, mimetype="application/xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"  # data, never a page
    return response


@blueprint.post("/<process_id>/v<int:number>/rollback")
def rollback_version(process_id: str, number: int) -> Response:
    _version_or_404(process_id, number)
    try:
        deployed = studio.rollback(db.session, process_id, number, current_actor())
    except (ServiceRefusal, DeployError) as refused:
        db.session.rollback()
        flash(_refusal_text(refused), "error")
    else:
        db.session.commit()
        if deployed.created:
            done = _(
                "已回滚：v%(old)s 的内容已部署为新版本 v%(new)s，新申请将按此版本办理。",
                old=number,
                new=deployed.row.version,
            )
            flash(done, "success")
        else:
            flash(_("v%(old)s 与最新版本内容相同，未生成新版本。", old=number), "info")
    return redirect(url_for("studio.list_versions", process_id=process_id))


@blueprint.get("/<process_id>/compare")
def compare_versions(process_id: str) -> str | Response:
    chosen = sorted({int(v) for v in request.args.getlist("v") if v.isdigit()})
    if len(chosen) != 2:
        flash(_("请选择两个不同的版本进行比较。"), "warning")
        return redirect(url_for("studio.list_versions", process_id=process_id))
    old, new = _version_or_404(process_id, chosen[0]), _version_or_404(process_id, chosen[1])
    return render_template("studio/compare.html", comparison=compare.compare(old, new))


@blueprint.get("/<process_id>/edit")
def edit(process_id: str) -> str:
    opened = studio.editable(db.session, process_id, current_user.username)
    if opened is None:
        abort(404)
    return render_template("studio/editor.html", opened=opened)


# ---- reference data for the editor -------------------------------------------------------------------


@blueprint.get("/operators.json")
def operators() -> Response:
    return jsonify(
        [
            {
                "name": op.name,
                "summary": studio.OPERATOR_TITLES.get(op.name, op.summary),
                "params": [
                    {"name": n, "type": getattr(t, "__name__", "any"), "optional": n in op.optional}
                    for n, t in op.params.items()
                ],
            }
            for op in get_engine().operators.all()
        ]
    )


@blueprint.get("/context.json")
def context_names() -> Response:
    roles = jurisdiction.roles_by_audience(db.session, UNIT_AUDIENCE, REVIEWER_AUDIENCE)
    return jsonify(names=CONTEXT_NAMES, helpers=sorted(HELPER_NAMES), roles=roles, formats=FORMAT_MESSAGES)


# ---- the editor's draft, check and deploy ----------------------------------------------------------


@blueprint.get("/<process_id>/draft.json")
def load_draft(process_id: str) -> Response:
    opened = studio.editable(db.session, process_id, current_user.username)
    if opened is None:
        abort(404)
    return _no_store(
        jsonify(
            xml=opened.xml,
            files=opened.files,
            base_version=opened.base_version,
            latest_version=opened.latest.version,
            from_draft=opened.draft_saved_at is not None,
        )
    )


@blueprint.post("/<process_id>/draft")
def save_draft(process_id: str) -> tuple[Response, int] | Response:
    payload = _bundle_payload()
    try:
        draft = studio.save_draft(
            db.session, process_id, current_user.username, studio.Submission.from_json(payload), _base(payload)
        )
    except ServiceRefusal as refusal:
        db.session.rollback()
        return jsonify(message=refusal.message), 400
    db.session.commit()
    return jsonify(saved_at=_beijing(draft.updated_at), base_version=draft.base_version)


@blueprint.post("/<process_id>/draft/discard")
def discard_draft(process_id: str) -> Response:
    studio.discard_draft(db.session, process_id, current_user.username)
    db.session.commit()
    flash(_("已放弃草稿，编辑器已载入最新版本。"), "info")
    return redirect(url_for("studio.edit", process_id=process_id))


@blueprint.post("/<process_id>/draft/rebase")
def rebase_draft(process_id: str) -> Response:
    try:
        draft = studio.rebase_draft(db.session, process_id, current_user.username)
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
    else:
        db.session.commit()
        rebased = _(
            "草稿已改为基于最新版本 v%(version)s；部署后将替换该版本的内容，请先核对差异。", version=draft.base_version
        )
        flash(rebased, "warning")
    return redirect(url_for("studio.edit", process_id=process_id))


@blueprint.post("/<process_id>/check")
def check(process_id: str) -> tuple[Response, int] | Response:
    payload = _bundle_payload()
    latest = _latest_or_404(process_id)
    try:
        submission = studio.Submission.from_json(payload)
    except ServiceRefusal as refusal:
        return jsonify(message=refusal.message, problems=[]), 400
    problems = studio.check(db.session, process_id, latest.file_name, submission)
    db.session.rollback()  # a check stores nothing
    return jsonify(ok=not problems, problems=_problem_list(problems))


@blueprint.post("/<process_id>/deploy")
def deploy(process_id: str) -> tuple[Response, int] | Response:
    payload = _bundle_payload()
    _latest_or_404(process_id)
    try:
        submission, base = studio.Submission.from_json(payload), _base(payload)
        studio.save_draft(db.session, process_id, current_user.username, submission, base)
        db.session.commit()  # the draft survives whatever the deploy says
        comment = str(payload.get("comment") or "")
        deployed = studio.deploy(db.session, process_id, submission, comment, base, current_actor())
    except ServiceRefusal as refusal:
        db.session.rollback()
        return jsonify(message=refusal.message, problems=[]), 400
    except DeployError as refused:
        db.session.rollback()
        return jsonify(message=_("未部署：请先处理下列问题"), problems=_problem_list(refused.problems)), 400
    db.session.commit()
    row = deployed.row
    message = _("已部署为 v%(version)s，新申请将按此版本办理；在办的申请仍按原版本办理。", version=row.version)
    if not deployed.created:
        message = _("内容与最新版本 v%(version)s 相同，未生成新版本。", version=row.version)
    return jsonify(version=row.version, created=deployed.created, message=message)


# ---- previews ------------------------------------------------------------------------------------------


@blueprint.post("/preview/form")
def preview_form() -> tuple[str, int] | str:
    payload = _bundle_payload()
    try:
        schema, fields = studio_preview.form_fields(
            str(payload.get("name") or ""), str(payload.get("text") or ""), _strings(payload.get("procedure"))
        )
    except ServiceRefusal as refusal:
        return render_template("studio/_preview_error.html", message=refusal.message), 400
    return render_template("studio/_form_preview.html", schema=schema, form_fields=fields)


@blueprint.post("/preview/document")
def preview_document() -> tuple[str, int] | str:
    payload = _bundle_payload()
    try:
        files = studio.Submission.from_json({"xml": "", "files": payload.get("files")}).files
        shown = studio_preview.document_preview(
            str(payload.get("path") or ""), str(payload.get("text") or ""), files, _strings(payload.get("procedure"))
        )
    except ServiceRefusal as refusal:
        return render_template("studio/_preview_error.html", message=refusal.message), 400
    return render_template("studio/_document_preview.html", preview=shown)


@blueprint.post("/preview/text")
def preview_text() -> tuple[Response, int] | Response:
    payload = _bundle_payload()
    try:
        files = studio.Submission.from_json({"xml": "", "files": payload.get("files")}).files
        shown = studio_preview.text_preview(str(payload.get("text") or ""), files, _strings(payload.get("procedure")))
    except ServiceRefusal as refusal:
        return jsonify(message=refusal.message), 400
    return jsonify(text=shown.text, missing=shown.missing)


# ---- 试跑: the edited procedure on past applications --------------------------------------------------


@blueprint.post("/<process_id>/preview")
def preview_applications(process_id: str) -> tuple[Response, int] | Response:
    """Replay the last N applications on the editor's bundle; the report as HTML, nothing stored but the audit row."""
    payload = _bundle_payload()
    latest = _latest_or_404(process_id)
    try:
        last = _preview_count(payload.get("last"))
        ready = studio.bundle(process_id, latest.file_name, studio.Submission.from_json(payload))
        report = preview.preview(db.session, get_engine(), process_id, ready, last)
    except DeployError as refused:
        db.session.rollback()
        return jsonify(message=_("未试跑：请先处理下列问题"), problems=_problem_list(refused.problems)), 400
    except (ServiceRefusal, EngineError) as refused:
        db.session.rollback()
        return jsonify(message=refused.message, problems=[]), 400
    db.session.rollback()  # a preview only reads; the audit row is all it leaves
    seconds = round(report.seconds, 2)
    audit.record(db.session, current_actor(), "preview", detail={"process": process_id, "n": last, "seconds": seconds})
    db.session.commit()
    html = render_template("studio/_replay_report.html", report=report, titles=preview.OUTCOME_TITLES)
    return jsonify(counts=report.counts(), seconds=seconds, html=html)


# ---- moving running applications to a newer version -------------------------------------------------


@blueprint.get("/<process_id>/v<int:number>/migrate")
def migration_page(process_id: str, number: int) -> str:
    target = _version_or_404(process_id, number)
    chosen = studio_migration.candidates(db.session, process_id, number, _page("page"))
    return render_template("studio/migrate.html", target=target, candidates=chosen, url_with=_pager("page"))


@blueprint.post("/<process_id>/v<int:number>/migrate/dry-run")
def migration_dry_run(process_id: str, number: int) -> str | Response:
    target = _version_or_404(process_id, number)
    try:
        verdicts = migration.dry_run(db.session, get_engine(), process_id, number, _chosen_keys())
    except (ServiceRefusal, EngineError) as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("studio.migration_page", process_id=process_id, number=number))
    db.session.rollback()  # a dry run stores nothing
    return render_template("studio/migrate.html", target=target, verdicts=verdicts, moved=False)


@blueprint.post("/<process_id>/v<int:number>/migrate/run")
def migrate_applications(process_id: str, number: int) -> str | Response:
    """Each chosen application moves in a transaction of its own (the service audits each); the page says
    which moved and why the others did not."""
    target = _version_or_404(process_id, number)
    try:
        verdicts = migration.migrate(db.session, get_engine(), process_id, number, _chosen_keys(), current_actor())
    except (ServiceRefusal, EngineError) as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("studio.migration_page", process_id=process_id, number=number))
    return render_template("studio/migrate.html", target=target, verdicts=verdicts, moved=True)


@blueprint.post("/<process_id>/migrations/undo")
def undo_migration(process_id: str) -> Response:
    _latest_or_404(process_id)
    key = request.form.get("business_key", "").strip()
    if not studio_migration.belongs(db.session, process_id, key):
        flash(_("本流程没有申请 %(key)s", key=key[:20]), "error")
    else:
        try:
            undone = migration.undo(db.session, get_engine(), key, current_actor())
        except EngineError as refused:
            flash(refused.message, "error")
        else:
            left, back = undone.left_version, undone.restored_version
            undone_text = _(
                "已撤销申请 %(key)s 的迁移：由 v%(left)s 恢复为 v%(back)s，按迁移前的状态继续办理。",
                key=key,
                left=left,
                back=back,
            )
            flash(undone_text, "success")
    return redirect(url_for("studio.list_versions", process_id=process_id, _anchor="migrations"))


# ---- helpers ------------------------------------------------------------------------------------------


def _version_or_404(process_id: str, number: int) -> WorkflowDefinition:
    row = versions.find(db.session, process_id, number)
    if row is None:
        abort(404)
    return row


def _latest_or_404(process_id: str) -> WorkflowDefinition:
    row = versions.find(db.session, process_id)
    if row is None:
        abort(404)
    return row


def _bundle_payload() -> dict[str, Any]:
    """The JSON body of a request that may carry a whole procedure (diagram and files)."""
    request.max_content_length = int(current_app.config["MAX_DIAGRAM_BYTES"]) + studio.MAX_FILES_BYTES * 2
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else {}


def _preview_count(value: Any) -> int:
    """N of 试跑: a whole number from 1 to the service's limit, as a number or digits."""
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= preview.MAX_LAST:
        raise ServiceRefusal(_("试跑的申请份数须为 1 到 %(most)s 之间的整数", most=preview.MAX_LAST))
    return value


def _chosen_keys() -> list[str]:
    """The application numbers ticked in a migration form: at least one, at most a page's worth or two."""
    keys = list(dict.fromkeys(k.strip() for k in request.form.getlist("key") if k.strip()))
    if not keys:
        raise ServiceRefusal(_("请先勾选要迁移的申请"))
    if len(keys) > MAX_CHOSEN:
        raise ServiceRefusal(_("一次最多选择 %(most)s 件申请", most=MAX_CHOSEN))
    if any(len(k) > KEY_LENGTH for k in keys):
        raise ServiceRefusal(_("申请编号不正确"))
    return keys


def _page(name: str) -> int:
    value = request.args.get(name, "")
    return int(value) if _DIGITS.fullmatch(value) else 1


def _pager(name: str, anchor: str | None = None) -> Callable[..., str]:
    """`url_with` for the pagination macro: this page's URL showing page `page` of the list paged by `name`."""

    def url_with(page: int) -> str:
        args = {**(request.view_args or {}), **request.args.to_dict(), name: page}
        return url_for(str(request.endpoint), _anchor=anchor, **args)

    return url_with


def _base(payload: dict[str, Any]) -> int:
    value = payload.get("base_version")
    if not isinstance(value, int) or isinstance(value, bool):
        raise ServiceRefusal(_("缺少编辑所基于的版本号，请刷新编辑器后重试"))
    return value


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _problem_list(problems: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"element": element, "message": message} for element, message in problems]


def _refusal_text(refused: ServiceRefusal | DeployError) -> str:
    if isinstance(refused, DeployError):
        return _("未部署：%(problems)s", problems="；".join(message for _element, message in refused.problems))
    return refused.message


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
