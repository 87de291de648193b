"""The unit's wizard: 办事指南 for its unit type, starting applications, 我的申请."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.extensions import db
from app.models.account import UNIT_ROLE
from app.services import applications, procedures
from app.web.access import gate

blueprint = Blueprint("wizard", __name__, url_prefix="/unit")
gate(blueprint, UNIT_ROLE)


@blueprint.get("/")
def home() -> str:
    guides = [g for g in procedures.guides() if current_user.unit.unit_type in g.unit_types]
    return render_template("wizard/home.html", guides=guides)


@blueprint.get("/applications")
def my_applications() -> str:
    items = applications.list_instances(db.session, unit_id=current_user.unit_id)
    return render_template("wizard/applications.html", applications=items)
