"""网络红页 (seed 001, DOMAIN.md §4): the unit's editor, the publish rule, uploads, rich text, serving.

1. 发布红页 is refused with the list of missing sections until a carousel image, a news item,
   机构设置, 机构职能, 机构介绍 and the footer are there; the refusal names exactly what is missing.
2. Uploads: a PNG signature followed by HTML, a text file named .png, a decompression bomb and an oversized
   file are refused with a Chinese message and nothing stored; a real image with a script appended is
   stored as a fresh JPEG without the script.
3. Rich text loses script elements, on* attributes, javascript: links and images; harmless markup stays.
4. Draft and published: edits after publishing change nothing public until the next 发布; an image
   removed from the draft stays public until then and is deleted afterwards.
5. Serving: the stable path /hy/<id>/, and "/" under the unit's domain (U-label, A-label, www) when its
   主机信息 is "none"; not for an 'ip' domain, an expired one or an unpublished page.
6. The footer carries the badge (shape 2, same-origin script) of the unit's valid certificate; the
   public page has no inline script or style.
7. Another unit cannot see or change this unit's page or its draft images; reviewers get 403.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, RedPage, RedPageImage, Unit
from app.services import badges, red_pages
from app.services.audit import Actor
from app.services.red_page_images import MAX_UPLOAD_BYTES
from app.taskforms.formats import to_ascii_domain
from tests.conftest import add_domain

DOMAIN = "鄂尔多斯市人民政府办公室.政务"
DOMAIN_A_LABEL = to_ascii_domain(DOMAIN)
UNIT_ACTOR = Actor("unit1", "单位")
EVIL_MARKUP = (
    '<p onclick="steal()">本局负责<script>alert(1)</script>林草工作</p>'
    '<a href="javascript:alert(2)">恶意链接</a><img src="x" onerror="alert(3)">'
    '<style>body{display:none}</style><a href="https://www.example.cn/">正常链接</a>'
)


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def png(width: int = 64, height: int = 40, colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def image_count() -> int:
    return db.session.scalar(select(func.count()).select_from(RedPageImage)) or 0


def page_of(unit: Unit) -> RedPage:
    db.session.expire_all()
    page = db.session.scalar(select(RedPage).where(RedPage.unit_id == unit.id))
    assert page is not None
    return page


@pytest.fixture
def unit1(demo: dict[str, Any]) -> Unit:
    return demo["unit1"].unit


@pytest.fixture
def editor(login: Any) -> Any:
    return login("unit1")


@pytest.fixture
def visitor(app: Any) -> Any:
    """Someone on the internet: no login, a cookie jar of their own."""
    return app.test_client()


def upload(client: Any, data: bytes, name: str = "banner.png", caption: str = "市府大楼") -> Any:
    form = {"image": (io.BytesIO(data), name), "caption": caption}
    return client.post("/unit/red-page/carousel", data=form, content_type="multipart/form-data")


def fill_everything(client: Any) -> None:
    """Every section the publish rule asks for, through the editor's forms."""
    assert upload(client, png()).status_code == 302
    news = {"title": "全市林草工作会议召开", "day": "2026-11-20", "body": "<p>会议部署了冬季防火工作。</p>"}
    assert client.post("/unit/red-page/news/new", data=news).status_code == 302
    texts = {"organisation": "办公室下设秘书科", "functions": "负责市政府日常运转", "introduction": "本单位简介"}
    for section, words in texts.items():
        assert client.post(f"/unit/red-page/text/{section}", data={"body": f"<p>{words}</p>"}).status_code == 302
    footer = {"sponsor": "鄂尔多斯市人民政府办公室", "address": "鄂尔多斯市康巴什区市府大楼", "phone": "0477-8888888"}
    assert client.post("/unit/red-page/footer", data=footer).status_code == 302


def publish(client: Any) -> Any:
    return client.post("/unit/red-page/publish", follow_redirects=True)


# ---- 1. the publish rule -------------------------------------------------------------------


