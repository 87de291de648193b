"""红页管理: the unit's editor of its one 网络红页 (seed 001, 图17–29).

Every route works on the signed-in unit's own page, so another unit's page cannot even be named.
Each section has its own 保存; 发布红页 copies the draft for visitors. Views load the page, call one
service function and commit here; a refusal rolls back and is shown next to its field or on top.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app.extensions import csrf, db
from app.models import RedPage
from app.models._types import utcnow
from app.models.account import UNIT_ROLE
from app.services import red_pages
from app.services.calendar import to_beijing_date
from app.services.errors import ServiceRefusal
from app.services.red_page_images import MAX_UPLOAD_BYTES
from app.services.red_pages import TEXT_SECTIONS, Footer, NewsFields, Style
from app.web.access import current_actor, gate
from app.web.red_pages.forms import FooterForm, ImageForm, NewsForm, StyleForm, TextForm
from app.web.red_pages.site import SiteLinks, image_response, render_site
from app.web.uploads import accept_upload

blueprint = Blueprint("red_pages", __name__, url_prefix="/unit/red-page")
gate(blueprint, UNIT_ROLE)

# Upload routes raise the request body limit for themselves: one image plus the form's other fields.
UPLOAD_BODY_LIMIT = MAX_UPLOAD_BYTES + 64 * 1024
Page = str | Response | tuple[str, int]
# The text sections' names (red_pages.TEXT_SECTIONS) in the reader's language, for the editor's headings.
SECTION_NAMES = {"organisation": _l("机构设置"), "functions": _l("机构职能"), "introduction": _l("机构介绍")}


@blueprint.get("/")
def overview() -> Page:
    return _render("overview", _page())


@blueprint.route("/style", methods=["GET", "POST"])
def edit_style() -> Page:
    page = _page()
    form = StyleForm(data={key: page.draft[key] for key in ("layout", "colour", "background")})
    if form.validate_on_submit():
        style = Style(form.layout.data, form.colour.data, form.background.data)
        done = _apply(lambda: red_pages.save_style(db.session, page, style), _("行业布局、颜色和背景图已保存。"), form)
        if done:
            return redirect(url_for("red_pages.edit_style"))
    return _render("style", page, form=form, upload=ImageForm(prefix="bg"))


@blueprint.post("/background")
@csrf.exempt  # checked by accept_upload, once the body limit is raised for the image
def upload_background() -> Page:
    accept_upload(UPLOAD_BODY_LIMIT)
    page = _page()
    upload = ImageForm(prefix="bg")
    if upload.validate_on_submit():
        data = upload.image.data.read()
        done = _apply(lambda: red_pages.set_background_image(db.session, page, data), _("背景图已上传并选用。"), upload)
        if done:
            return redirect(url_for("red_pages.edit_style"))
    form = StyleForm(data={key: page.draft[key] for key in ("layout", "colour", "background")})
    return _render("style", page, form=form, upload=upload)


@blueprint.route("/carousel", methods=["GET", "POST"])
@csrf.exempt  # checked by accept_upload, once the body limit is raised for the image
def carousel() -> Page:
    accept_upload(UPLOAD_BODY_LIMIT)
    page = _page()
    form = ImageForm()
    if form.validate_on_submit():
        data, caption = form.image.data.read(), form.caption.data or ""
        change = lambda: red_pages.add_carousel_image(db.session, page, data, caption)  # noqa: E731
        if _apply(change, _("图片已上传。"), form):
            return redirect(url_for("red_pages.carousel"))
    return _render("carousel", page, form=form, action=FlaskForm())


@blueprint.post("/carousel/<int:image_id>/delete")
def remove_image(image_id: int) -> Response:
    page = _page()
    _apply(lambda: red_pages.remove_carousel_image(db.session, page, image_id), _("图片已从轮播图片中删除。"))
    return redirect(url_for("red_pages.carousel"))


@blueprint.get("/news")
def news() -> Page:
    return _render("news", _page(), action=FlaskForm())


@blueprint.route("/news/new", methods=["GET", "POST"])
def add_news() -> Page:
    page = _page()
    form = NewsForm(data={"day": to_beijing_date(utcnow())})
    change = lambda: red_pages.add_news(db.session, page, _news_fields(form))  # noqa: E731
    if form.validate_on_submit() and _apply(change, _("动态已添加。"), form):
        return redirect(url_for("red_pages.news"))
    return _render("news_form", page, form=form, item=None)


@blueprint.route("/news/<news_id>", methods=["GET", "POST"])
def edit_news(news_id: str) -> Page:
    page = _page()
    item = red_pages.news_item(page.draft, news_id) or abort(404)
    form = NewsForm(data={"title": item["title"], "day": date.fromisoformat(item["date"]), "body": item["body"]})
    if form.validate_on_submit():
        change = lambda: red_pages.update_news(db.session, page, news_id, _news_fields(form))  # noqa: E731
        if _apply(change, _("动态已保存。"), form):
            return redirect(url_for("red_pages.news"))
    return _render("news_form", page, form=form, item=item)


@blueprint.post("/news/<news_id>/delete")
def remove_news(news_id: str) -> Response:
    page = _page()
    _apply(lambda: red_pages.remove_news(db.session, page, news_id), _("动态已删除。"))
    return redirect(url_for("red_pages.news"))


@blueprint.route("/text/<section>", methods=["GET", "POST"])
def edit_text(section: str) -> Page:
    if section not in TEXT_SECTIONS:
        abort(404)
    page = _page()
    form = TextForm(data={"body": page.draft[section]})
    if form.validate_on_submit():
        change = lambda: red_pages.save_text(db.session, page, section, form.body.data or "")  # noqa: E731
        if _apply(change, _("%(section)s已保存。", section=SECTION_NAMES[section]), form):
            return redirect(url_for("red_pages.edit_text", section=section))
    return _render("text", page, form=form, section=section, label=SECTION_NAMES[section])


@blueprint.route("/footer", methods=["GET", "POST"])
def edit_footer() -> Page:
    page = _page()
    form = FooterForm(data=page.draft["footer"])
    if form.validate_on_submit():
        footer = Footer(**{name: form[name].data or "" for name in page.draft["footer"]})
        if _apply(lambda: red_pages.save_footer(db.session, page, footer), _("底部页脚已保存。"), form):
            return redirect(url_for("red_pages.edit_footer"))
    certificate = red_pages.badge_certificate(db.session, page.unit_id)
    return _render("footer", page, form=form, certificate=certificate)


@blueprint.post("/publish")
def publish() -> Response:
    page = _page()
    _apply(
        lambda: red_pages.publish(db.session, page, current_actor()), _("红页已发布，访问者现在看到的是刚发布的内容。")
    )
    return redirect(url_for("red_pages.overview"))


@blueprint.get("/preview")
def preview() -> str:
    page = _page()
    return render_site(page, page.draft, _preview_links())


@blueprint.get("/preview/news/<news_id>")
def preview_news(news_id: str) -> str:
    page = _page()
    item = red_pages.news_item(page.draft, news_id) or abort(404)
    return render_site(page, page.draft, _preview_links(), item)


@blueprint.get("/images/<int:image_id>.jpg")
def image(image_id: int) -> Response:
    found = red_pages.own_image(db.session, _page(), image_id) or abort(404)
    return image_response(found, public=False)


# ---- helpers -------------------------------------------------------------------------------


def _page() -> RedPage:
    page = red_pages.page_of(db.session, current_user.unit)
    db.session.commit()  # the first visit creates the page; its id is the stable public address
    return page


def _apply(change: Callable[[], object], done: str, form: FlaskForm | None = None) -> bool:
    """Run one service change and commit it; a refusal rolls back and is shown, nothing saved is lost."""
    try:
        change()
    except ServiceRefusal as refusal:
        db.session.rollback()
        field = form[refusal.field] if form is not None and refusal.field in form else None
        if field is not None:
            field.errors = [*field.errors, refusal.message]
        else:
            flash(refusal.message, "error")
        return False
    db.session.commit()
    flash(done, "success")
    return True


def _render(view: str, page: RedPage, **context: Any) -> Page:
    html = render_template(
        f"red_pages/{view}.html",
        page=page,
        content=page.draft,
        missing=red_pages.missing_sections(page.draft),
        changed=red_pages.has_unpublished_changes(page),
        domains=red_pages.red_page_domains(db.session, page.unit_id),
        view=view,
        sections=TEXT_SECTIONS,
        section_names=SECTION_NAMES,
        **context,
    )
    return (html, 400) if request.method == "POST" else html


def _news_fields(form: NewsForm) -> NewsFields:
    return NewsFields(form.title.data or "", form.day.data, form.body.data or "")


def _preview_links() -> SiteLinks:
    return SiteLinks(
        home=url_for("red_pages.preview"),
        news=lambda news_id: url_for("red_pages.preview_news", news_id=news_id),
        image=lambda image_id: url_for("red_pages.image", image_id=image_id),
        preview=True,
    )
