"""The red-page editor's forms (server-side validation, Chinese messages)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from app.services.red_pages import BACKGROUNDS, COLOURS, LAYOUTS
from app.services.rich_text import sanitise
from app.web.auth.forms import NO_HTML, required
from app.web.input_policy import PolicyForm

RICH_TEXT_MAX = 20_000  # characters of markup, tags included
# The editor (static/red-page-editor.js) turns these into a toolbar and an editable area. The markup is
# sanitised as soon as it is read, so a form shown again after an error never carries a script back.
RICH_TEXT = {
    "filters": [lambda value: sanitise(value) if isinstance(value, str) else value],
    "render_kw": {"data-rich-text": "", "rows": 12},
}


def _choices(options: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(key, label) for key, label in options.items()]


class StyleForm(PolicyForm):
    layout = RadioField(_l("行业布局"), choices=_choices(LAYOUTS), validators=[InputRequired(_l("请选择行业布局"))])
    colour = RadioField(_l("颜色"), choices=_choices(COLOURS), validators=[InputRequired(_l("请选择颜色"))])
    background = RadioField(_l("背景图"), choices=_choices(BACKGROUNDS), validators=[InputRequired(_l("请选择背景图"))])


class ImageForm(PolicyForm):
    image = FileField(_l("图片文件（JPG 或 PNG）"), validators=[FileRequired(_l("请选择要上传的图片"))])
    caption = StringField(_l("图片说明"), validators=[Optional(), Length(max=60), NO_HTML])


class NewsForm(PolicyForm):
    title = StringField(_l("标题"), validators=[required(_l("标题")), Length(max=100), NO_HTML])
    day = DateField(_l("发布日期"), validators=[InputRequired(_l("请填写发布日期"))])
    body = TextAreaField(_l("正文"), validators=[required(_l("正文")), Length(max=RICH_TEXT_MAX)], **RICH_TEXT)


class TextForm(PolicyForm):
    body = TextAreaField(_l("内容"), validators=[Optional(), Length(max=RICH_TEXT_MAX)], **RICH_TEXT)


class FooterForm(PolicyForm):
    sponsor = StringField(_l("主办单位"), validators=[required(_l("主办单位")), Length(max=120), NO_HTML])
    address = StringField(_l("联系地址"), validators=[required(_l("联系地址")), Length(max=200), NO_HTML])
    phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=40), NO_HTML])
    icp = StringField(_l("ICP备案号"), validators=[Optional(), Length(max=60), NO_HTML])
    police = StringField(_l("公安备案号"), validators=[Optional(), Length(max=60), NO_HTML])
    site_code = StringField(_l("网站标识码"), validators=[Optional(), Length(max=20), NO_HTML])
