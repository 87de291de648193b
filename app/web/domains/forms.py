"""The 编办's reason for freezing, unfreezing or deleting a domain (shown next to the field when refused)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.web.auth.forms import NO_HTML
from app.web.input_policy import PolicyForm


class ReasonForm(PolicyForm):
    reason = StringField(
        _l("原因"),
        validators=[DataRequired(message=_l("请填写原因")), Length(2, 200, message=_l("原因须为2至200个字")), NO_HTML],
    )
