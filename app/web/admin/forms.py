"""Administrator forms (server-side validation, Chinese messages next to the fields)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from app.web.input_policy import PolicyForm

NO_HTML = Regexp(r"^[^<>]*$", message=_l("不能包含 < 或 > 等字符"))


class StaffForm(PolicyForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名")), Length(max=40)])
    display_name = StringField(
        _l("姓名或名称"), validators=[DataRequired(_l("请填写姓名或名称")), Length(max=60), NO_HTML]
    )
    role = SelectField(_l("角色"), choices=[], validate_choice=False)  # the staff and reviewer roles (data)
    office = SelectField(_l("所属机构"), choices=[], validate_choice=False)
    password = PasswordField(_l("初始密码"), validators=[DataRequired(_l("请填写初始密码"))])
    confirm = PasswordField(_l("确认密码"), validators=[EqualTo("password", message=_l("两次输入的密码不一致"))])


class RoleChangeForm(PolicyForm):
    role = SelectField(_l("角色"), choices=[], validate_choice=False)
    office = SelectField(_l("所属机构"), choices=[], validate_choice=False)


class PasswordResetForm(PolicyForm):
    password = PasswordField(_l("临时密码"), validators=[DataRequired(_l("请填写临时密码"))])
    confirm = PasswordField(_l("确认临时密码"), validators=[EqualTo("password", message=_l("两次输入的密码不一致"))])


class RoleForm(PolicyForm):
    name = StringField(
        _l("角色名称（即流程图泳道名）"), validators=[DataRequired(_l("请填写角色名称")), Length(max=20)]
    )
    audience = SelectField(_l("使用者"), choices=[], validate_choice=False)
    scope = SelectField(_l("机构设置"), choices=[], validate_choice=False)
    description = StringField(_l("说明"), validators=[Length(max=200), NO_HTML])


class OfficeForm(PolicyForm):
    kind = SelectField(_l("角色"), choices=[], validate_choice=False)
    name = StringField(_l("机构名称"), validators=[DataRequired(_l("请填写机构名称")), Length(max=120), NO_HTML])
    province = SelectField(_l("省级"), choices=[], validate_choice=False)
    city = SelectField(_l("市级"), choices=[], validate_choice=False)
    county = SelectField(_l("县级"), choices=[], validate_choice=False)

    def region_code(self) -> str | None:
        """The deepest division chosen: the office's level follows from it."""
        return self.county.data or self.city.data or self.province.data or None


class MobileForm(PolicyForm):
    """The mobile a staff account receives SMS login codes on (checked by app.services.second_factor)."""

    mobile = StringField(
        _l("手机号码"), validators=[DataRequired(_l("请填写手机号码")), Length(max=20)], render_kw={"inputmode": "tel"}
    )
