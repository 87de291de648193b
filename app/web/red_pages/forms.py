"""The red-page editor's forms (server-side validation, Chinese messages)."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.services.red_pages import BACKGROUNDS, COLOURS, LAYOUTS
from app.services.rich_text import sanitise
from app.web.auth.forms import NO_HTML
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


def _required(label: str) -> DataRequired:
    return DataRequired(message=f"请填写{label}")


class StyleForm(PolicyForm):
    layout = RadioField("行业布局", choices=_choices(LAYOUTS), validators=[InputRequired("请选择行业布局")])
    colour = RadioField("颜色", choices=_choices(COLOURS), validators=[InputRequired("请选择颜色")])
    background = RadioField("背景图", choices=_choices(BACKGROUNDS), validators=[InputRequired("请选择背景图")])


class ImageForm(PolicyForm):
    image = FileField("图片文件（JPG 或 PNG）", validators=[FileRequired("请选择要上传的图片")])
    caption = StringField("图片说明", validators=[Optional(), Length(max=60), NO_HTML])


class NewsForm(PolicyForm):
    title = StringField("标题", validators=[_required("标题"), Length(max=100), NO_HTML])
    day = DateField("发布日期", validators=[InputRequired("请填写发布日期")])
    body = TextAreaField("正文", validators=[_required("正文"), Length(max=RICH_TEXT_MAX)], **RICH_TEXT)


class TextForm(PolicyForm):
    body = TextAreaField("内容", validators=[Optional(), Length(max=RICH_TEXT_MAX)], **RICH_TEXT)


class FooterForm(PolicyForm):
    sponsor = StringField("主办单位", validators=[_required("主办单位"), Length(max=120), NO_HTML])
    address = StringField("联系地址", validators=[_required("联系地址"), Length(max=200), NO_HTML])
    phone = StringField("联系电话", validators=[Optional(), Length(max=40), NO_HTML])
    icp = StringField("ICP备案号", validators=[Optional(), Length(max=60), NO_HTML])
    police = StringField("公安备案号", validators=[Optional(), Length(max=60), NO_HTML])
    site_code = StringField("网站标识码", validators=[Optional(), Length(max=20), NO_HTML])
