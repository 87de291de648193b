"""Insecure direct object references: every route with an id, requested for an object of another unit or
office, by every role that has no business with it.

Objects belong to unit A (demo unit1, 鄂尔多斯市, 编办:150600): its applications, tasks, contacts, domain and
DNS record, red page with image and news, certificate, messages; a remittance of its 编办; its account. Each
route is requested by the accounts listed with it (unit B, the 东胜区 编办, the 电子政务中心, CONAC, policy,
admin, as far as none of them is entitled); the answer must be 403 or 404, never the object. The owner's
GET of the same address answers 200, so the id is real. The table must cover every rule of app.url_map that
takes a parameter, except the public ones listed with their reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Certificate,
    Contact,
    DnsRecord,
    InAppMessage,
    OutboxMessage,
    RedPage,
    Remittance,
    Unit,
    User,
)
from app.services import api_tokens, red_pages, second_factor
from app.services.demo import DEMO_PASSWORD
from tests.attacks.tally import attempt
from tests.conftest import BIANBAN, TEST_APPLICATION, UNIT, add_domain, reject
from tests.second_factor_login import fresh_code, log_in

ATTACK = "IDOR"
STAFF = ["bianban", "conac", "policy", "admin"]
NOT_THE_OFFICE = ["unit1", "unit2", "dongsheng", "zhongxin", "policy", "admin"]
NOT_THE_REVIEWER = ["unit1", "unit2", "dongsheng", "zhongxin", "conac"]  # the API's 待办: not 编办:150600
API_ITEM_ACTIONS = ("claim", "release", "complete")
NOT_SECURITY, NOT_SYSTEM = ["admin", "auditor"], ["secadmin", "auditor"]  # the other two of the 三员
# (method, path template, accounts that must be refused, owner account whose GET must succeed or None)
ROUTES: list[tuple[str, str, list[str], str | None]] = [
    ("GET", "/unit/applications/{returned_key}", ["unit2", *STAFF], "unit1"),
    ("POST", "/unit/applications/{returned_key}/abandon", ["unit2", *STAFF], None),
    ("POST", "/unit/applications/{returned_key}/remind", ["unit2", *STAFF], None),
    ("POST", "/unit/applications/{returned_key}/withdraw", ["unit2", *STAFF], None),
    ("GET", "/unit/tasks/{revise_item}", ["unit2", *STAFF], "unit1"),
    ("POST", "/unit/tasks/{revise_item}", ["unit2", *STAFF], None),
    ("GET", "/unit/contacts/{contact_id}", ["unit2", *STAFF], "unit1"),
    ("POST", "/unit/contacts/{contact_id}", ["unit2", *STAFF], None),
    ("POST", "/unit/contacts/{contact_id}/remove", ["unit2", *STAFF], None),
    ("GET", "/unit/domains/{domain_id}", ["unit2", *STAFF], "unit1"),
    ("POST", "/unit/domains/{domain_id}/dns", ["unit2", *STAFF], None),
    ("POST", "/unit/domains/{domain_id}/dns/{record_id}/remove", ["unit2", *STAFF], None),
    ("GET", "/unit/red-page/images/{image_id}.jpg", ["unit2", *STAFF], "unit1"),
    ("POST", "/unit/red-page/carousel/{image_id}/delete", ["unit2", *STAFF], None),
    ("GET", "/unit/red-page/news/{news_id}", ["unit2", *STAFF], "unit1"),
    ("POST", "/unit/red-page/news/{news_id}", ["unit2", *STAFF], None),
    ("POST", "/unit/red-page/news/{news_id}/delete", ["unit2", *STAFF], None),
    ("GET", "/unit/red-page/preview/news/{news_id}", ["unit2", *STAFF], "unit1"),
    ("GET", "/unit/badges/{code}", ["unit2", *STAFF], "unit1"),
    ("GET", "/review/tasks/{review_item}", NOT_THE_OFFICE, "bianban"),
    ("POST", "/review/tasks/{review_item}", NOT_THE_OFFICE, None),
    ("POST", "/review/tasks/{review_item}/claim", NOT_THE_OFFICE, None),
    ("POST", "/review/tasks/{review_item}/release", NOT_THE_OFFICE, None),
    ("POST", "/review/tasks/{review_item}/transfer", NOT_THE_OFFICE, None),
    # National offices (CONAC, 电子政务中心) may open every application (services/jurisdiction.visible_instances).
    ("GET", "/applications/{returned_key}/diagram.xml", ["unit2", "dongsheng", "policy", "admin"], "unit1"),
    ("GET", "/applications/{returned_key}/progress.json", ["unit2", "dongsheng", "policy", "admin"], "unit1"),
    ("GET", "/applications/{returned_key}/documents/notice.pdf", ["unit2", "dongsheng", "policy", "admin"], None),
    ("GET", "/applications/{returned_key}/id-card-copy.jpg", ["unit2", "dongsheng", "policy", "admin"], None),
    ("POST", "/applications/{returned_key}/id-card-copy", ["unit2", *STAFF], None),
    ("GET", "/domains/{domain_id}", ["unit1", "unit2", "dongsheng", "policy", "admin"], "bianban"),
    ("POST", "/domains/{domain_id}/freeze", ["unit1", "unit2", "dongsheng", "policy", "admin"], None),
    ("POST", "/domains/unpaid/{returned_key}/years", ["unit1", "unit2", "dongsheng", "policy", "admin"], None),
    ("GET", "/placement/certificates/{certificate_id}", ["unit2", "dongsheng", "policy", "admin"], "bianban"),
    ("POST", "/placement/certificates/{certificate_id}/check", ["unit2", "dongsheng", "policy", "admin"], None),
    (
        "POST",
        "/placement/certificates/{certificate_id}/revoke",
        ["unit1", "unit2", "dongsheng", "policy", "admin"],
        None,
    ),
    ("GET", "/units/{unit_id}", ["unit1", "unit2", "dongsheng", "policy", "admin"], "bianban"),
    ("POST", "/units/{unit_id}", ["unit1", "unit2", "dongsheng", "policy", "admin"], None),
    ("POST", "/units/{unit_id}/password", ["unit1", "unit2", "dongsheng", "policy", "admin"], None),
    ("POST", "/units/{unit_id}/unlock", ["unit1", "unit2", "dongsheng", "policy", "admin"], None),
    (
        "POST",
        "/billing/remittances/{remittance_id}/confirm",
        ["unit1", "bianban", "dongsheng", "policy", "admin"],
        None,
    ),
    ("POST", "/messages/{message_id}/read", ["unit2", "bianban", "dongsheng"], None),
    # 三员: the security admin's actions on an account, the system admin's on roles, retries and delivery.
    ("GET", "/admin/users/{user_id}/password", ["unit1", "bianban", "conac", "policy", *NOT_SECURITY], "secadmin"),
    ("POST", "/admin/users/{user_id}/password", ["unit1", "bianban", "conac", "policy", *NOT_SECURITY], None),
    ("POST", "/admin/users/{user_id}/unlock", ["unit1", "bianban", "conac", "policy", *NOT_SECURITY], None),
    ("POST", "/admin/users/{user_id}/sessions/end", ["unit1", "bianban", "conac", "policy", *NOT_SECURITY], None),
    ("GET", "/admin/users/{user_id}/mobile", ["unit1", "bianban", "conac", "policy", *NOT_SECURITY], None),
    ("POST", "/admin/users/{user_id}/mobile", ["unit1", "bianban", "conac", "policy", *NOT_SECURITY], None),
    (
        "POST",
        "/admin/users/{user_id}/second-factor/reset",
        ["unit1", "bianban", "conac", "policy", *NOT_SECURITY],
        None,
    ),
    ("GET", "/admin/users/{user_id}/role", ["unit1", "bianban", "conac", "policy", *NOT_SYSTEM], "admin"),
    ("POST", "/admin/users/{user_id}/role", ["unit1", "bianban", "conac", "policy", *NOT_SYSTEM], None),
    ("POST", "/admin/outbox/{outbox_id}/retry", ["unit1", "bianban", "conac", "policy", *NOT_SYSTEM], None),
    ("POST", "/admin/errors/{returned_key}/retry", ["unit1", "bianban", "conac", "policy", *NOT_SYSTEM], None),
    # The REST API, with each account's own API token (Browsers.request): the same refusals as the pages.
    ("GET", "/api/v1/work-items/{review_item}", NOT_THE_REVIEWER, "bianban"),
    *[("POST", f"/api/v1/work-items/{{review_item}}/{verb}", NOT_THE_REVIEWER, None) for verb in API_ITEM_ACTIONS],
    ("GET", "/api/v1/applications/{returned_key}", ["unit2", "dongsheng"], "unit1"),
    ("GET", "/api/v1/applications/{returned_key}/history", ["unit2", "dongsheng"], "unit1"),
    ("POST", "/account/api-tokens/{token_id}/revoke", ["unit2", "bianban", "dongsheng", "policy", "admin"], None),
    ("GET", "/hy/{other_page_id}/images/{image_id}.jpg", [None], None),  # A's image under B's page
    ("GET", "/hy/{page_id}/", [None], None),  # A's page is not published
    ("GET", "/hy/{page_id}/news/{news_id}", [None], None),
]
STUDIO = [
    *[("GET", f"/studio/two_reviews/{tail}") for tail in ("", "v1", "v1.bpmn", "draft.json", "edit", "compare")],
    ("GET", "/studio/two_reviews/v1/migrate"),
    *[("POST", f"/studio/two_reviews/{tail}") for tail in ("check", "deploy", "draft", "draft/discard")],
    *[("POST", f"/studio/two_reviews/{tail}") for tail in ("draft/rebase", "migrations/undo", "preview")],
    *[("POST", f"/studio/two_reviews/v1/{tail}") for tail in ("rollback", "migrate/dry-run", "migrate/run")],
]
ROUTES += [(method, path, ["unit1", "bianban", "conac", "admin"], None) for method, path in STUDIO]
# Routes that act on the requester's own red page: another unit's id finds nothing there (a 302 with a
# message), and the test then checks that unit A's image and news are still in place.
OWN_PAGE = {"/unit/red-page/carousel/{image_id}/delete", "/unit/red-page/news/{news_id}/delete"}
# Rules with a parameter that are public by design, or not an object reference.
PUBLIC = {
    "/static/<path:filename>": "the static files",
    "/image/<name>.png": "the badge images, the same for everyone",
    "/js/<province>/<city>/<county>/<number>/<code>.js": "a badge script, meant to be embedded by any site",
    "/hy/<int:page_id>/": "a published red page is public (an unpublished one is in the table)",
    "/hy/<int:page_id>/news/<news_id>": "published news is public (unpublished in the table)",
    "/unit/red-page/text/<section>": "the section of the unit's own page; no id of another unit",
    "/unit/start/<process_id>": "starts the unit's own application of a procedure",
    "/api/v1/certificates/<reference>": "a certificate's public facts, as on the public 标识证书 page",
}


@dataclass
class World:
    returned_key: str
    revise_item: int
    review_item: int
    contact_id: int
    domain_id: int
    record_id: int
    image_id: int
    news_id: str
    page_id: int
    other_page_id: int
    code: str
    certificate_id: int
    unit_id: int
    remittance_id: int
    message_id: int
    user_id: int
    outbox_id: int
    token_id: int


def _picture() -> bytes:
    picture = BytesIO()
    Image.new("RGB", (800, 300), (200, 30, 30)).save(picture, "PNG")
    return picture.getvalue()


def _red_page(unit: Unit, publish: bool) -> tuple[int, int, str]:
    page = red_pages.page_of(db.session, unit)
    for section in red_pages.TEXT_SECTIONS:
        red_pages.save_text(db.session, page, section, "<p>介绍</p>")
    news_id = red_pages.add_news(db.session, page, red_pages.NewsFields("通知", date(2026, 10, 8), "<p>正文</p>"))
    red_pages.add_carousel_image(db.session, page, _picture(), "大楼")
    red_pages.save_footer(db.session, page, red_pages.Footer(unit.name, "地址", "0477-1234567"))
    if publish:
        red_pages.publish(db.session, page, UNIT)
    db.session.commit()
    return page.id, page.draft["carousel"][0]["image"], news_id


@pytest.fixture
def world(demo: dict[str, Any], start: Any, two_reviews: str) -> World:
    unit_a = db.session.get(Unit, demo["unit1"].unit_id)
    unit_b = db.session.get(Unit, demo["unit2"].unit_id)
    returned = start(two_reviews, unit_a).complete(UNIT, TEST_APPLICATION).complete(BIANBAN, reject("请修改"))
    waiting = start(two_reviews, unit_a).complete(UNIT, {**TEST_APPLICATION, "domain_name": "第二个测试单位.政务"})
    domain = add_domain(unit_a, "越权测试单位.政务")
    record = DnsRecord(domain_id=domain.id, host="@", record_type="A", value="202.96.1.10", created_by="unit1")
    certificate = Certificate(
        public_id="A" * 32, unit_id=unit_a.id, colour="red", site_name="越权", domains=[domain.name]
    )
    remittance = Remittance(office_code="编办:150600", created_by="bianban")
    message = InAppMessage(unit_id=unit_a.id, subject="通知", body="正文")
    outbox = OutboxMessage(channel="sms", recipient="13800138000", body="正文")
    db.session.add_all([record, certificate, remittance, message, outbox])
    db.session.flush()
    certificate.code = "CA15060020260000001"
    db.session.commit()
    page_id, image_id, news_id = _red_page(unit_a, publish=False)
    other_page_id, _, _ = _red_page(unit_b, publish=True)
    contact = db.session.scalars(select(Contact).where(Contact.unit_id == unit_a.id)).first()
    user = db.session.scalar(select(User).where(User.username == "unit1"))
    token = api_tokens.create(db.session, user, api_tokens.Request("越权", 30), datetime.now(UTC), None, (180, 5))
    db.session.commit()
    return World(
        returned.instance.business_key,
        returned.task().id,
        waiting.task().id,
        contact.id,
        domain.id,
        record.id,
        image_id,
        news_id,
        page_id,
        other_page_id,
        certificate.code,
        certificate.id,
        unit_a.id,
        remittance.id,
        message.id,
        user.id,
        outbox.id,
        token.token.id,
    )


class Browsers(dict[str | None, Any]):
    """One logged-in test client per account (None: not logged in), each logging in once."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app
        self.tokens: dict[str | None, str] = {}

    def __missing__(self, account: str | None) -> Any:
        client = self.app.test_client()
        if account is not None:
            response = log_in(client, account, DEMO_PASSWORD)
            assert response.status_code == 302, f"{account} cannot log in"
        self[account] = client
        return client

    def request(self, account: str | None, method: str, path: str) -> Any:
        if path.startswith("/api/v1/"):
            headers = {"Authorization": f"Bearer {self.token(account)}"}
            body = {"data": {"decision": "approve"}}
            return self.app.test_client().open(path, method=method, json=body, headers=headers)
        return self[account].open(path, method=method, data={"decision": "approve", "reason": "x", "years": "3"})

    def token(self, account: str | None) -> str:
        """The account's API token, made once as its token page makes one (staff with a current code)."""
        if account not in self.tokens:
            user = db.session.scalar(select(User).where(User.username == account))
            code = fresh_code(str(account)) if second_factor.is_required(user) else ""
            wanted = api_tokens.Request("越权测试", 30, code)
            self.tokens[account] = api_tokens.create(db.session, user, wanted, datetime.now(UTC), None, (180, 5)).secret
            db.session.commit()
        return self.tokens[account]


