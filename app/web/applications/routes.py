"""One application seen by whoever may see it: printed documents, its diagram, its progress.

Shared by units and reviewers; every route loads the application through the jurisdiction
rules, so an application outside the user's reach is simply not found (404).
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import csrf, db
from app.models import ProcessInstance
from app.models.account import REVIEWER_AUDIENCE, UNIT_AUDIENCE, UNIT_ROLE
from app.services import diagrams, documents, id_card_copies, jurisdiction
from app.services.calendar import BEIJING
from app.services.errors import ServiceRefusal
from app.services.red_page_images import MAX_UPLOAD_BYTES
from app.web.access import current_actor, gate
from app.web.uploads import accept_upload

blueprint = Blueprint("applications", __name__, url_prefix="/applications")
gate(blueprint, audiences=(UNIT_AUDIENCE, REVIEWER_AUDIENCE))
ID_COPY_BODY_LIMIT = MAX_UPLOAD_BYTES + 64 * 1024  # one image plus the form's other fields


def _instance(business_key: str) -> ProcessInstance:
    instance = jurisdiction.instance_for(db.session, current_user, business_key)
    if instance is None:
        abort(404)
    return instance


@blueprint.get("/<business_key>/documents/<name>.pdf")
def document(business_key: str, name: str) -> Response | tuple[str, int]:
    instance = _instance(business_key)
    try:
        rendered = documents.download(db.session, instance, name, current_actor())
    except documents.DocumentUnavailable as refusal:
        db.session.rollback()
        return render_template("applications/document_unavailable.html", message=refusal.message), 404
    except documents.DocumentError as error:
        db.session.rollback()
        return render_template("applications/document_unavailable.html", message=error.message), 500
    db.session.commit()
    response = send_file(BytesIO(rendered.content), mimetype="application/pdf", download_name=rendered.file_name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.get("/<business_key>/id-card-copy.jpg")
def id_card_copy(business_key: str) -> Response:
    """The electronic 身份证复印件 for the unit itself and the reviewers of the application; each opening audited."""
    image = id_card_copies.open_copy(db.session, _instance(business_key), current_actor())
    if image is None:
        abort(404)
    db.session.commit()
    response = send_file(BytesIO(image), mimetype="image/jpeg", download_name=f"{business_key}-身份证复印件.jpg")
    response.headers["Cache-Control"] = "private, no-store"  # never left in a shared or browser cache
    return response


@blueprint.post("/<business_key>/id-card-copy")
@csrf.exempt  # checked by accept_upload, once the body limit is raised for the image
def upload_id_card_copy(business_key: str) -> Response:
    accept_upload(ID_COPY_BODY_LIMIT)
    if current_user.role != UNIT_ROLE:
        abort(403)
    instance = _instance(business_key)
    upload = request.files.get("image")
    consented = request.form.get("consent") == "yes"
    try:
        id_card_copies.upload(db.session, instance, current_actor(), upload.read() if upload else b"", consented)
    except ServiceRefusal as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
    else:
        db.session.commit()
        flash(_("身份证复印件电子版已上传，仅审核机构可查看，纸质材料核对完毕后按规定删除。"), "success")
    return redirect(url_for("wizard.show_application", business_key=business_key) + "#id-card-copy")


@blueprint.get("/<business_key>/diagram.xml")
def diagram_xml(business_key: str) -> Response:
    instance = _instance(business_key)
    response = Response(diagrams.definition_xml(db.session, instance), mimetype="application/xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"  # data, never a page
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.get("/<business_key>/progress.json")
def progress(business_key: str) -> Response:
    response = jsonify(diagrams.progress(_instance(business_key)))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.app_template_global()
def diagram_overview(business_key: str) -> diagrams.Overview:
    """For the diagram partial on the unit's and the reviewer's pages: where the application stands, in words."""
    return diagrams.overview(db.session, _instance(business_key))


@blueprint.app_template_filter("beijing_time")
def beijing_time(moment: datetime | None) -> str:
    """YYYY-MM-DD HH:MM in Beijing time, for every page that shows a moment."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if moment else ""
