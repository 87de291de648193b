"""Blueprints, one per audience, and the error pages."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale

from app.services.masking import mask_text
from app.services.numerals import chinese_numeral
from app.web.errors import init_errors
from app.web.forwarding import init_forwarding
from app.web.headers import init_headers
from app.web.i18n import install_template_gettext
from app.web.input_policy import init_query_policy


def register_blueprints(app: Flask) -> None:
    from app.web.auth.routes import blueprint as auth
    from app.web.ops.routes import blueprint as ops
    from app.web.public.routes import blueprint as public
    from app.web.red_pages.site import blueprint as red_page_site

    init_forwarding(app)  # first: a forwarded domain's visitor never reaches the platform's pages
    for blueprint in (ops, public, auth, red_page_site, *_audience_blueprints()):
        app.register_blueprint(blueprint)
    app.context_processor(lambda: {"current_locale": str(get_locale())})
    install_template_gettext(app)
    app.jinja_env.filters["cn"] = _numeral_in_interface_language
    app.jinja_env.filters["masked"] = mask_text  # mobiles and ID numbers for those who do not need them whole
    init_errors(app)
    init_headers(app)
    init_query_policy(app)


def _numeral_in_interface_language(value: object) -> str:
    """一式两份 in the Chinese interface; digits in any other language ("2 copies")."""
    return chinese_numeral(value) if str(get_locale()).startswith("zh") else str(value)


def _audience_blueprints() -> list:
    from app.web.admin.audit import blueprint as admin_audit
    from app.web.admin.delivery import blueprint as admin_delivery
    from app.web.admin.routes import blueprint as admin
    from app.web.api.routes import blueprint as api
    from app.web.api.tokens import blueprint as api_tokens
    from app.web.applications.routes import blueprint as applications
    from app.web.badges.routes import blueprint as badges
    from app.web.badges.routes import public_blueprint as badge_public
    from app.web.billing.routes import blueprint as billing
    from app.web.dashboards.routes import blueprint as dashboards
    from app.web.domains.routes import blueprint as domains
    from app.web.messages.routes import blueprint as messages
    from app.web.placement.routes import blueprint as placement
    from app.web.red_pages.routes import blueprint as red_pages
    from app.web.studio.routes import blueprint as studio
    from app.web.units.routes import blueprint as units
    from app.web.wizard.routes import blueprint as wizard
    from app.web.worklist.routes import blueprint as worklist

    return [
        *(wizard, worklist, applications, billing, domains, units, messages),
        *(admin, admin_delivery, admin_audit, studio, badges, badge_public, red_pages, placement),
        *(dashboards, api, api_tokens),
    ]
