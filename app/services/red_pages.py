"""网络红页 (seed 001, DOMAIN.md §4): the unit edits a draft; 发布红页 copies it for visitors.

One red page per unit. Its content is a JSON document (layout, colour, background, carousel, news, the
three text sections, footer). Publishing is refused until every section the seed names is filled, and
each publication is audited. Visitors reach the published copy at /hy/<id>/ and, when the Host header is
one of the unit's active domains whose 主机信息 is "none" (无IP地址和网站网址), at that domain's "/".
The badge in the footer is not content: it is the unit's valid certificate at the time of the visit.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Certificate, Domain, RedPage, RedPageImage, Unit
from app.models._types import utcnow
from app.models.badge import VALID
from app.services import audit, rich_text
from app.services.audit import Actor
from app.services.dns import PUBLISHED_DOMAIN_STATUS, SUFFIX_A_LABELS
from app.services.errors import ServiceRefusal
from app.services.red_page_images import clean_image

# 行业布局: three templates that arrange the same sections differently (templates/red_pages/layouts/).
LAYOUTS = {
    "classic": "政务经典：通栏横幅和导航，动态与机构介绍左右两栏",
    "sidebar": "侧栏导航：栏目列在左侧，内容在右侧依次展开",
    "portal": "大图门户：整幅轮播图，栏目以卡片自上而下排列",
}
COLOURS = {"red": "中国红", "blue": "政务蓝", "green": "生态绿", "brown": "琥珀棕", "grey": "庄重灰"}
BACKGROUNDS = {"plain": "素色", "dots": "圆点纹", "grid": "方格纹", "gradient": "渐变", "image": "自定义图片"}
TEXT_SECTIONS = {"organisation": "机构设置", "functions": "机构职能", "introduction": "机构介绍"}
MAX_CAROUSEL = 8
MAX_NEWS = 200
HOST_MODE_RED_PAGE = "none"  # the domain's 主机信息: 无IP地址和网站网址


@dataclass(frozen=True)
class Style:
    layout: str
    colour: str
    background: str


@dataclass(frozen=True)
class Footer:
    sponsor: str  # 主办单位
    address: str  # 联系地址
    phone: str = ""  # 联系电话
    icp: str = ""  # ICP备案号
    police: str = ""  # 公安备案号
    site_code: str = ""  # 网站标识码


@dataclass(frozen=True)
class NewsFields:
    title: str
    day: date
    body: str  # markup as typed; sanitised before it is stored


# ---- the editor ----------------------------------------------------------------------------


def page_of(session: Session, unit: Unit) -> RedPage:
    """The unit's red page, created with a first draft (footer and 机构职能 from 单位信息) on first use."""
    page = session.scalar(select(RedPage).where(RedPage.unit_id == unit.id))
    if page is None:
        page = RedPage(unit_id=unit.id, draft=_first_draft(unit))
        session.add(page)
        session.flush()
    return page


def save_style(session: Session, page: RedPage, style: Style) -> None:
    """行业布局, 颜色 and 背景图 (a custom background needs its image uploaded first)."""
    if style.layout not in LAYOUTS or style.colour not in COLOURS or style.background not in BACKGROUNDS:
        raise ServiceRefusal("请从列表中选择行业布局、颜色和背景图")
    if style.background == "image" and page.draft.get("background_image") is None:
        raise ServiceRefusal("请先上传自定义背景图，再选择“自定义图片”", field="background")
    _edit(session, page, **asdict(style))


def save_text(session: Session, page: RedPage, section: str, markup: str) -> None:
    """机构设置, 机构职能 or 机构介绍, sanitised."""
    if section not in TEXT_SECTIONS:
        raise ServiceRefusal("没有这个栏目")
    _edit(session, page, **{section: rich_text.sanitise(markup)})


def save_footer(session: Session, page: RedPage, footer: Footer) -> None:
    """底部页脚; the badge joins it by itself when the page is shown."""
    _edit(session, page, footer=asdict(footer))


