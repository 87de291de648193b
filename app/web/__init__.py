"""Blueprints, one per audience, and the error pages."""

from __future__ import annotations

from flask import Flask, render_template, request, session

from app.extensions import babel

SUPPORTED_LOCALES = ("zh_CN", "en")


def register_blueprints(app: Flask) -> None:
    from app.web.auth.routes import blueprint as auth
    from app.web.public.routes import blueprint as public

    for blueprint in (public, auth, *_audience_blueprints()):
        app.register_blueprint(blueprint)
    for code in (403, 404):
        app.register_error_handler(code, lambda error, code=code: (render_template(f"errors/{code}.html"), code))
    babel.locale_selector_func = select_locale  # type: ignore[attr-defined]
    app.extensions["babel"].locale_selector = select_locale


def _audience_blueprints() -> list:
    from app.web.wizard.routes import blueprint as wizard
    from app.web.worklist.routes import blueprint as worklist

    return [wizard, worklist]


def select_locale() -> str:
    """Chinese unless the user chose another supported language (?lang=en, kept in the session)."""
    chosen = request.args.get("lang")
    if chosen in SUPPORTED_LOCALES:
        session["lang"] = chosen
    return session.get("lang", "zh_CN")
