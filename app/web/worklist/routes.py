"""Reviewers' worklists: 待办 of their office and role, 已办."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.extensions import db
from app.models.account import REVIEWER_ROLES
from app.services import applications
from app.web.access import gate

blueprint = Blueprint("worklist", __name__, url_prefix="/review")
gate(blueprint, *REVIEWER_ROLES)


@blueprint.get("/")
def inbox() -> str:
    items = applications.list_work_items(db.session, role=current_user.role, office_code=current_user.office_code)
    return render_template("worklist/inbox.html", items=items)


@blueprint.get("/done")
def done() -> str:
    return render_template("worklist/done.html", events=applications.done_by(db.session, current_user.username))
