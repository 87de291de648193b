"""网络红页 (seed 001 图17–29), walked in a real browser by a unit without a website of its own.

1. 鄂尔多斯市人民政府办公室 has an active .政务 domain whose 主机信息 is "none" and a valid badge
   (issued by 党政机关网站开办审核, which tests/browser/test_site_review_journey.py walks).
2. 红页管理 in the menu opens the editor; 发布红页 on an empty page is refused with the missing sections.
3. It chooses 行业布局, 颜色 and 背景图; a text file named .png is refused, a real image is uploaded for
   the carousel; it adds a news item and writes 机构设置, 机构职能, 机构介绍 with the editor's toolbar;
   the footer page says the badge is placed by itself; it fills the footer and publishes.
4. A visitor opens the stable address: the footer shows the badge image, linking to the certificate page.
5. The same page answers at "/" of the unit's Chinese domain (a browser resolving it to this server),
   and the badge there links to the 标识证书 page, which names the unit.
6. The draft is switched through the three layouts (screenshots of the preview of each); the public page
   keeps the published layout until 发布.

Screenshots go to tests/browser/screenshots/ (redpage-01-…).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Domain, RedPage, Unit
from app.services import badges
from app.taskforms.formats import to_ascii_domain
from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS
from tests.browser.test_site_review_journey import log_in  # the second factor included

UNIT_NAME = "鄂尔多斯市人民政府办公室"
DOMAIN = "鄂尔多斯市人民政府办公室.政务"
WAIT_MS = 10_000
INTRODUCTION = "鄂尔多斯市人民政府办公室是市政府的办事机构。"


def give_domain_and_badge(live_app: Flask) -> str:
    """An active red-page domain and a valid certificate for it, straight into the database; returns the
    certificate's public id."""
    with live_app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == UNIT_NAME))
        assert unit is not None
        today = date.today()
        db.session.add(
            Domain(
                unit_id=unit.id,
                name=DOMAIN,
                ascii_name=to_ascii_domain(DOMAIN),
                suffix="政务",
                status="active",
                years=1,
                host_mode="none",
                registered_on=today,
                expires_on=today + timedelta(days=365),
            )
        )
        fields = {"colour": "red", "site_name": UNIT_NAME, "domains": [DOMAIN], "hang_deadline": today.isoformat()}
        issued = badges.issue(db.session, unit.id, None, fields, datetime.now(UTC))
        db.session.commit()
        return str(issued["public_id"])


def banner_image(path: Path) -> Path:
    """A 1600×500 picture: sky, hills and a building (PNG)."""
    image = Image.new("RGB", (1600, 500), "#8fc3ea")
    draw = ImageDraw.Draw(image)
    for row in range(250):
        draw.line([(0, row), (1600, row)], fill=(120 + row // 4, 180 + row // 8, 235))
    draw.polygon([(0, 420), (400, 300), (800, 400), (1200, 280), (1600, 420), (1600, 500), (0, 500)], fill="#5c8d4e")
    draw.rectangle([650, 220, 950, 420], fill="#e9e2d0", outline="#8a7f66", width=4)
    draw.polygon([(630, 220), (800, 150), (970, 220)], fill="#b0131e")
    for column in range(5):
        draw.rectangle([680 + column * 55, 260, 710 + column * 55, 400], fill="#c9c0a8")
    out = io.BytesIO()
    image.save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def open_section(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="红页栏目").get_by_role("link", name=name).click()


def write_rich_text(page: Page, heading: str, words: str, saved: str) -> None:
    """Type into the editor's area with a bold heading line, then 保存."""
    page.locator(".rt-area").click()
    page.get_by_role("button", name="加粗").click()
    page.keyboard.type(heading)
    page.get_by_role("button", name="加粗").click()
    page.keyboard.press("Enter")
    page.keyboard.type(words)
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert").filter(has_text=saved)).to_be_visible()


def save_style(page: Page, layout: str, colour: str, background: str) -> None:
    open_section(page, "行业布局、颜色、背景图")
    page.get_by_label(layout).check()
    page.get_by_label(colour, exact=True).check()
    page.get_by_label(background, exact=True).check()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert").filter(has_text="行业布局、颜色和背景图已保存")).to_be_visible()


def fill_carousel(page: Page, folder: Path) -> None:
    """A text file named .png is refused next to the field; a real picture is taken."""
    open_section(page, "轮播图片")
    fake = folder / "notes.png"
    fake.write_text("这不是图片", encoding="utf-8")
    page.get_by_label("图片文件（JPG 或 PNG）").set_input_files(str(fake))
    page.get_by_role("button", name="上传").click()
    expect(page.locator(".invalid-feedback")).to_contain_text("上传的文件不是有效的 JPG 或 PNG 图片")
    page.get_by_label("图片文件（JPG 或 PNG）").set_input_files(str(banner_image(folder / "banner.png")))
    page.get_by_label("图片说明").fill("市府大楼")
    page.get_by_role("button", name="上传").click()
    expect(page.locator("#carousel-images img")).to_have_count(1)


def fill_news_and_texts(page: Page, shot: Any) -> None:
    open_section(page, "最新动态")
    page.get_by_role("link", name="添加动态").click()
    shot(page, "redpage-03-news-form")
    page.get_by_label("标题").fill("全市政务公开工作会议召开")
    page.get_by_label("发布日期").fill("2026-11-20")
    write_rich_text(page, "会议要求", "各部门要按照要求做好政府信息主动公开工作。", "动态已添加")
    expect(page.get_by_role("cell", name="全市政务公开工作会议召开")).to_be_visible()
    for section, heading, words in (
        ("机构设置", "内设机构", "秘书一科、秘书二科、综合科、督查室、政务公开办公室。"),
        ("机构职能", "主要职责", "负责市政府日常运转，协助市政府领导处理政务。"),
        ("机构介绍", "单位简介", INTRODUCTION),
    ):
        open_section(page, section)
        write_rich_text(page, heading, words, f"{section}已保存")
    shot(page, "redpage-03-introduction")


def fill_footer(page: Page) -> None:
    open_section(page, "底部页脚")
    expect(page.locator("#badge-note")).to_contain_text("会自动放在页脚中间，无需粘贴代码")
    page.get_by_label("联系电话").fill("0477-8588888")
    page.get_by_label("ICP备案号").fill("蒙ICP备00000000号")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert").filter(has_text="底部页脚已保存")).to_be_visible()


def red_page_id(live_app: Flask) -> int:
    with live_app.app_context():
        query = select(RedPage.id).join(Unit, Unit.id == RedPage.unit_id).where(Unit.name == UNIT_NAME)
        page_id = db.session.scalar(query)
        assert page_id is not None
        return page_id


def visit_at_domain(browser: Any, port: int | None, public_id: str, shot: Any) -> None:
    """The unit's domain, "/": the published page, its badge valid there and opening the 标识证书 page."""
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"http://{DOMAIN}:{port}/")
    expect(page.get_by_text(INTRODUCTION)).to_be_visible()
    badge = page.locator("#_ideConac a")
    expect(badge.locator("img")).to_be_visible(timeout=WAIT_MS)
    href = badge.get_attribute("href")
    assert href is not None and href.endswith(f"/sitename?method=show&id={public_id}")
    assert (badge.locator("img").get_attribute("src") or "").endswith("/image/red.png")  # not red_error.png
    shot(page, "redpage-06-at-domain")
    page.goto(href)
    expect(page.get_by_text(UNIT_NAME).first).to_be_visible()
    shot(page, "redpage-07-certificate")
    assert problems == []


@pytest.fixture
def domain_browser(browser: Any) -> Iterator[Any]:
    """A second chromium that resolves every name to this machine, so the unit's domain reaches the server."""
    other = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, "--host-resolver-rules=MAP * 127.0.0.1"]
    )
    yield other
    other.close()


