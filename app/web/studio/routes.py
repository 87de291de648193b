"""The policy studio (role 政策): procedures and their versions, the editor, compare, roll back.

Pages render on the server; the editor talks to the JSON routes below (draft, check, deploy,
previews). Routes that receive a whole procedure raise the request size limit to the diagram
limit plus the files; every other request keeps the app's limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.engine import get_engine
from app.engine.context import CONTEXT_NAMES
from app.engine.errors import DeployError
from app.engine.scripting import HELPER_NAMES
from app.extensions import db
from app.models import WorkflowDefinition
from app.models.account import POLICY_ROLE, REVIEWER_AUDIENCE, UNIT_AUDIENCE
from app.services import compare, jurisdiction, studio, studio_preview, versions
from app.services.calendar import BEIJING
from app.services.errors import ServiceRefusal
from app.taskforms.formats import FORMAT_MESSAGES
from app.web.access import current_actor, gate

blueprint = Blueprint("studio", __name__, url_prefix="/studio")
gate(blueprint, POLICY_ROLE)


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
    return render_template("studio/versions.html", rows=rows, latest=rows[0].definition, draft=draft)


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
            flash(f"已回滚：v{number} 的内容已部署为新版本 v{deployed.row.version}，新申请将按此版本办理。", "success")
        else:
            flash(f"v{number} 与最新版本内容相同，未生成新版本。", "info")
    return redirect(url_for("studio.list_versions", process_id=process_id))


@blueprint.get("/<process_id>/compare")
def compare_versions(process_id: str) -> str | Response:
    chosen = sorted({int(v) for v in request.args.getlist("v") if v.isdigit()})
    if len(chosen) != 2:
        flash("请选择两个不同的版本进行比较。", "warning")
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
    flash("已放弃草稿，编辑器已载入最新版本。", "info")
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
        flash(f"草稿已改为基于最新版本 v{draft.base_version}；部署后将替换该版本的内容，请先核对差异。", "warning")
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
        return jsonify(message="未部署：请先处理下列问题", problems=_problem_list(refused.problems)), 400
    db.session.commit()
    row = deployed.row
    message = f"已部署为 v{row.version}，新申请将按此版本办理；在办的申请仍按原版本办理。"
    if not deployed.created:
        message = f"内容与最新版本 v{row.version} 相同，未生成新版本。"
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


def _base(payload: dict[str, Any]) -> int:
    value = payload.get("base_version")
    if not isinstance(value, int) or isinstance(value, bool):
        raise ServiceRefusal("缺少编辑所基于的版本号，请刷新编辑器后重试")
    return value


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _problem_list(problems: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"element": element, "message": message} for element, message in problems]


def _refusal_text(refused: ServiceRefusal | DeployError) -> str:
    if isinstance(refused, DeployError):
        return "未部署：" + "；".join(message for _element, message in refused.problems)
    return refused.message


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
