"""The unit's own forms: its 单位信息 and its contacts (server-side validation, Chinese messages)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, StringField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from app.taskforms.formats import FORMAT_MESSAGES, NORMALISERS, is_cn_mobile, is_email
from app.web.auth.forms import NO_HTML, required
from app.web.input_policy import PolicyForm


def _format(format_name: str, predicate: Callable[[str], bool]) -> Callable[[Any, Any], None]:
    """The task forms' check and message of a format, for a WTForms field."""

    def validator(form: Any, field: Any) -> None:
        if field.data and not predicate(field.data):
            raise ValidationError(FORMAT_MESSAGES[format_name])

    return validator


def _normalised(format_name: str) -> Callable[[Any], Any]:
    normalise = NORMALISERS[format_name]
    return lambda value: normalise(value) if isinstance(value, str) and value else value


class UnitProfileForm(PolicyForm):
    address = StringField(_l("单位地址"), validators=[required(_l("单位地址")), Length(max=200), NO_HTML])
    postcode = StringField(_l("邮政编码"), validators=[Optional(), Regexp(r"^\d{6}$", message=_l("邮政编码为6位数字"))])
    leader = StringField(_l("机构负责人"), validators=[required(_l("机构负责人")), Length(max=40), NO_HTML])


class ContactForm(PolicyForm):
    name = StringField(
        _l("联系人姓名"), validators=[required(_l("联系人姓名")), Length(2, 40, _l("姓名须为2-40个字")), NO_HTML]
    )
    mobile = StringField(
        _l("手机号码"),
        validators=[required(_l("手机号码")), _format("cn-mobile", is_cn_mobile)],
        filters=[_normalised("cn-mobile")],
    )
    email = EmailField(
        _l("电子邮箱"),
        validators=[required(_l("电子邮箱")), Length(max=120), _format("email", is_email)],
        filters=[_normalised("email")],
    )
    phone = StringField(
        _l("座机"),
        validators=[Optional(), Regexp(r"^0\d{2,3}-?\d{7,8}$", message=_l("座机格式如 0477-8581234"))],
    )
