"""Website badges: the certificate a shipped diagram issues, the badge script and images, the public
标识证书 page and the unit's 标识管理 page (DOMAIN.md §2).

- A certificate has an opaque public id (32 uppercase hex), the 标识编号, the bound Chinese and English
  domains, the 机构职能/业务范围 approved with the application and the 编办 that issued it.
- The script at /js/PP/CCC/DDDD/ID/<code>.js fills <span id="_ideConac"> with a link to the certificate
  page around the red or blue image; the _error image when the certificate is not valid or the page
  (its Referer) is not on a bound domain. A forged or unknown code is 404 with the error image.
- Hits are cacheable (ETag, Cache-Control) and never write to the database.
- The certificate page is public and read-only; the 标识管理 page shows the unit its own certificates only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from io import BytesIO
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from markupsafe import escape
from PIL import Image
from sqlalchemy import event, select

from app.extensions import db
from app.models import AuditEvent, Certificate, Domain, Office, Unit
from app.services import badge_script, badges
from app.taskforms.formats import to_ascii_domain
from app.web.badges.routes import badge_state
from tests.conftest import APPROVE, BIANBAN, CONAC, UNIT, Application, add_domain

PARTY, INSTITUTION = "party_site_review", "institution_badge"
ORGAN, HOSPITAL = "鄂尔多斯市人民政府", "鄂尔多斯市中心医院"
ORGAN_DOMAIN, HOSPITAL_DOMAIN = f"{ORGAN}.政务", f"{HOSPITAL}.公益"
ENGLISH = "ordos.gov.cn"
OFFICE_NAME = "鄂尔多斯市委编办"
FUNCTIONS = "贯彻执行上级决定，管理本市行政事务。"
SCOPE = "医疗、预防、保健、康复服务，医学教学与科研"


def party_form(**changes: Any) -> dict[str, Any]:
    form = {
        "application_type": "new",
        "badge_location": "own_site",
        "server_ip": "202.96.1.10",
        "english_domain": ENGLISH,
        "site_name": ORGAN,
        "domains": [ORGAN_DOMAIN],
        "site_intro": "本网站由鄂尔多斯市人民政府主办，旨在介绍我单位职能、职责、人员编制，面向社会公开工作动态。",
        "contact_name": "张经办",
        "contact_mobile": "13800138000",
        "contact_email": "zhang@example.cn",
    }
    return {**form, **changes}


INSTITUTION_FORM = {
    "badge_location": "red_page",
    "site_name": HOSPITAL,
    "domains": [HOSPITAL_DOMAIN],
    "site_intro": "本网站由鄂尔多斯市中心医院主办，旨在介绍我单位职能、业务范围，面向社会公开工作动态。",
    "business_scope": SCOPE,
    "contact_name": "李经办",
    "contact_mobile": "13900139000",
    "contact_email": "li@example.cn",
}


@pytest.fixture(autouse=True)
def fresh_badge_cache(app: Flask) -> Iterator[None]:
    """Each test starts with an empty badge cache (the app, and so its cache, outlives a test)."""
    badge_state(app).views.clear()
    yield
    badge_state(app).views.clear()


@pytest.fixture
def organ(make_unit: Any) -> Unit:
    unit = make_unit("党政机关", "150600", ORGAN)
    unit.address, unit.nature, unit.functions = "鄂尔多斯市康巴什区市府大楼", "机关", FUNCTIONS
    db.session.scalar(select(Office).where(Office.code == "编办:150600")).name = OFFICE_NAME
    db.session.commit()
    add_domain(unit, ORGAN_DOMAIN)
    return unit


ACTORS = {actor.role: actor for actor in (UNIT, BIANBAN, CONAC)}
# Every later step approves: reviews, the unit's report that the paper went out, the 编办's paper check.
APPROVALS = {
    "review-decision.schema.json": APPROVE,
    "paper-submission.schema.json": {"paper_delivery": "in_person"},
    "paper-confirmation.schema.json": {"decision": "ok"},
}


def issue_badge(start: Any, process: str, unit: Unit, form: dict[str, Any]) -> Certificate:
    """Submit the application, then approve every step of the shipped diagram until it issues the badge."""
    application: Application = start(process, unit)
    application.complete(UNIT, form)
    while application.tasks:
        item = application.task()
        application.complete(ACTORS[item.role], APPROVALS[str(item.form)])
    assert application.stage == "标识已发放"
    return db.session.scalars(select(Certificate).where(Certificate.instance_id == application.instance_id)).one()


def issue_party_badge(start: Any, unit: Unit, form: dict[str, Any] | None = None) -> Certificate:
    """开办审核 through both reviews and the paper check: a red badge."""
    return issue_badge(start, PARTY, unit, form or party_form())


@pytest.fixture
def red(organ: Unit, start: Any, clock: Any) -> Certificate:
    clock.set("2026-09-28 10:00")
    return issue_party_badge(start, organ)


def script_of(client: Any, certificate: Certificate, referer: str | None = "") -> Any:
    headers = {"Referer": referer} if referer else {}
    return client.get(badges.script_path(certificate), headers=headers)


SCRIPT_SHAPE = re.compile(
    re.escape('(function(){var s=document.getElementById("_ideConac");if(s){s.innerHTML=')
    + '(".*")'
    + re.escape(";}})();\n")
)


def badge_markup(response: Any) -> str:
    """The HTML the badge script puts into <span id="_ideConac">."""
    literal = SCRIPT_SHAPE.fullmatch(response.get_data(as_text=True))
    assert literal is not None, response.get_data(as_text=True)
    return str(json.loads(literal.group(1)))


# --- issue through the shipped diagrams ----------------------------------------------------------


def test_the_party_diagram_issues_a_red_certificate_with_its_domains_functions_and_issuer(
    red: Certificate, organ: Unit
) -> None:
    assert re.fullmatch(r"[0-9A-F]{32}", red.public_id)
    assert red.code == f"CA1506002026{red.id:07d}"
    assert (red.unit_id, red.colour, red.kind_label, red.status) == (organ.id, "red", "党政机关", "valid")
    assert (red.site_name, red.domains, red.english_domain) == (ORGAN, [ORGAN_DOMAIN], ENGLISH)
    assert red.functions == FUNCTIONS
    assert (red.issuer_office_code, red.issuer_name) == ("编办:150600", OFFICE_NAME)
    assert badges.script_path(red) == f"/js/15/006/0000/{red.id:07d}/{red.code}.js"


def test_the_institution_diagram_issues_a_blue_certificate_with_the_business_scope(make_unit: Any, start: Any) -> None:
    unit = make_unit("事业单位", "150602", HOSPITAL)
    add_domain(unit, HOSPITAL_DOMAIN)

    certificate = issue_badge(start, INSTITUTION, unit, INSTITUTION_FORM)

    assert (certificate.colour, certificate.kind_label, certificate.functions) == ("blue", "事业单位", SCOPE)
    assert (certificate.domains, certificate.english_domain) == ([HOSPITAL_DOMAIN], "")
    assert certificate.issuer_office_code == "编办:150602"  # the county 编办 that reviewed, not CONAC
    assert badges.script_path(certificate).startswith("/js/15/006/0002/")


# --- the badge script -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "referer",
    [
        f"http://{to_ascii_domain(ORGAN_DOMAIN)}/",
        f"https://www.{to_ascii_domain(ORGAN_DOMAIN)}/news/1.html?page=2",
        f"http://{to_ascii_domain(ORGAN_DOMAIN + '.cn')}/",
        f"https://{ENGLISH}/index.html",
        "https://WWW.ORDOS.GOV.CN:8443/",
        "http://localhost/redpage/1",  # a page of the platform itself (the 网络红页)
    ],
)
def test_on_a_bound_host_the_script_shows_the_red_badge_linking_to_the_certificate(
    client: Any, red: Certificate, referer: str
) -> None:
    response = script_of(client, red, referer)

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    markup = badge_markup(response)
    assert markup.startswith(f'<a href="http://localhost/sitename?method=show&amp;id={red.public_id}" target="_blank"')
    assert '<img id="imgConac" src="http://localhost/image/red.png" alt="党政机关网站标识"' in markup
    assert "public" in response.headers["Cache-Control"] and response.headers["ETag"]
    assert "Referer" in response.headers["Vary"]


@pytest.mark.parametrize(
    "referer",
    [
        "http://evil.example.com/",
        f"http://{ENGLISH}.evil.example.com/",
        f"http://{to_ascii_domain('鄂尔多斯市人民政府办公室.政务')}/",  # another unit's name
        None,  # a page that sends no Referer cannot be checked
        "not a url at all",
    ],
)
def test_on_any_other_host_the_script_shows_the_error_image(client: Any, red: Certificate, referer: str) -> None:
    response = script_of(client, red, referer)

    assert response.status_code == 200
    markup = badge_markup(response)
    assert 'src="http://localhost/image/red_error.png"' in markup
    assert red.public_id in markup  # still links to the certificate page, which tells the visitor why


def test_u_labels_and_a_labels_name_the_same_host() -> None:
    assert badge_script.ascii_host("鄂尔多斯市人民政府．政务") == to_ascii_domain(ORGAN_DOMAIN)
    assert badge_script.ascii_host(to_ascii_domain(ORGAN_DOMAIN).upper()) == to_ascii_domain(ORGAN_DOMAIN)
    hosts = badge_script.bound_hosts([ORGAN_DOMAIN], "")
    assert badge_script.referer_host(f"http://www.{to_ascii_domain(ORGAN_DOMAIN)}/") in hosts


@pytest.mark.parametrize("status", ["revoked", "expired", "abnormal"])
def test_a_certificate_that_is_not_valid_shows_the_error_image_even_on_its_own_host(
    client: Any, red: Certificate, status: str
) -> None:
    red.status = status
    db.session.commit()

    body = script_of(client, red, f"https://{ENGLISH}/").get_data(as_text=True)

    assert "/image/red_error.png" in body


@pytest.mark.parametrize(("domain_status", "shown"), [("expired", "已过期"), ("frozen", "异常"), ("deleted", "异常")])
def test_a_lapsed_bound_domain_makes_the_badge_show_the_error_image(
    client: Any, red: Certificate, domain_status: str, shown: str
) -> None:
    domain = db.session.scalar(select(Domain).where(Domain.name == ORGAN_DOMAIN))
    domain.status = domain_status
    db.session.commit()

    body = script_of(client, red, f"https://{ENGLISH}/").get_data(as_text=True)
    page = client.get(badges.page_url(red.public_id)).get_data(as_text=True)

    assert "/image/red_error.png" in body
    assert f"{shown}</span>" in page


def test_a_revocation_shows_once_the_cached_state_expires(client: Any, red: Certificate) -> None:
    assert "/image/red.png" in script_of(client, red, f"https://{ENGLISH}/").get_data(as_text=True)
    red.status = "revoked"
    db.session.commit()
    assert "/image/red.png" in script_of(client, red, f"https://{ENGLISH}/").get_data(as_text=True)  # cached

    badge_state(client.application).views.clear()  # what the cache's short lifetime does by itself

    assert "/image/red_error.png" in script_of(client, red, f"https://{ENGLISH}/").get_data(as_text=True)


def test_forged_or_unknown_codes_are_404_with_the_error_image_and_no_link(client: Any, red: Certificate) -> None:
    code, number = str(red.code), f"{red.id:07d}"
    unknown = f"CA1506002026{red.id + 1:07d}"
    paths = [
        f"/js/15/006/0000/{red.id + 1:07d}/{unknown}.js",  # well formed, never issued
        f"/js/15/006/0001/{number}/{code}.js",  # the code under another region's path
        f"/js/15/006/0000/{number}/{code.lower()}.js",
        f"/js/15/006/0000/{number}/CA15060020260000001'%3Balert(1)%3B'.js",
        "/js/15/006/0000/1/1.js",
    ]
    for path in paths:
        response = client.get(path, headers={"Referer": f"https://{ENGLISH}/"})
        assert response.status_code == 404, path
        assert badge_markup(response).startswith('<img id="imgConac" src="http://localhost/image/red_error.png"'), path


def test_a_repeated_request_is_answered_304_from_its_etag(client: Any, red: Certificate) -> None:
    first = script_of(client, red, f"https://{ENGLISH}/")

    again = client.get(
        badges.script_path(red), headers={"Referer": f"https://{ENGLISH}/", "If-None-Match": first.headers["ETag"]}
    )

    assert again.status_code == 304


def test_badge_hits_never_write_and_repeated_hits_do_not_read_the_database(
    client: Any, red: Certificate, app: Flask
) -> None:
    statements: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        first = [script_of(client, red, f"https://{ENGLISH}/") for _ in range(3)]
        reads_after_first = statements.count("SELECT")
        more = [script_of(client, red, "http://evil.example.com/") for _ in range(20)]
        images = [client.get("/image/red.png") for _ in range(5)]
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)

    assert {r.status_code for r in [*first, *more, *images]} == {200}
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements)
    assert statements.count("SELECT") == reads_after_first  # later hits come from the cache


def test_the_view_cache_reloads_after_its_lifetime_and_drops_the_least_recently_used() -> None:
    now = [0.0]
    cache = badge_script.ViewCache(seconds=60, capacity=2, clock=lambda: now[0])
    loads: list[str] = []

    def load(code: str) -> None:
        loads.append(code)

    for code in ("A", "A", "B", "A", "C", "A", "B"):
        cache.get(code, load)
    now[0] = 61
    cache.get("A", load)

    assert loads == ["A", "B", "C", "B", "A"]  # B was dropped for C; A expired after 60 s


# --- the images --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["red", "blue", "red_error", "blue_error"])
def test_the_badge_images_are_cacheable_pngs(client: Any, name: str) -> None:
    response = client.get(f"/image/{name}.png")

    assert response.status_code == 200 and response.mimetype == "image/png"
    assert Image.open(BytesIO(response.data)).size == (220, 110)
    assert "max-age" in response.headers["Cache-Control"]
    assert client.get(f"/image/{name}.png", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_an_unknown_image_is_not_found(client: Any) -> None:
    assert client.get("/image/green.png").status_code == 404


# --- the code to paste ---------------------------------------------------------------------------------


def test_both_snippet_shapes_load_the_certificates_script(red: Certificate) -> None:
    url = badges.script_url(red, "https://bszs.example.cn")
    assert url == f"https://bszs.example.cn{badges.script_path(red)}"

    shape_1 = badges.snippet(red, 1, "https://bszs.example.cn")
    written = re.fullmatch(r'<script type="text/javascript">document.write\(unescape\("(.*)"\)\);</script>', shape_1)
    assert written is not None
    assert (
        unquote(written.group(1))
        == f"<span id='_ideConac' ></span><script src='{url}' type='text/javascript'></script>"
    )
    assert badges.snippet(red, 2) == (
        f'<span id="_ideConac"></span><script src="{badges.script_path(red)}" type="text/javascript"></script>'
    )
    with pytest.raises(ValueError):
        badges.snippet(red, 3)


# --- the public certificate page --------------------------------------------------------------------


def test_the_certificate_page_shows_the_fields_of_the_management_rules(client: Any, red: Certificate) -> None:
    response = client.get(f"/sitename?method=show&id={red.public_id}")

    assert response.status_code == 200
    assert "public" in response.headers["Cache-Control"] and response.headers["ETag"]
    page = unescape(response.get_data(as_text=True))
    fields = {
        "机构名称": ORGAN,
        "机构类型": "机关",
        "机构地址": "鄂尔多斯市康巴什区市府大楼",
        "机构职能": FUNCTIONS,
        "网站名称": ORGAN,
        "中英文域名": f"{ORGAN_DOMAIN}、{ENGLISH}",
        "标识编号": str(red.code),
        "标识发放单位": OFFICE_NAME,
        "标识发放时间": "2026-09-28 10:00",  # Beijing time
    }
    for label, value in fields.items():
        assert re.search(f"<dt[^>]*>{label}</dt><dd[^>]*>{re.escape(value)}</dd>", page), label
    assert re.search(r"证书状态：\s*<span[^>]*>有效</span>", page)
    assert "/image/red.png" in page


def test_an_institutions_certificate_page_names_its_business_scope(client: Any, make_unit: Any, start: Any) -> None:
    unit = make_unit("事业单位", "150600", HOSPITAL)
    add_domain(unit, HOSPITAL_DOMAIN)
    certificate = issue_badge(start, INSTITUTION, unit, INSTITUTION_FORM)

    page = client.get(badges.page_url(certificate.public_id)).get_data(as_text=True)

    assert re.search(f"<dt[^>]*>业务范围</dt><dd[^>]*>{SCOPE}</dd>", page)
    assert "机构职能" not in page


@pytest.mark.parametrize(
    "query",
    ["method=show&id=0123456789ABCDEF0123456789ABCDEF", "method=show&id=%3Cscript%3E", "method=show", "method=list"],
)
def test_an_unknown_certificate_is_a_chinese_404_page(client: Any, red: Certificate, query: str) -> None:
    response = client.get(f"/sitename?{query}")

    assert response.status_code == 404
    assert "没有找到该网上名称《标识证书》" in response.get_data(as_text=True)


# --- 标识管理 ------------------------------------------------------------------------------------


@pytest.fixture
def demo_badge(demo: dict[str, Any], start: Any) -> Certificate:
    """A red badge of the demo unit unit1 (鄂尔多斯市人民政府办公室)."""
    unit = demo["unit1"].unit
    domain = "鄂尔多斯市人民政府办公室.政务"
    add_domain(unit, domain)
    return issue_party_badge(start, unit, party_form(site_name=unit.name, domains=[domain]))


def test_the_badge_page_gives_the_unit_both_snippets_a_copy_button_and_a_qr_code(
    login: Any, demo_badge: Certificate
) -> None:
    client = login("unit1")
    listing = client.get("/unit/badges/").get_data(as_text=True)
    assert demo_badge.code in listing and "获取标识代码" in listing
    assert "标识管理" in listing  # the menu entry the notification texts name

    response = client.get(f"/unit/badges/{demo_badge.code}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for shape in (1, 2):
        assert f">{escape(badges.snippet(demo_badge, shape, 'http://localhost'))}</textarea>" in page
        assert f'data-copy-target="snippet-{shape}"' in page
    assert "&lt;/body&gt; 前" in page and "页面底部中间" in page
    assert '<script src="/static/copy.js"></script>' in page
    assert "<svg" in page and f"http://localhost/sitename?method=show&amp;id={demo_badge.public_id}" in page


def test_another_unit_cannot_see_a_units_badge_code(login: Any, demo_badge: Certificate) -> None:
    client = login("unit2")

    assert client.get(f"/unit/badges/{demo_badge.code}").status_code == 404
    assert demo_badge.code not in client.get("/unit/badges/").get_data(as_text=True)
    assert login("bianban").get("/unit/badges/").status_code == 403


def test_the_bianban_revokes_a_certificate_with_a_reason_and_the_public_page_says_so(
    login: Any, demo_badge: Certificate
) -> None:
    url = f"/placement/certificates/{demo_badge.id}/revoke"
    assert login("unit1").post(url, data={"reason": "网站已关闭"}).status_code == 403
    assert login("dongsheng").post(url, data={"reason": "网站已关闭"}).status_code == 404  # another jurisdiction
    bianban = login("bianban")
    page = bianban.get(f"/placement/certificates/{demo_badge.id}").get_data(as_text=True)
    assert "注销标识" in page and 'data-confirm="确定注销标识' in page

    refused = bianban.post(url, data={"reason": "  "}, follow_redirects=True).get_data(as_text=True)
    assert "请填写注销原因" in refused and demo_badge.status == "valid"

    done = bianban.post(url, data={"reason": "网站已关闭"}, follow_redirects=True).get_data(as_text=True)
    assert f"标识 {demo_badge.code} 已注销" in done and "网站已关闭" in done
    assert (demo_badge.status, demo_badge.revoke_reason) == ("revoked", "网站已关闭")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "certificate_revoke")).one()
    assert (event.actor, event.detail["code"]) == ("bianban", demo_badge.code)
    again = bianban.post(url, data={"reason": "再次"}, follow_redirects=True).get_data(as_text=True)
    assert "该标识已注销" in again and "注销原因" not in again  # refused, and no form left to revoke with
    public = login("unit2").get(f"/sitename?method=show&id={demo_badge.public_id}").get_data(as_text=True)
    assert "已注销" in public  # the certificate page, for anyone
