"""The 编办's forms for a unit: its information (the registration's fields and checks) and a new password."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from app.web.auth.forms import RegistrationForm
from app.web.input_policy import PolicyForm


class UnitInfoForm(RegistrationForm):
    """单位信息 exactly as registration asks and checks it, without the account, contact and agreement fields
    (contacts are the unit's own; WTForms drops a field set to None in a subclass)."""

    contact_name = None
    contact_mobile = None
    contact_email = None
    contact_phone = None
    username = None
    password = None
    confirm = None
    agree = None


class UnitPasswordForm(PolicyForm):
    password = PasswordField(_l("新密码"), validators=[DataRequired(message=_l("请填写新密码"))])
    confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("password", message=_l("两次输入的密码不一致"))])
