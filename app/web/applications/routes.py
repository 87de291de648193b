"""One application seen by whoever may see it: printed documents, its diagram, its progress.

Shared by units and reviewers; every route loads the application through the jurisdiction
rules, so an application outside the user's reach is simply not found (404).
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

from flask import Blueprint, Response, abort, jsonify, render_template, send_file
from flask_login import current_user

from app.extensions import db
from app.models import ProcessInstance
from app.models.account import REVIEWER_AUDIENCE, UNIT_AUDIENCE
from app.services import diagrams, documents, jurisdiction
from app.services.calendar import BEIJING
from app.web.access import current_actor, gate

blueprint = Blueprint("applications", __name__, url_prefix="/applications")
gate(blueprint, audiences=(UNIT_AUDIENCE, REVIEWER_AUDIENCE))


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