def test_publishing_names_the_missing_sections_until_each_is_filled(editor: Any, unit1: Unit) -> None:
    unit1.functions = ""
    db.session.commit()
    refused = text(publish(editor))
    everything = "轮播图片（至少一张）、最新动态（至少一条）、机构设置、机构职能、机构介绍"
    assert f"红页还不能发布，请先完善：{everything}" in refused
    assert page_of(unit1).published_at is None

    assert upload(editor, png()).status_code == 302
    editor.post("/unit/red-page/text/functions", data={"body": "<p>负责市政府日常运转</p>"})
    editor.post("/unit/red-page/footer", data={"sponsor": "鄂尔多斯市人民政府办公室", "address": ""})  # refused
    missing = red_pages.missing_sections(page_of(unit1).draft)
    assert missing == ["最新动态（至少一条）", "机构设置", "机构介绍"]
    assert "红页还不能发布，请先完善：最新动态（至少一条）、机构设置、机构介绍" in text(publish(editor))

    blank = "<p>&nbsp;</p><p> </p>"  # looks empty: still missing
    editor.post("/unit/red-page/text/organisation", data={"body": blank})
    assert "机构设置" in red_pages.missing_sections(page_of(unit1).draft)

    fill_everything(editor)
    assert "红页已发布" in text(publish(editor))
    page = page_of(unit1)
    assert page.published_at is not None and page.published == page.draft
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "red_page_publish"))
    assert event is not None and event.actor == "unit1" and event.detail["red_page_id"] == page.id


def test_the_footer_needs_sponsor_and_address(editor: Any, unit1: Unit) -> None:
    unit1.address = ""
    db.session.commit()
    editor.get("/unit/red-page/")
    assert "底部页脚（主办单位和联系地址）" in red_pages.missing_sections(page_of(unit1).draft)
    refused = editor.post("/unit/red-page/footer", data={"sponsor": "鄂尔多斯市人民政府办公室", "address": ""})
    assert refused.status_code == 400 and "请填写联系地址" in text(refused)


# ---- 2. uploads ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", "banner.png"),  # signature, then HTML
        ("这不是图片，只是文字。".encode(), "notes.png"),  # a text file named .png
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "photo.jpg"),  # a JPEG signature and nothing decodable
        (b"GIF89a" + b"\x00" * 50, "anim.gif"),  # a real format we do not take
    ],
)
def test_a_file_that_is_not_really_an_image_is_refused(editor: Any, unit1: Unit, data: bytes, name: str) -> None:
    response = upload(editor, data, name)
    assert response.status_code == 400
    assert "上传的文件不是有效的 JPG 或 PNG 图片" in text(response)
    assert image_count() == 0 and page_of(unit1).draft["carousel"] == []


def test_oversized_and_overlarge_images_are_refused(editor: Any, unit1: Unit) -> None:
    just_over = png() + b"\x00" * (MAX_UPLOAD_BYTES - len(png()) + 1)
    response = upload(editor, just_over)
    assert response.status_code == 400 and "图片不能超过 5 MB" in text(response)

    far_over = b"\x89PNG\r\n\x1a\n" + b"\x00" * (3 * MAX_UPLOAD_BYTES)  # beyond the upload route's body limit
    response = upload(editor, far_over)
    assert response.status_code == 413 and "提交的内容超过了允许的大小" in text(response)

    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, format="PNG")  # a few KB that decode to 100 million pixels
    response = upload(editor, bomb.getvalue())
    assert response.status_code == 400 and "图片像素过多" in text(response)
    assert image_count() == 0