def test_a_unit_without_a_website_publishes_its_red_page_with_the_badge(
    live_app: Flask, new_page: Any, shot: Any, base_url: str, domain_browser: Any, tmp_path: Path
) -> None:
    public_id = give_domain_and_badge(live_app)
    page: Page = new_page()
    log_in(page, "unit1")

    # 2. 红页管理 → the editor; publishing an empty page names what is missing
    page.get_by_role("link", name="红页管理").click()
    expect(page.get_by_role("heading", name="红页管理")).to_be_visible()
    page.get_by_role("button", name="发布红页").click()
    refusal = page.get_by_role("alert").filter(has_text="红页还不能发布")
    expect(refusal).to_contain_text("轮播图片（至少一张）、最新动态（至少一条）、机构设置")
    expect(page.locator("#red-page-status")).to_contain_text("尚未发布")
    shot(page, "redpage-01-refused")

    # 3. style, carousel, news, the three texts, the footer; then 发布红页
    save_style(page, "侧栏导航", "政务蓝", "圆点纹")
    shot(page, "redpage-02-style")
    fill_carousel(page, tmp_path)
    shot(page, "redpage-03-carousel")
    fill_news_and_texts(page, shot)
    fill_footer(page)
    shot(page, "redpage-04-footer")
    open_section(page, "概览与发布")
    expect(page.locator("#missing-sections")).to_contain_text("各栏目均已完善")
    page.get_by_role("button", name="发布红页").click()
    expect(page.get_by_role("alert").filter(has_text="红页已发布")).to_be_visible()
    page_id = red_page_id(live_app)

    # 4. a visitor at the stable address: the badge in the footer links to the certificate page
    visitor: Page = new_page()
    visitor.goto(f"/hy/{page_id}/")
    expect(visitor.get_by_role("heading", name="机构介绍")).to_be_visible()
    badge = visitor.locator("#_ideConac a")
    expect(badge).to_have_attribute("href", f"{base_url}/sitename?method=show&id={public_id}", timeout=WAIT_MS)
    expect(badge.locator("img")).to_have_attribute("src", f"{base_url}/image/red.png")
    shot(visitor, "redpage-05-published-sidebar")

    # 5. the unit's own Chinese domain
    visit_at_domain(domain_browser, urlsplit(base_url).port, public_id, shot)

    # 6. the three layouts in the draft's preview; the public page keeps the published one until 发布
    for layout, colour, background, name in (
        ("政务经典", "中国红", "渐变", "classic"),
        ("大图门户", "生态绿", "方格纹", "portal"),
        ("侧栏导航", "政务蓝", "圆点纹", "sidebar"),
    ):
        save_style(page, layout, colour, background)
        page.goto("/unit/red-page/preview")
        expect(page.get_by_role("note")).to_contain_text("草稿预览")
        expect(page.locator(f"body.rp-layout-{name}")).to_be_attached()
        shot(page, f"redpage-08-layout-{name}")
        visitor.reload()
        expect(visitor.locator("body.rp-layout-sidebar")).to_be_attached()
        page.goto("/unit/red-page/")
