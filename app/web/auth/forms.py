"""Login and unit registration forms (server-side validation, Chinese messages)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from app.taskforms.formats import FORMAT_MESSAGES, NORMALISERS, is_cn_mobile, is_email, is_uscc
from app.web.input_policy import PolicyForm

NO_HTML = Regexp(r"^[^<>]*$", message=_l("不能包含 < 或 > 等字符"))
# The stored value is the Chinese name; the label is in the reader's language.
UNIT_TYPES = [
    SelectChoice("党政机关", _l("我是党政机关")),
    SelectChoice("事业单位", _l("我是事业单位")),
    SelectChoice("社会组织", _l("我是社会组织")),
]
NATURES = [
    SelectChoice("机关", _l("机关")),
    SelectChoice("事业单位", _l("事业单位")),
    SelectChoice("群团", _l("群团")),
    SelectChoice("社会团体", _l("社会团体")),
    SelectChoice("民办非企业单位", _l("民办非企业单位")),
    SelectChoice("基金会", _l("基金会")),
    SelectChoice("其他", _l("其他")),
]
AFFILIATIONS = [
    SelectChoice("中央和国家机关", _l("中央和国家机关")),
    SelectChoice("省（自治区、直辖市）属", _l("省（自治区、直辖市）属")),
    SelectChoice("市（地、州、盟）属", _l("市（地、州、盟）属")),
    SelectChoice("县（市、区、旗）属", _l("县（市、区、旗）属")),
    SelectChoice("乡镇（街道）属", _l("乡镇（街道）属")),
]


def required(label: LazyString) -> DataRequired:
    """The message of an empty required field, naming the field in the reader's language."""
    return DataRequired(message=_l("请填写%(field)s", field=label))


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
    username = StringField(_l("用户名"), validators=[required(_l("用户名")), Length(max=40)])
    password = PasswordField(_l("密码"), validators=[required(_l("密码")), Length(max=64)])


class PasswordChangeForm(PolicyForm):
    current = PasswordField(_l("当前密码"), validators=[required(_l("当前密码")), Length(max=64)])
    password = PasswordField(_l("新密码"), validators=[required(_l("新密码")), Length(max=64)])
    confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("password", message=_l("两次输入的密码不一致"))])


class SecondFactorForm(PolicyForm):
    # A 6-digit code from the authenticator, or (on the code page) a recovery code such as 3f9a1-07c2e.
    code = StringField(
        _l("验证码"),
        validators=[required(_l("验证码")), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "autofocus": True},
    )


class RegistrationForm(PolicyForm):
    unit_type = SelectField(_l("用户类型"), choices=UNIT_TYPES, validators=[required(_l("用户类型"))])
    name = StringField(
        _l("单位名称"),
        validators=[required(_l("单位名称")), Length(2, 60, _l("单位名称须为2-60个字")), NO_HTML],
    )
    uscc = StringField(
        _l("统一社会信用代码"),
        validators=[required(_l("统一社会信用代码")), _check(is_uscc, "uscc")],
        filters=[_normalised("uscc")],
    )
    nature = SelectField(_l("单位性质"), choices=NATURES, validators=[required(_l("单位性质"))])
    affiliation = SelectField(_l("隶属关系"), choices=AFFILIATIONS, validators=[required(_l("隶属关系"))])
    province = SelectField(_l("省级"), choices=[], validate_choice=False, validators=[required(_l("所在省份"))])
    city = SelectField(_l("市级"), choices=[], validate_choice=False, validators=[Optional()])
    county = SelectField(_l("县级"), choices=[], validate_choice=False, validators=[Optional()])
    address = StringField(_l("单位地址"), validators=[required(_l("单位地址")), Length(max=200), NO_HTML])
    postcode = StringField(_l("邮政编码"), validators=[Optional(), Regexp(r"^\d{6}$", message=_l("邮政编码为6位数字"))])
    leader = StringField(_l("机构负责人"), validators=[required(_l("机构负责人")), Length(max=40), NO_HTML])
    contact_name = StringField(_l("联系人"), validators=[required(_l("联系人")), Length(2, 40), NO_HTML])
    contact_mobile = StringField(
        _l("手机号码"),
        validators=[required(_l("手机号码")), _check(is_cn_mobile, "cn-mobile")],
        filters=[_normalised("cn-mobile")],
    )
    contact_email = EmailField(
        _l("电子邮箱"),
        validators=[required(_l("电子邮箱")), _check(is_email, "email")],
        filters=[_normalised("email")],
    )
    contact_phone = StringField(
        _l("座机"),
        validators=[Optional(), Regexp(r"^0\d{2,3}-?\d{7,8}$", message=_l("座机格式如 0477-8581234"))],
    )
    username = StringField(_l("用户名"), validators=[required(_l("用户名")), Length(4, 40)])
    password = PasswordField(_l("密码"), validators=[required(_l("密码"))])
    confirm = PasswordField(_l("确认密码"), validators=[EqualTo("password", message=_l("两次输入的密码不一致"))])
    agree = BooleanField(
        _l("我已阅读并同意《用户注册协议》"), validators=[DataRequired(message=_l("请阅读并同意注册协议"))]
    )

    def region_code(self) -> str:
        """The deepest division chosen: the unit's level follows from it."""
        return self.county.data or self.city.data or self.province.data
