"""Public pages: the 办事指南 of every deployed procedure, read from its diagram."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.services import procedures

blueprint = Blueprint("public", __name__)


@blueprint.get("/")
def list_procedures() -> str:
    return render_template("public/procedures.html", procedures=procedures.guides())


@blueprint.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}
