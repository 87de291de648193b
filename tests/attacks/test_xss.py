"""Stored XSS: markup typed into one role's fields, shown on the pages of another role.

The probe is script, an event handler and an attribute break-out at once. It goes into the unit's name and
contact, the application's form data, a reviewer's 不同意 reason, a DNS record's value and refusal reason,
the 网络红页's rich texts, news and footer, and the policy's diagram texts (documentation, instructions).
Each page that shows the field must show the probe's plain text (so the field is really there) and none of
its markup: templates autoescape, and rich text passes the red page's allow-list (services/rich_text.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from io import BytesIO
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from app.engine import Engine
from app.extensions import db
from app.models import Contact, DnsRecord, Unit
from app.services import red_pages
from tests.attacks.tally import attempt
from tests.conftest import BIANBAN, DIAGRAMS, TEST_APPLICATION, TESTS_ROOT, UNIT, add_domain, deploy_xml, reject

ATTACK = "XSS"
MARK = "XSS标记"
PROBE = f"{MARK}<script>alert(1)</script><img src=x onerror=alert(2)>\"'><svg onload=alert(3)>"
RICH_PROBE = f'<p>{MARK}</p><script>alert(1)</script><a href="javascript:alert(4)">链接</a><img src=x onerror=alert(2)>'
# What must never reach a page raw: each would run in the reader's browser.
RAW = ("<script>alert", "<img src=x onerror", "<svg onload", 'href="javascript:', "onerror=alert(2)>")


def _picture() -> bytes:
    picture = BytesIO()
    Image.new("RGB", (800, 300), (200, 30, 30)).save(picture, "PNG")
    return picture.getvalue()


def _xml_escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@dataclass
class World:
    unit: Unit
    returned_key: str  # an application the 编办 returned with the probe as its reason
    review_item: int  # an application waiting in the 编办's inbox
    revise_item: int  # the unit's task to revise the returned one
    domain_id: int
    page_id: int
    news_id: str


@pytest.fixture
def world(engine: Engine, demo: dict[str, Any], start: Any) -> World:
    diagram = (DIAGRAMS / "two_reviews.bpmn").read_text(encoding="utf-8")
    diagram = diagram.replace("单位填报测试申请。", _xml_escaped(PROBE)).replace(
        "请审核测试申请，不同意的写明说明。", _xml_escaped(PROBE)
    )
    diagram = diagram.replace("请填写测试申请：名称、年限和联系人。", _xml_escaped(PROBE))
    diagram = diagram.replace("机制测试用：", _xml_escaped(PROBE) + "机制测试用：")
    deploy_xml(engine, diagram, "two_reviews.bpmn", TESTS_ROOT)
    unit = db.session.get(Unit, demo["unit1"].unit_id)
    unit.name = f"某单位{PROBE}"[:120]
    db.session.scalars(select(Contact).where(Contact.unit_id == unit.id)).first().name = PROBE[:40]
    db.session.commit()
    form = {**TEST_APPLICATION, "contact_name": "张经办"}
    returned = start("two_reviews", unit).complete(UNIT, form).complete(BIANBAN, reject(PROBE))
    waiting = start("two_reviews", unit).complete(UNIT, {**form, "domain_name": "第二个测试单位.政务"})
    domain = add_domain(unit, "跨站测试单位.政务")
    db.session.add(
        DnsRecord(domain_id=domain.id, host="@", record_type="URL", value=PROBE, reason=PROBE, created_by="x")
    )
    page = red_pages.page_of(db.session, unit)
    for section in red_pages.TEXT_SECTIONS:
        red_pages.save_text(db.session, page, section, RICH_PROBE)
    news_id = red_pages.add_news(db.session, page, red_pages.NewsFields(PROBE[:60], date(2026, 10, 8), RICH_PROBE))
    red_pages.save_footer(db.session, page, red_pages.Footer(PROBE[:60], PROBE[:60], "0477-1234567"))
    red_pages.add_carousel_image(db.session, page, _picture(), PROBE[:60])
    red_pages.publish(db.session, page, UNIT)
    db.session.commit()
    return World(
        unit, returned.instance.business_key, waiting.task().id, returned.task().id, domain.id, page.id, news_id
    )


# (account, path) of every page that shows a probed field to a role other than its author's; None: anyone.
PAGES = [
    ("unit1", "/unit/applications/{returned_key}"),  # the reviewer's reason
    ("unit1", "/unit/tasks/{revise_item}"),  # the reason again, and the diagram's instructions
    ("unit1", "/unit/"),  # the procedure's documentation
    ("unit1", "/unit/start/two_reviews"),
    ("bianban", "/review/"),  # the unit's name
    ("bianban", "/review/tasks/{review_item}"),  # unit, contact, instructions
    ("bianban", "/units/"),
    ("bianban", "/units/{unit_id}"),
    ("bianban", "/domains/{domain_id}"),  # DNS value and reason
    ("bianban", "/domains/"),
    ("unit1", "/unit/domains/{domain_id}"),
    (None, "/hy/{page_id}/"),  # the public red page: rich text and footer
    (None, "/hy/{page_id}/news/{news_id}"),
]


class TestStoredMarkup:
    """Stored XSS in unit names and contacts, reviewers' reasons, DNS values and reasons, red-page rich
    texts, news and footer, and diagram documentation and instructions: on each page of another role the
    text is shown and its script, event handlers, javascript: links and attribute break-outs are not."""

    @pytest.mark.parametrize(("account", "template"), PAGES, ids=[f"{a}: {t}" for a, t in PAGES])
    def test_the_page_shows_text_not_markup(
        self, account: str | None, template: str, world: World, login: Any, client: Any
    ) -> None:
        path = template.format(unit_id=world.unit.id, **{k: v for k, v in vars(world).items() if k != "unit"})
        with attempt(ATTACK, f"{account}: {template}"):
            browser = login(account) if account else client
            response = browser.get(path)
            body = response.get_data(as_text=True)
            assert response.status_code == 200, path
            assert MARK in body, path
            assert not [raw for raw in RAW if raw in body], path