def add_carousel_image(session: Session, page: RedPage, upload: bytes, caption: str) -> None:
    """Check and re-encode the upload (red_page_images), then append it to the carousel."""
    if len(page.draft["carousel"]) >= MAX_CAROUSEL:
        raise ServiceRefusal(f"轮播图片最多 {MAX_CAROUSEL} 张，请先删除不用的图片", field="image")
    image = _store_image(session, page, upload)
    _edit(session, page, carousel=[*page.draft["carousel"], {"image": image.id, "caption": caption}])


def remove_carousel_image(session: Session, page: RedPage, image_id: int) -> None:
    kept = [slide for slide in page.draft["carousel"] if slide["image"] != image_id]
    if len(kept) == len(page.draft["carousel"]):
        raise ServiceRefusal("这张图片已不在轮播图片中")
    _edit(session, page, carousel=kept)
    _drop_unused_images(session, page, {image_id})


def set_background_image(session: Session, page: RedPage, upload: bytes) -> None:
    """Upload a custom 背景图 and choose it."""
    previous = page.draft.get("background_image")
    image = _store_image(session, page, upload)
    _edit(session, page, background="image", background_image=image.id)
    _drop_unused_images(session, page, {previous})


def add_news(session: Session, page: RedPage, fields: NewsFields) -> str:
    """A new 最新动态 item; returns its id."""
    if len(page.draft["news"]) >= MAX_NEWS:
        raise ServiceRefusal(f"最新动态最多保留 {MAX_NEWS} 条，请先删除旧的动态")
    item = {"id": secrets.token_hex(4), **_news_values(fields)}
    _edit(session, page, news=_newest_first([*page.draft["news"], item]))
    return str(item["id"])


def update_news(session: Session, page: RedPage, news_id: str, fields: NewsFields) -> None:
    if news_item(page.draft, news_id) is None:
        raise ServiceRefusal("这条动态已被删除")
    items = [{**item, **_news_values(fields)} if item["id"] == news_id else item for item in page.draft["news"]]
    _edit(session, page, news=_newest_first(items))


def remove_news(session: Session, page: RedPage, news_id: str) -> None:
    if news_item(page.draft, news_id) is None:
        raise ServiceRefusal("这条动态已被删除")
    _edit(session, page, news=[item for item in page.draft["news"] if item["id"] != news_id])


def news_item(content: dict[str, Any], news_id: str) -> dict[str, Any] | None:
    return next((item for item in content["news"] if item["id"] == news_id), None)


# ---- publishing ----------------------------------------------------------------------------


def missing_sections(content: dict[str, Any]) -> list[str]:
    """What the seed requires before 发布红页 and the content lacks, in the editor's order."""
    missing = []
    if not content["carousel"]:
        missing.append("轮播图片（至少一张）")
    if not content["news"]:
        missing.append("最新动态（至少一条）")
    missing += [label for key, label in TEXT_SECTIONS.items() if not rich_text.visible_text(content[key])]
    footer = content["footer"]
    if not (footer["sponsor"] and footer["address"]):
        missing.append("底部页脚（主办单位和联系地址）")
    return missing


def publish(session: Session, page: RedPage, actor: Actor) -> None:
    """发布红页: the draft becomes what visitors see; refused with the list of what is missing."""
    missing = missing_sections(page.draft)
    if missing:
        raise ServiceRefusal("红页还不能发布，请先完善：" + "、".join(missing))
    superseded = _images_in(page.published)
    page.published = copy.deepcopy(page.draft)
    page.published_at = utcnow()
    page.published_by = actor.name
    _drop_unused_images(session, page, superseded)
    audit.record(session, actor, "red_page_publish", detail={"red_page_id": page.id, "unit_id": page.unit_id})
    session.flush()


def has_unpublished_changes(page: RedPage) -> bool:
    return page.published_at is None or page.published != page.draft


# ---- visitors ------------------------------------------------------------------------------


def published_page(session: Session, page_id: int) -> RedPage | None:
    page = session.get(RedPage, page_id)
    return page if page is not None and page.published_at is not None else None