class TestForeignObjects:
    """Every route with an id (applications, tasks, contacts, domains, DNS records, red-page images and news,
    certificates, units, remittances, messages, accounts, outbox, procedures), each requested by every
    account without a right to the object: 403 or 404 every time, and the owner's GET still answers 200."""

    def test_every_foreign_request_is_refused(self, app: Flask, world: World) -> None:
        ids, browsers = vars(world), Browsers(app)
        failures = []
        for method, template, accounts, owner in ROUTES:
            path = template.format(**ids)
            for account in accounts:
                try:
                    with attempt(ATTACK, f"{account or 'anyone'}: {method} {template}"):
                        status = browsers.request(account, method, path).status_code
                        assert status in ((302, 403, 404) if template in OWN_PAGE else (403, 404)), status
                except AssertionError as failure:
                    failures.append(f"{account} {method} {path}: {failure}")
            if owner is not None and browsers.request(owner, "GET", path).status_code != 200:
                failures.append(f"control: {owner} GET {path} is not 200, so the id proves nothing")
        assert not failures
        db.session.expire_all()
        draft = db.session.get(RedPage, world.page_id).draft
        assert [slide["image"] for slide in draft["carousel"]] == [world.image_id]
        assert [item["id"] for item in draft["news"]] == [world.news_id]


def test_the_table_covers_every_rule_with_a_parameter(app: Flask) -> None:
    """Walk app.url_map: a new route taking an id fails here until it is in the table (or PUBLIC, with why)."""
    adapter = app.url_map.bind("localhost")
    covered = {adapter.match(template.format_map(_SampleIds()), method=method)[0] for method, template, _, _ in ROUTES}
    missing = [
        f"{sorted(rule.methods - {'HEAD', 'OPTIONS'})} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.arguments and rule.rule not in PUBLIC and rule.endpoint not in covered
    ]
    assert missing == []


class _SampleIds(dict[str, str]):
    """Any id of the table's templates as "1" (and a code as a 标识编号), to match the templates to rules."""

    def __missing__(self, key: str) -> str:
        return "CA15060020260000001" if key == "code" else "1"
