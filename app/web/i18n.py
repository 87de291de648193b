"""Interface language: Chinese first; English when the user picks it."""

from __future__ import annotations

from flask import request, session

SUPPORTED_LOCALES = ("zh_CN", "en")


def select_locale() -> str:
    """Chinese unless the user chose another supported language (?lang=en, kept in the session)."""
    chosen = request.args.get("lang")
    if chosen in SUPPORTED_LOCALES:
        session["lang"] = chosen
    return str(session.get("lang", "zh_CN"))
