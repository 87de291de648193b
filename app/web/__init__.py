"""Blueprints, one per audience, and the error pages."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import get_locale

from app.services.numerals import chinese_numeral


def register_blueprints(app: Flask) -> None:
    from app.web.auth.routes import blueprint as auth
    from app.web.public.routes import blueprint as public

    for blueprint in (public, auth, *_audience_blueprints()):
        app.register_blueprint(blueprint)
    app.context_processor(lambda: {"current_locale": str(get_locale())})
    app.jinja_env.filters["cn"] = chinese_numeral
    for code in (403, 404):
        app.register_error_handler(code, lambda error, code=code: (render_template(f"errors/{code}.html"), code))


def _audience_blueprints() -> list:
    from app.web.admin.routes import blueprint as admin
    from app.web.applications.routes import blueprint as applications
    from app.web.billing.routes import blueprint as billing
    from app.web.wizard.routes import blueprint as wizard
    from app.web.worklist.routes import blueprint as worklist

    return [wizard, worklist, applications, billing, admin]
