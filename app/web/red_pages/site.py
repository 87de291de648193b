"""The public 网络红页: /hy/<id>/ for everyone, and "/" of the unit's own domain (app/web/forwarding.py).

Only published content is shown. Pages carry no inline script or style: the colour and background are
classes of static/red-page.css, the carousel is Bootstrap's, and the footer's badge is the certificate's
script loaded from this same origin, which the default Content-Security-Policy (script-src 'self') allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, make_response, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import Certificate, RedPage, RedPageImage, Unit
from app.services import badges, red_pages, rich_text
from app.services.dns import host_name
from app.taskforms.formats import to_uri
from app.web.headers import CONTENT_SECURITY_POLICY

blueprint = Blueprint("red_page_site", __name__)

NEWS_ON_HOME = 8
# Visitors' browsers and proxies may keep a published page a minute (the seed's advice: Ctrl+F5).
PAGE_CACHE = "public, max-age=60"
# An image id always names the same bytes: cache it for a year.
IMAGE_CACHE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class SiteLinks:
    """Where the page's links go: the public site, or the editor's preview of the draft."""

    home: str
    news: Callable[[str], str]
    image: Callable[[int], str]
    preview: bool = False


@blueprint.get("/hy/<int:page_id>/")
def show_page(page_id: int) -> Response:
    page = red_pages.published_page(db.session, page_id) or abort(404)
    return _public(render_site(page, _published(page), _public_links(page, url_for(".show_page", page_id=page_id))))


@blueprint.get("/hy/<int:page_id>/news/<news_id>")
def show_news(page_id: int, news_id: str) -> Response:
    page = red_pages.published_page(db.session, page_id) or abort(404)
    item = red_pages.news_item(_published(page), news_id) or abort(404)
    home = "/" if _served_at_domain(page) else url_for(".show_page", page_id=page_id)
    return _public(render_site(page, _published(page), _public_links(page, home), item))


@blueprint.get("/hy/<int:page_id>/images/<int:image_id>.jpg")
def show_image(page_id: int, image_id: int) -> Response:
    image = red_pages.public_image(db.session, page_id, image_id) or abort(404)
    return image_response(image, public=True)


@blueprint.app_template_filter("rich_text")
def rich_text_markup(markup: str) -> Markup:
    """Rich text is sanitised when saved; sanitising it again on output keeps an edited row harmless too."""
    return Markup(rich_text.sanitise(markup))


def red_page_at_host(host: str) -> Response | None:
    """The published red page of the domain `host` (an A-label name) as its home page; None otherwise."""
    page = red_pages.published_for_host(db.session, host)
    if page is None:
        return None
    return _public(render_site(page, _published(page), _public_links(page, "/")))


def render_site(page: RedPage, content: dict[str, Any], links: SiteLinks, item: dict[str, Any] | None = None) -> str:
    """The page in its 行业布局, or one news item in the same frame when `item` is given."""
    unit = db.session.get(Unit, page.unit_id)
    return render_template(
        "red_pages/site/news.html" if item else f"red_pages/site/{content['layout']}.html",
        content=content,
        unit=unit,
        links=links,
        item=item,
        latest=content["news"][:NEWS_ON_HOME],
        sections=red_pages.TEXT_SECTIONS,
        badge=footer_badge(red_pages.badge_certificate(db.session, page.unit_id)),
    )


def footer_badge(certificate: Certificate | None) -> Markup:
    """Shape 2 of DOMAIN.md §2.1 with a root-relative script address: on the unit's domain and at /hy/ alike
    the script comes from the origin that serves the page, and fills the placeholder with the badge."""
    if certificate is None or not certificate.code:
        return Markup("")
    return Markup(badges.snippet(certificate, 2))  # built from the validated 标识编号 only


def image_response(image: RedPageImage, public: bool) -> Response:
    response = make_response(image.data)
    response.mimetype = "image/jpeg"
    response.headers["Cache-Control"] = IMAGE_CACHE if public else "private, no-cache"
    return response


def _published(page: RedPage) -> dict[str, Any]:
    assert page.published is not None  # published_page / published_for_host only return published pages
    return page.published


def _public_links(page: RedPage, home: str) -> SiteLinks:
    return SiteLinks(
        home=home,
        news=lambda news_id: url_for("red_page_site.show_news", page_id=page.id, news_id=news_id),
        image=lambda image_id: url_for("red_page_site.show_image", page_id=page.id, image_id=image_id),
    )


def _served_at_domain(page: RedPage) -> bool:
    """The visitor came through the unit's own domain (so "home" is that domain's "/")."""
    found = red_pages.published_for_host(db.session, host_name(request.host))
    return found is not None and found.id == page.id


def _public(html: str) -> Response:
    response = make_response(html)
    response.headers["Cache-Control"] = PAGE_CACHE
    response.headers["Content-Security-Policy"] = _policy()
    return response


def _policy() -> str:
    """The platform's policy; images may also come from the badge host when one is configured, because
    the badge script (same origin) names its images there."""
    badge_base = str(current_app.config.get("BADGE_BASE_URL") or "")
    if not badge_base:
        return CONTENT_SECURITY_POLICY
    parts = urlsplit(to_uri(badge_base))
    origin = f"{parts.scheme}://{parts.netloc}"
    directives = CONTENT_SECURITY_POLICY.split("; ")
    return "; ".join(f"{d} {origin}" if d.startswith("img-src ") else d for d in directives)
