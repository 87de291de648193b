"""Interface language: Chinese first; English when the user picks it."""

from __future__ import annotations

from typing import Any

from babel.support import NullTranslations
from flask import Flask, has_request_context, request, session
from flask_babel import get_translations

SUPPORTED_LOCALES = ("zh_CN", "en")
_KEPT = "conac.translations"  # the key of the request's catalogue in its WSGI environ


def select_locale() -> str:
    """Chinese unless the user chose another supported language (?lang=en, kept in the session)."""
    chosen = request.args.get("lang")
    if chosen in SUPPORTED_LOCALES:
        session["lang"] = chosen
    return str(session.get("lang", "zh_CN"))


def request_translations() -> NullTranslations:
    """The request's catalogue, looked up once per request.

    Flask-Babel's own template callables look it up for every text, walking its request context, domain and
    locale each time: with the 80 texts of a 待办 page that was 7 % of the page's CPU. The locale cannot
    change within a request (nothing here uses force_locale), so one lookup serves all of its texts.
    """
    if not has_request_context():
        return get_translations()
    kept = request.environ  # the request's own (an app context, and with it `g`, may outlive a request)
    found: NullTranslations | None = kept.get(_KEPT)
    if found is None:
        found = kept[_KEPT] = get_translations()
    return found


def install_template_gettext(app: Flask) -> None:
    """Templates' _(), gettext and ngettext through `request_translations` (new-style: `%(name)s` filled in)."""

    def gettext(text: str) -> str:
        return request_translations().ugettext(text)

    def ngettext(singular: str, plural: str, n: int) -> str:
        return request_translations().ungettext(singular, plural, n)

    def pgettext(context: str, text: str) -> str:
        return request_translations().upgettext(context, text)

    def npgettext(context: str, singular: str, plural: str, n: int) -> Any:
        return request_translations().unpgettext(context, singular, plural, n)

    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=gettext, ngettext=ngettext, pgettext=pgettext, npgettext=npgettext, newstyle=True
    )