def test_an_upload_without_its_csrf_token_is_refused(
    editor: Any, unit1: Unit, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upload routes check the token themselves (after raising the body limit): it is still required."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = upload(editor, png())
    assert response.status_code == 400 and "页面已过期或来源无法确认" in text(response)
    assert image_count() == 0


def test_only_the_pixels_of_an_upload_are_kept(editor: Any, unit1: Unit) -> None:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "secret description"  # ImageDescription
    Image.new("RGBA", (2400, 1200), (0, 128, 0, 255)).save(out, format="PNG", exif=exif)
    polyglot = out.getvalue() + b"<script>alert(1)</script>"
    assert upload(editor, polyglot).status_code == 302

    (slide,) = page_of(unit1).draft["carousel"]
    stored = db.session.get(RedPageImage, slide["image"])
    assert stored is not None
    assert stored.data.startswith(b"\xff\xd8\xff") and b"<script>" not in stored.data and b"secret" not in stored.data
    assert (stored.width, stored.height) == (1920, 960)  # scaled to fit 1920 × 1920
    served = editor.get(f"/unit/red-page/images/{stored.id}.jpg")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"


def test_a_custom_background_is_uploaded_before_it_can_be_chosen(editor: Any, unit1: Unit) -> None:
    style = {"layout": "portal", "colour": "green", "background": "image"}
    refused = editor.post("/unit/red-page/style", data=style)
    assert refused.status_code == 400 and "请先上传自定义背景图" in text(refused)
    assert page_of(unit1).draft["layout"] == "classic"  # nothing of the refused form was saved

    form = {"bg-image": (io.BytesIO(png(800, 600, "gray")), "bg.png")}
    assert editor.post("/unit/red-page/background", data=form, content_type="multipart/form-data").status_code == 302
    draft = page_of(unit1).draft
    assert draft["background"] == "image" and draft["background_image"] is not None
    assert editor.post("/unit/red-page/style", data=style).status_code == 302
    preview = text(editor.get("/unit/red-page/preview"))
    assert 'class="rp rp-colour-green rp-bg-image rp-layout-portal"' in preview
    assert f'<img class="rp-bg-image" src="/unit/red-page/images/{draft["background_image"]}.jpg"' in preview


# ---- 3. rich text --------------------------------------------------------------------------


def test_script_and_html_are_removed_from_rich_text(editor: Any, unit1: Unit) -> None:
    editor.post("/unit/red-page/text/introduction", data={"body": EVIL_MARKUP})
    news = {"title": "动态", "day": "2026-11-21", "body": EVIL_MARKUP}
    assert editor.post("/unit/red-page/news/new", data=news).status_code == 302

    draft = page_of(unit1).draft
    for stored in (draft["introduction"], draft["news"][0]["body"]):
        assert "<p>本局负责林草工作</p>" in stored
        assert '<a href="https://www.example.cn/" rel="noopener noreferrer">正常链接</a>' in stored
        for gone in ("script", "alert", "onclick", "onerror", "javascript:", "<img", "<style", "display:none"):
            assert gone not in stored

    preview = text(editor.get("/unit/red-page/preview"))
    assert "alert(" not in preview and "onclick" not in preview and "本局负责林草工作" in preview


def test_a_refused_form_shows_the_text_again_without_its_script(editor: Any, unit1: Unit) -> None:
    response = editor.post("/unit/red-page/news/new", data={"title": "", "day": "2026-11-21", "body": EVIL_MARKUP})
    assert response.status_code == 400 and "请填写标题" in text(response)
    assert "本局负责林草工作" in text(response) and "alert(" not in text(response)


# ---- 4. draft and published ----------------------------------------------------------------


def test_edits_after_publishing_stay_in_the_draft_until_published_again(editor: Any, visitor: Any, unit1: Unit) -> None:
    fill_everything(editor)
    publish(editor)
    page = page_of(unit1)
    public_path = f"/hy/{page.id}/"
    assert "本单位简介" in text(visitor.get(public_path))

    editor.post("/unit/red-page/text/introduction", data={"body": "<p>修改后的简介</p>"})
    old_image = page.draft["carousel"][0]["image"]
    assert upload(editor, png(colour="blue"), caption="新图").status_code == 302
    editor.post(f"/unit/red-page/carousel/{old_image}/delete")

    public = text(visitor.get(public_path))
    assert "本单位简介" in public and "修改后的简介" not in public
    assert visitor.get(f"/hy/{page.id}/images/{old_image}.jpg").status_code == 200  # still published
    assert "修改后的简介" in text(editor.get("/unit/red-page/preview"))
    assert "草稿有尚未发布的修改" in text(editor.get("/unit/red-page/"))

    publish(editor)
    public = text(visitor.get(public_path))
    assert "修改后的简介" in public and "本单位简介" not in public
    assert visitor.get(f"/hy/{page.id}/images/{old_image}.jpg").status_code == 404
    assert db.session.get(RedPageImage, old_image) is None  # neither copy shows it: deleted


def test_news_items_are_added_edited_and_deleted(editor: Any, visitor: Any, unit1: Unit) -> None:
    fill_everything(editor)
    first = {"title": "第二条动态", "day": "2026-11-25", "body": "<p>正文</p>"}
    editor.post("/unit/red-page/news/new", data=first)
    news = page_of(unit1).draft["news"]
    assert [item["title"] for item in news] == ["第二条动态", "全市林草工作会议召开"]  # newest first

    news_id = news[0]["id"]
    edited = {"title": "第二条动态（更正）", "day": "2026-11-19", "body": "<p>更正后的正文</p>"}
    assert editor.post(f"/unit/red-page/news/{news_id}", data=edited).status_code == 302
    news = page_of(unit1).draft["news"]
    assert [item["title"] for item in news] == ["全市林草工作会议召开", "第二条动态（更正）"]

    publish(editor)
    page = page_of(unit1)
    detail = text(visitor.get(f"/hy/{page.id}/news/{news_id}"))
    assert "更正后的正文" in detail and "2026-11-19" in detail

    editor.post(f"/unit/red-page/news/{news_id}/delete")
    assert [item["id"] for item in page_of(unit1).draft["news"]] != [news_id]
    assert len(page_of(unit1).draft["news"]) == 1
    assert visitor.get(f"/hy/{page.id}/news/{news_id}").status_code == 200  # published until the next 发布
    assert editor.get("/unit/red-page/news/unknown1").status_code == 404


# ---- 5. serving ----------------------------------------------------------------------------


def published_page(editor: Any, unit: Unit) -> RedPage:
    fill_everything(editor)
    publish(editor)
    return page_of(unit)


@pytest.mark.parametrize("host", [DOMAIN, DOMAIN_A_LABEL, f"www.{DOMAIN}", f"{DOMAIN_A_LABEL.upper()}:8080"])
def test_the_unit_domain_serves_the_red_page_at_its_root(editor: Any, visitor: Any, unit1: Unit, host: str) -> None:
    add_domain(unit1, DOMAIN)
    page = published_page(editor, unit1)
    response = visitor.get("/", headers={"Host": host})
    assert response.status_code == 200 and "本单位简介" in text(response) and unit1.name in text(response)
    news_id = page.published["news"][0]["id"]  # type: ignore[index]
    assert f'href="/hy/{page.id}/news/{news_id}"' in text(response)
    stable = visitor.get(f"/hy/{page.id}/", headers={"Host": "127.0.0.1"})
    assert "本单位简介" in text(stable) and stable.headers["Cache-Control"] == "public, max-age=60"


def test_only_published_pages_of_red_page_domains_are_served(editor: Any, visitor: Any, unit1: Unit) -> None:
    domain = add_domain(unit1, DOMAIN)
    editor.get("/unit/red-page/")
    page = page_of(unit1)
    assert visitor.get(f"/hy/{page.id}/").status_code == 404  # not published yet
    assert "本单位简介" not in text(visitor.get("/", headers={"Host": DOMAIN}))

    published_page(editor, unit1)
    for host_mode, status in (("ip", "active"), ("none", "expired"), ("none", "frozen")):
        domain.host_mode, domain.status = host_mode, status
        db.session.commit()
        response = visitor.get("/", headers={"Host": DOMAIN})
        assert "本单位简介" not in text(response), (host_mode, status)
    domain.host_mode, domain.status = "none", "active"
    db.session.commit()
    assert "本单位简介" in text(visitor.get("/", headers={"Host": DOMAIN}))
    assert "本单位简介" not in text(visitor.get("/", headers={"Host": "其他单位.政务"}))
    assert "本单位简介" not in text(visitor.get("/", headers={"Host": "localhost"}))  # the platform's own home


# ---- 6. the badge and the page's own safety --------------------------------------------------


def test_the_footer_carries_the_badge_of_the_valid_certificate(editor: Any, visitor: Any, unit1: Unit) -> None:
    add_domain(unit1, DOMAIN)
    page = published_page(editor, unit1)
    assert "_ideConac" not in text(visitor.get(f"/hy/{page.id}/"))  # no certificate yet: no badge

    fields = {"colour": "red", "site_name": unit1.name, "domains": [DOMAIN], "hang_deadline": "2026-12-09"}
    issued = badges.issue(db.session, unit1.id, None, fields, datetime(2026, 12, 2, 2, 0, tzinfo=UTC))
    db.session.commit()
    response = visitor.get("/", headers={"Host": DOMAIN})  # no 发布 needed: the badge is placed at each visit
    html = text(response)
    script = re.search(r'<span id="_ideConac"></span><script src="(/js/[^"]+\.js)" type="text/javascript">', html)
    assert script is not None and script.group(1).endswith(f"/{issued['code']}.js")
    assert visitor.get(script.group(1), headers={"Host": DOMAIN, "Referer": f"http://{DOMAIN}/"}).status_code == 200

    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert all(' src="' in tag for tag in re.findall(r"<script[^>]*>", html)), "no inline script"
    assert " style=" not in html and "<style" not in html


def test_badge_images_from_a_configured_badge_host_are_allowed(
    editor: Any, visitor: Any, unit1: Unit, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = published_page(editor, unit1)
    monkeypatch.setitem(app.config, "BADGE_BASE_URL", "https://bszs.example.cn/")
    policy = visitor.get(f"/hy/{page.id}/").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://bszs.example.cn;" in policy and "script-src 'self';" in policy


# ---- 7. access -----------------------------------------------------------------------------


def test_another_unit_cannot_see_or_change_this_units_page(demo: dict[str, Any], login: Any, unit1: Unit) -> None:
    editor = login("unit1")
    fill_everything(editor)
    page = page_of(unit1)
    draft_image = page.draft["carousel"][0]["image"]
    news_id = page.draft["news"][0]["id"]

    other = login("unit2")
    assert other.get(f"/unit/red-page/images/{draft_image}.jpg").status_code == 404
    assert other.get(f"/unit/red-page/news/{news_id}").status_code == 404
    refused = other.post(f"/unit/red-page/news/{news_id}/delete", follow_redirects=True)
    assert "这条动态已被删除" in text(refused)
    other.post(f"/unit/red-page/carousel/{draft_image}/delete")
    other.post("/unit/red-page/text/introduction", data={"body": "<p>别的单位写的</p>"})
    other.post("/unit/red-page/publish")
    assert other.get(f"/hy/{page.id}/images/{draft_image}.jpg").status_code == 404  # a draft image is not public

    mine = page_of(unit1)
    assert mine.draft == page.draft and mine.published_at is None
    assert "别的单位写的" in page_of(demo["unit2"].unit).draft["introduction"]  # it edited its own page only
    assert login("bianban").get("/unit/red-page/").status_code == 403


def test_every_editor_route_refuses_visitors_and_reviewers(app: Any, login: Any, visitor: Any) -> None:
    """Walks the editor's url_map, so a route added later is covered too."""
    values = {"image_id": 1, "news_id": "abcd1234", "section": "introduction"}
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("red_pages.")]
    assert len(rules) >= 15
    reviewer = login("bianban")
    for rule in rules:
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert visitor.open(path, method=method).status_code == 302, (method, path)
            assert reviewer.open(path, method=method).status_code == 403, (method, path)
