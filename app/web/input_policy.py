"""The input policy at the web's edge: WTForms text fields are cleaned (app.taskforms.text) before they are
validated, and query parameters that carry control characters are refused before any view reads them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, abort, request
from flask_wtf import FlaskForm
from wtforms import Field, PasswordField, StringField, TextAreaField
from wtforms.validators import Length

from app.taskforms.text import TextRefused, clean_text


def _policy_filter(multiline: bool, max_length: int | None) -> Callable[[Any], Any]:
    def clean(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return clean_text(value, multiline=multiline, max_length=max_length)
        except TextRefused as refusal:
            raise ValueError(refusal.message) from refusal  # WTForms shows a filter's ValueError at the field

    return clean


def _declared_max(unbound: Any) -> int | None:
    lengths = [v.max for v in unbound.kwargs.get("validators", ()) if isinstance(v, Length) and v.max > 0]
    return min(lengths) if lengths else None


class PolicyForm(FlaskForm):
    """Base of every form with free text; passwords are left exactly as typed."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
            kind = unbound_field.field_class
            if issubclass(kind, StringField) and not issubclass(kind, PasswordField):
                policy = _policy_filter(issubclass(kind, TextAreaField), _declared_max(unbound_field))
                options = {**options, "filters": [policy, *unbound_field.kwargs.get("filters", ())]}
            return unbound_field.bind(form=form, **options)


def init_query_policy(app: Flask) -> None:
    app.before_request(_refuse_bad_query)


def _refuse_bad_query() -> None:
    """Search boxes and filters come as query parameters; none of them may smuggle control characters."""
    for value in request.args.values():
        try:
            clean_text(value)
        except TextRefused:
            abort(400)