def published_for_host(session: Session, name: str) -> RedPage | None:
    """The published red page served at a host such as xn--….xn--zfr164b or www.xn--…: the unit's
    active domain whose 主机信息 is "none" (one query; None for every other host)."""
    labels = name.split(".")
    if len(labels) == 3 and labels[0] == "www":
        labels = labels[1:]
    if len(labels) != 2 or labels[1] not in SUFFIX_A_LABELS.values():
        return None
    query = (
        select(RedPage)
        .join(Domain, Domain.unit_id == RedPage.unit_id)
        .where(
            Domain.ascii_name == ".".join(labels),
            Domain.status == PUBLISHED_DOMAIN_STATUS,
            Domain.host_mode == HOST_MODE_RED_PAGE,
            RedPage.published_at.is_not(None),
        )
        .limit(1)
    )
    return session.scalar(query)


def public_image(session: Session, page_id: int, image_id: int) -> RedPageImage | None:
    """An image of the published content; draft-only images are not public."""
    page = published_page(session, page_id)
    if page is None or image_id not in _images_in(page.published):
        return None
    return session.get(RedPageImage, image_id)


def own_image(session: Session, page: RedPage, image_id: int) -> RedPageImage | None:
    """An image of the unit's own draft or published content (the editor and its preview)."""
    if image_id not in _images_in(page.draft) | _images_in(page.published):
        return None
    return session.get(RedPageImage, image_id)


def badge_certificate(session: Session, unit_id: int) -> Certificate | None:
    """The unit's newest valid certificate: its badge goes into the footer."""
    query = (
        select(Certificate)
        .where(Certificate.unit_id == unit_id, Certificate.status == VALID)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def red_page_domains(session: Session, unit_id: int) -> list[str]:
    """The unit's active domains whose 主机信息 is "none": where its red page is served."""
    query = select(Domain.name).where(
        Domain.unit_id == unit_id,
        Domain.status == PUBLISHED_DOMAIN_STATUS,
        Domain.host_mode == HOST_MODE_RED_PAGE,
    )
    return list(session.scalars(query.order_by(Domain.name)))


# ---- helpers -------------------------------------------------------------------------------


def _first_draft(unit: Unit) -> dict[str, Any]:
    return {
        "layout": "classic",
        "colour": "red",
        "background": "plain",
        "background_image": None,
        "carousel": [],
        "news": [],
        "organisation": "",
        "functions": rich_text.from_plain_text(unit.functions),
        "introduction": "",
        "footer": asdict(Footer(sponsor=unit.name, address=unit.address)),
    }


def _edit(session: Session, page: RedPage, **changes: Any) -> None:
    """A new draft dict, so the JSON column sees the change (the published copy is never shared)."""
    page.draft = {**page.draft, **changes}
    page.saved_at = utcnow()
    session.flush()


def _news_values(fields: NewsFields) -> dict[str, str]:
    body = rich_text.sanitise(fields.body)
    if not fields.title or not rich_text.visible_text(body):
        raise ServiceRefusal("请填写动态的标题和正文", field="body")
    return {"title": fields.title, "date": fields.day.isoformat(), "body": body}


def _newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: item["date"], reverse=True)


def _store_image(session: Session, page: RedPage, upload: bytes) -> RedPageImage:
    clean = clean_image(upload)
    image = RedPageImage(red_page_id=page.id, data=clean.data, width=clean.width, height=clean.height)
    session.add(image)
    session.flush()
    return image


def _images_in(content: dict[str, Any] | None) -> set[int]:
    if not content:
        return set()
    ids = {slide["image"] for slide in content["carousel"]}
    background = content.get("background_image")
    return ids | {background} if background is not None else ids


def _drop_unused_images(session: Session, page: RedPage, candidates: set[int | None]) -> None:
    """Delete images neither the draft nor the published copy shows any more."""
    in_use = _images_in(page.draft) | _images_in(page.published)
    for image_id in candidates - in_use - {None}:
        image = session.get(RedPageImage, image_id)
        if image is not None and image.red_page_id == page.id:
            session.delete(image)
    session.flush()
