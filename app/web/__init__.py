"""Blueprints, one per audience."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from app.web.public.routes import blueprint as public

    app.register_blueprint(public)
