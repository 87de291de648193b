"""我的域名 and 单位信息 (seed 003 FAQ, seed 004 steps 3–5), the contact chosen per application
(seed 001 选择联系人), the suffix by unit type (DOMAIN.md §3) and messages that say what is wrong.

1. 我的域名 lists every domain of the unit: its state in words, suffix, registration and expiry
   dates, host information, live DNS records with their review state, and 续费 where it applies.
2. 单位信息 shows all the registration data. The unit edits its address, postcode, 机构负责人 and
   contacts; its name, 统一社会信用代码, type, 隶属关系 and region are the 编办's to change, and the
   page says so. Every change is audited.
3. Several contacts: add, edit, remove, never the last one. The domain application offers them to
   choose from; the chosen one's name, mobile and e-mail are what the procedure stores.
4. The registration diagram's property suffixByUnitType decides the suffix: a 党政机关 applying for
   .公益 (or a 事业单位 for .政务) is refused next to the domain field, naming the right suffix.
5. A refused name says why: its length in characters and in octets after Punycode against the limit,
   a missing Chinese character, the characters that are not allowed, the wrong form of suffix.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.engine import Engine
from app.engine.errors import DeployError
from app.extensions import db
from app.models import AuditEvent, Contact, Domain, ProcessInstance, Unit, WorkItem
from app.services import suffix_rule
from app.taskforms.formats import FORMAT_MESSAGES, domain_problem
from tests.conftest import DOMAIN_APPLICATION, PROJECT_ROOT, TEST_APPLICATION, UNIT, add_domain, deploy_xml

NAME = "鄂尔多斯市人民政府办公室.政务"


# ---- helpers ---------------------------------------------------------------------------


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def audited(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def field_error(page: str, name: str) -> str:
    found = re.search(f'id="field-{name}-error">([^<]*)<', page)
    return found.group(1) if found else ""


def wtf_errors(page: str) -> list[str]:
    return re.findall(r'<div class="invalid-feedback">([^<]*)</div>', page)


def unit_of(demo: dict[str, Any], username: str) -> Unit:
    unit = demo[username].unit
    db.session.refresh(unit)
    return unit


def start_registration(client: Any, process_id: str = "domain_registration") -> str:
    response = client.post(f"/unit/start/{process_id}")
    assert response.status_code == 302
    return str(response.headers["Location"])


def submit_application(client: Any, task_url: str, data: dict[str, Any]) -> Any:
    page = text(client.get(task_url))
    version = re.search(r'name="expected_version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    return client.post(task_url, data={**data, "action": "submit", "expected_version": version})


def application_data(engine: Engine) -> dict[str, Any]:
    (instance,) = db.session.scalars(select(ProcessInstance))
    return engine.reader.data(instance.id)


# ---- 我的域名 --------------------------------------------------------------------------


def test_my_domains_shows_each_domain_in_words_with_its_dates_host_dns_and_renewal(
    login: Any, demo: dict[str, Any]
) -> None:
    unit = unit_of(demo, "unit1")
    active = add_domain(unit, NAME, expires_on=date(2027, 3, 31))
    active.host_mode, active.host_ip = "ip", "202.96.1.10"
    add_domain(unit, "鄂尔多斯市人民政府.政务", status="frozen")
    add_domain(unit, "鄂尔多斯市政府.政务", status="reserved")
    db.session.commit()

    page = text(login("unit1").get("/unit/domains"))

    assert NAME in page and "正常" in page and "已冻结" in page and "申请中" in page
    assert not re.search(r">\s*(active|frozen|reserved)\s*<", page)  # a label, never a code
    assert ".政务" in page and "2026-01-05" in page and "2027-03-31" in page
    assert "服务器IP：202.96.1.10" in page and "无自建网站，使用网络红页" in page
    assert page.count('href="/unit/start/domain_renewal"') == 1  # the active one; frozen cannot renew
    assert f'href="/unit/domains/{active.id}"' in page
    assert 'href="/unit/domains"' in page and 'href="/unit/profile"' in page  # in the navigation


def test_a_unit_without_domains_is_pointed_to_the_registration(login: Any) -> None:
    assert "去申请域名注册" in text(login("unit1").get("/unit/domains"))


def test_other_roles_do_not_get_the_unit_pages(login: Any) -> None:
    client = login("bianban")
    assert client.get("/unit/domains").status_code == 403
    assert client.get("/unit/profile").status_code == 403


# ---- 单位信息 --------------------------------------------------------------------------


def test_the_profile_shows_all_registration_data_and_who_changes_what(
    login: Any, demo: dict[str, Any], regions_loaded: None
) -> None:
    page = text(login("unit1").get("/unit/profile"))

    registered = ("鄂尔多斯市人民政府办公室", "11110000000012343B", "党政机关", "机关", "市属")
    for shown in (*registered, "内蒙古自治区 鄂尔多斯市"):
        assert shown in page
    assert "鄂尔多斯市康巴什区市府大楼" in page and "王主任" in page and "张经办" in page
    assert "请联系同级机构编制部门（编办）修改" in page
    assert 'name="name"' not in page and 'name="uscc"' not in page  # not editable by the unit


def test_the_unit_edits_its_address_postcode_and_leader_but_not_name_or_uscc(
    login: Any, demo: dict[str, Any]
) -> None:
    client = login("unit1")
    form = {
        "address": "鄂尔多斯市康巴什区新址",
        "postcode": "017010",
        "leader": "刘主任",
        "name": "改名单位",
        "uscc": "91110000600037341L",
        "unit_type": "事业单位",
        "region_code": "110000",
    }

    response = client.post("/unit/profile", data=form)

    assert response.status_code == 302
    unit = unit_of(demo, "unit1")
    assert (unit.address, unit.postcode, unit.leader) == ("鄂尔多斯市康巴什区新址", "017010", "刘主任")
    assert (unit.name, unit.uscc, unit.unit_type, unit.region_code) == (
        "鄂尔多斯市人民政府办公室",
        "11110000000012343B",
        "党政机关",
        "150600",
    )
    (event,) = audited("unit_update")
    assert event.actor == "unit1" and event.detail["changed"]["leader"] == {"from": "王主任", "to": "刘主任"}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        pytest.param({"address": "新址", "postcode": "01701", "leader": "刘主任"}, "邮政编码为6位数字", id="postcode"),
        pytest.param({"address": "", "postcode": "", "leader": "刘主任"}, "请填写单位地址", id="no-address"),
        pytest.param({"address": "<b>新址</b>", "leader": "刘主任"}, "不能包含 < 或 > 等字符", id="html"),
    ],
)
def test_a_bad_profile_edit_is_refused_in_chinese_and_nothing_changes(
    login: Any, demo: dict[str, Any], form: dict[str, str], message: str
) -> None:
    response = login("unit1").post("/unit/profile", data=form)

    assert response.status_code == 400
    assert message in " ".join(wtf_errors(text(response))).replace("&lt;", "<").replace("&gt;", ">")
    assert unit_of(demo, "unit1").address == "鄂尔多斯市康巴什区市府大楼"
    assert audited("unit_update") == []


# ---- contacts --------------------------------------------------------------------------


def test_contacts_are_added_edited_and_removed_but_one_always_remains(login: Any, demo: dict[str, Any]) -> None:
    client = login("unit1")
    new = {"name": "李经办", "mobile": "139 0047 7000", "email": "li@example.cn", "phone": "0477-8581234"}

    assert client.post("/unit/contacts/new", data=new).status_code == 302
    unit = unit_of(demo, "unit1")
    first, second = unit.contacts
    assert (second.name, second.mobile, second.phone) == ("李经办", "13900477000", "0477-8581234")

    edited = {**new, "mobile": "13900477001", "email": "li2@example.cn"}
    assert client.post(f"/unit/contacts/{second.id}", data=edited).status_code == 302
    db.session.refresh(second)
    assert (second.mobile, second.email) == ("13900477001", "li2@example.cn")

    assert client.post(f"/unit/contacts/{first.id}/remove").status_code == 302
    refused = client.post(f"/unit/contacts/{second.id}/remove", follow_redirects=True)
    assert "单位至少要保留一位联系人" in text(refused)
    assert [c.name for c in unit_of(demo, "unit1").contacts] == ["李经办"]
    assert [len(audited(a)) for a in ("contact_add", "contact_update", "contact_remove")] == [1, 1, 1]


LI = {"name": "李经办", "mobile": "13900477000", "email": "li@example.cn"}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        pytest.param({**LI, "mobile": "1390047700"}, FORMAT_MESSAGES["cn-mobile"], id="mobile"),
        pytest.param({**LI, "email": "li@[10.0.0.1]"}, FORMAT_MESSAGES["email"], id="email"),
        pytest.param({**LI, "name": "李"}, "姓名须为2-40个字", id="name"),
        pytest.param({**LI, "mobile": "13800138000"}, "本单位已有使用这个手机号码的联系人", id="same-mobile"),
    ],
)
def test_a_bad_contact_is_refused_in_chinese_and_not_added(
    login: Any, demo: dict[str, Any], form: dict[str, str], message: str
) -> None:
    before = count(Contact)

    response = login("unit1").post("/unit/contacts/new", data=form)

    assert response.status_code == 400
    assert message in wtf_errors(text(response))
    assert count(Contact) == before
    assert audited("contact_add") == []


def test_another_unit_s_contact_is_not_found(login: Any, demo: dict[str, Any]) -> None:
    theirs = unit_of(demo, "unit2").contacts[0]
    client = login("unit1")
    before = count(Contact)

    assert client.get(f"/unit/contacts/{theirs.id}").status_code == 404
    assert client.post(f"/unit/contacts/{theirs.id}/remove").status_code == 404
    assert count(Contact) == before


def test_a_form_with_contact_fields_offers_the_unit_s_contacts_and_stores_the_chosen_one(
    login: Any, demo: dict[str, Any], engine: Engine, two_reviews: str
) -> None:
    """Any form with contact_name, contact_mobile and contact_email; here the tests' own procedure's."""
    unit = unit_of(demo, "unit1")
    unit.contacts.append(Contact(name="李经办", mobile="13900477000", email="li@example.cn"))
    db.session.commit()
    client = login("unit1")
    task_url = start_registration(client, two_reviews)

    page = text(client.get(task_url))

    assert "选择联系人" in page and "张经办（13800138000）" in page and "李经办（13900477000）" in page
    assert re.search(r'<option value="\d+"[^>]*data-mobile="13800138000"[^>]*\s+selected', page)  # pre-filled
    assert 'value="张经办"' in page

    second = unit.contacts[1]
    typed = {k: v for k, v in TEST_APPLICATION.items() if k != "years"}
    response = submit_application(client, task_url, {**typed, "years": "2", "contact_id": str(second.id)})

    assert response.status_code == 302, text(response)
    data = application_data(engine)
    assert (data["contact_name"], data["contact_mobile"], data["contact_email"]) == (
        "李经办",
        "13900477000",
        "li@example.cn",
    )


def test_typed_contact_details_are_kept_when_no_contact_is_chosen(login: Any, engine: Engine, two_reviews: str) -> None:
    client = login("unit1")
    task_url = start_registration(client, two_reviews)
    typed = {**TEST_APPLICATION, "contact_name": "王临时", "contact_mobile": "13700137000", "contact_id": ""}

    assert submit_application(client, task_url, typed).status_code == 302

    data = application_data(engine)
    assert (data["contact_name"], data["contact_mobile"]) == ("王临时", "13700137000")


# ---- the suffix by unit type ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "name", "message"),
    [
        (
            "unit1",
            "鄂尔多斯市人民政府.公益",
            "党政机关应申请“.政务”域名，不能申请“.公益”域名，如 鄂尔多斯市人民政府.政务",
        ),
        (
            "unit2",
            "鄂尔多斯市第一人民医院.政务",
            "事业单位应申请“.公益”域名，不能申请“.政务”域名，如 鄂尔多斯市第一人民医院.公益",
        ),
    ],
)
def test_a_suffix_the_unit_type_may_not_use_is_refused_next_to_the_domain_field(
    login: Any, username: str, name: str, message: str
) -> None:
    client = login(username)
    task_url = start_registration(client)

    response = submit_application(client, task_url, {**DOMAIN_APPLICATION, "domain_name": name})

    assert response.status_code == 400
    assert field_error(text(response), "domain_name") == message
    assert count(Domain) == 0
    assert db.session.scalar(select(WorkItem.task_name)) == "fill_application"


def test_the_suffix_rule_is_the_diagram_s_property(engine: Engine, make_unit: Any, start: Any) -> None:
    path = PROJECT_ROOT / "workflows" / "域名注册.bpmn"
    xml = path.read_text(encoding="utf-8")
    compiled = engine.definitions.compiled(engine.definitions.latest(db.session, "domain_registration"))
    assert suffix_rule.parse(compiled.process_properties[suffix_rule.PROPERTY]) == {
        "党政机关": "政务",
        "事业单位": "公益",
        "社会组织": "公益",
    }
    relaxed = xml.replace("&quot;党政机关&quot;: &quot;政务&quot;, ", "")
    assert relaxed != xml
    deploy_xml(engine, relaxed, path.name)
    application = start("domain_registration", make_unit("党政机关"))

    application.complete(UNIT, {**DOMAIN_APPLICATION, "domain_name": "某局.公益"})

    assert application.stage == "待审核"


def test_a_malformed_suffix_rule_is_refused_at_deploy(engine: Engine) -> None:
    path = PROJECT_ROOT / "workflows" / "域名注册.bpmn"
    rule = "&quot;社会组织&quot;: &quot;公益&quot;"
    broken = path.read_text(encoding="utf-8").replace(rule, rule.replace("公益", "cn"))

    with pytest.raises(DeployError) as refused:
        deploy_xml(engine, broken, path.name)

    assert any("suffixByUnitType 须为 JSON 对象" in reason for _, reason in refused.value.problems)


# ---- messages that say what is wrong -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        pytest.param(
            "内蒙古自治区鄂尔多斯市东胜区人民政府办公.政务",
            ["共 20 个字符", "转换为 Punycode 后为 66 字节", "63 字节"],
            id="too-many-octets",
        ),
        pytest.param("a" * 29 + "中.政务", ["域名共 32 个字符", "31 个字符", "39 字节"], id="too-many-characters"),
        pytest.param("abc.政务", ["须至少包含一个汉字"], id="no-chinese"),
        pytest.param("中央（编办）.政务", ["不能包含 “（”、“）”"], id="bad-characters"),
        pytest.param("中央编办.政务.cn", [FORMAT_MESSAGES["cn-domain"]], id="wrong-suffix-form"),
    ],
)
def test_a_refused_name_says_what_is_wrong(login: Any, name: str, parts: list[str]) -> None:
    client = login("unit1")
    task_url = start_registration(client)

    response = submit_application(client, task_url, {**DOMAIN_APPLICATION, "domain_name": name})

    assert response.status_code == 400
    message = field_error(text(response), "domain_name")
    assert message == domain_problem(name)
    for part in parts:
        assert part in message, message
    assert count(Domain) == 0
