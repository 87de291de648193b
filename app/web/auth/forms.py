"""Login and unit registration forms (server-side validation, Chinese messages)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from app.taskforms.formats import FORMAT_MESSAGES, NORMALISERS, is_cn_mobile, is_email, is_uscc
from app.web.input_policy import PolicyForm

NO_HTML = Regexp(r"^[^<>]*$", message="不能包含 < 或 > 等字符")
UNIT_TYPES = [SelectChoice(t, f"我是{t}") for t in ("党政机关", "事业单位", "社会组织")]
NATURES = [SelectChoice(n, n) for n in ("机关", "事业单位", "群团", "社会团体", "民办非企业单位", "基金会", "其他")]
AFFILIATIONS = [
    SelectChoice(a, a)
    for a in ("中央和国家机关", "省（自治区、直辖市）属", "市（地、州、盟）属", "县（市、区、旗）属", "乡镇（街道）属")
]


def _required(label: str) -> DataRequired:
    return DataRequired(message=f"请填写{label}")


def _check(predicate: Any, format_name: str) -> Any:
    def validator(form: PolicyForm, field: Any) -> None:
        if field.data and not predicate(field.data):
            raise ValidationError(FORMAT_MESSAGES[format_name])

    return validator


def _normalised(format_name: str) -> Any:
    """The same normalisation a task form applies to this format (e.g. spaces in a mobile number)."""
    normalise = NORMALISERS[format_name]
    return lambda value: normalise(value) if isinstance(value, str) and value else value


class LoginForm(PolicyForm):
    username = StringField(_l("用户名"), validators=[_required("用户名"), Length(max=40)])
    password = PasswordField(_l("密码"), validators=[_required("密码"), Length(max=64)])


class PasswordChangeForm(PolicyForm):
    current = PasswordField(_l("当前密码"), validators=[_required("当前密码"), Length(max=64)])
    password = PasswordField(_l("新密码"), validators=[_required("新密码"), Length(max=64)])
    confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("password", message=_l("两次输入的密码不一致"))])


class RegistrationForm(PolicyForm):
    unit_type = SelectField("用户类型", choices=UNIT_TYPES, validators=[_required("用户类型")])
    name = StringField("单位名称", validators=[_required("单位名称"), Length(2, 60, "单位名称须为2-60个字"), NO_HTML])
    uscc = StringField(
        "统一社会信用代码",
        validators=[_required("统一社会信用代码"), _check(is_uscc, "uscc")],
        filters=[_normalised("uscc")],
    )
    nature = SelectField("单位性质", choices=NATURES, validators=[_required("单位性质")])
    affiliation = SelectField("隶属关系", choices=AFFILIATIONS, validators=[_required("隶属关系")])
    province = SelectField("省级", choices=[], validate_choice=False, validators=[_required("所在省份")])
    city = SelectField("市级", choices=[], validate_choice=False, validators=[Optional()])
    county = SelectField("县级", choices=[], validate_choice=False, validators=[Optional()])
    address = StringField("单位地址", validators=[_required("单位地址"), Length(max=200), NO_HTML])
    postcode = StringField("邮政编码", validators=[Optional(), Regexp(r"^\d{6}$", message="邮政编码为6位数字")])
    leader = StringField("机构负责人", validators=[_required("机构负责人"), Length(max=40), NO_HTML])
    contact_name = StringField("联系人", validators=[_required("联系人"), Length(2, 40), NO_HTML])
    contact_mobile = StringField(
        "手机号码",
        validators=[_required("手机号码"), _check(is_cn_mobile, "cn-mobile")],
        filters=[_normalised("cn-mobile")],
    )
    contact_email = EmailField(
        "电子邮箱", validators=[_required("电子邮箱"), _check(is_email, "email")], filters=[_normalised("email")]
    )
    contact_phone = StringField(
        "座机", validators=[Optional(), Regexp(r"^0\d{2,3}-?\d{7,8}$", message="座机格式如 0477-8581234")]
    )
    username = StringField("用户名", validators=[_required("用户名"), Length(4, 40)])
    password = PasswordField("密码", validators=[_required("密码")])
    confirm = PasswordField("确认密码", validators=[EqualTo("password", message="两次输入的密码不一致")])
    agree = BooleanField("我已阅读并同意《用户注册协议》", validators=[DataRequired(message="请阅读并同意注册协议")])

    def region_code(self) -> str:
        """The deepest division chosen: the unit's level follows from it."""
        return self.county.data or self.city.data or self.province.data
