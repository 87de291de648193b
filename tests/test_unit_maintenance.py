"""The 编办's 申报单位管理 (seed 003 FAQ 二、四): a unit's information, its password, its lock.

1. 鄂尔多斯市委编办 lists its units and edits one with the registration form's checks: a bad 统一社会信用代码,
   one another unit holds, or a region outside its jurisdiction is refused next to the field, nothing
   changed; a saved change is audited with the values before and after.
2. A password reset follows the seed's rule (8–16 half-width letters and digits mixed) and is refused,
   naming the missing fields, while a required field of the unit is empty; the unit must choose a new
   password at its next login. A locked account is shown and unlocked. Each action is audited.
3. Another region's 编办 (东胜区) gets 404 for the unit, audited as a denied access; a unit gets 403.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Unit, User
from app.services.demo import DEMO_PASSWORD

NEW_PASSWORD = "Ordos2026xyz"


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def fresh(model: Any, key: Any) -> Any:
    db.session.expire_all()
    return db.session.get(model, key)


def events(action: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


@pytest.fixture
def unit1(demo: dict[str, Any], regions_loaded: None) -> Unit:
    return demo["unit1"].unit


def unit_form(unit: Unit, **changes: str) -> dict[str, str]:
    """The edit form as the page posts it, with `changes`."""
    form = {
        "unit_type": unit.unit_type,
        "name": unit.name,
        "uscc": unit.uscc,
        "nature": unit.nature,
        "affiliation": "市（地、州、盟）属",
        "province": "150000",
        "city": "150600",
        "county": "",
        "address": unit.address,
        "postcode": "017000",
        "leader": unit.leader,
    }
    return {**form, **changes}


def test_the_bianban_lists_and_edits_its_units_and_the_change_is_audited(login: Any, unit1: Unit) -> None:
    bianban = login("bianban")
    listed = text(bianban.get("/units/"))
    assert "鄂尔多斯市人民政府办公室" in listed and "鄂尔多斯市第一人民医院" in listed
    page = text(bianban.get(f"/units/{unit1.id}"))
    assert 'value="鄂尔多斯市人民政府办公室"' in page and "11110000000012343B" in page
    assert "请选择（原为“市属”）" in page  # a stored value the list lacks is not replaced by its first option
    unchosen = bianban.post(f"/units/{unit1.id}", data=unit_form(unit1, affiliation=""))
    assert unchosen.status_code == 400 and "请填写隶属关系" in text(unchosen)
    before = unit1.address

    response = bianban.post(f"/units/{unit1.id}", data=unit_form(unit1, address="鄂尔多斯市康巴什区市府大楼3层"))

    assert response.status_code == 302
    saved = fresh(Unit, unit1.id)
    assert (saved.address, saved.affiliation, saved.postcode) == (
        "鄂尔多斯市康巴什区市府大楼3层",
        "市（地、州、盟）属",
        "017000",
    )
    (edit,) = events("unit_edit")
    assert edit.actor == "bianban" and edit.detail["unit_id"] == unit1.id
    assert edit.detail["changes"]["单位地址"] == [before, "鄂尔多斯市康巴什区市府大楼3层"]
    assert "单位名称" not in edit.detail["changes"]  # only what changed


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"uscc": "11110000000012343C"}, "统一社会信用代码格式或校验位不正确"),
        ({"uscc": "12440300455500001A"}, "该统一社会信用代码已被其他单位使用"),  # unit2's
        ({"name": ""}, "请填写单位名称"),
        ({"name": "<b>单位</b>"}, "不能包含 < 或 > 等字符"),
        ({"province": "110000", "city": "110100"}, "所选地区不在本编办管辖范围内"),
        ({"city": "150600", "county": "150602"}, "所选地区不在本编办管辖范围内"),  # 东胜区 has its own 编办
    ],
    ids=["uscc-check-digit", "uscc-taken", "no-name", "html-in-name", "other-province", "county-with-own-bianban"],
)
def test_bad_unit_information_is_refused_next_to_the_field_and_nothing_changes(
    login: Any, unit1: Unit, changes: dict[str, str], message: str
) -> None:
    before = (unit1.name, unit1.uscc, unit1.region_code)

    response = login("bianban").post(f"/units/{unit1.id}", data=unit_form(unit1, **changes))

    assert response.status_code == 400 and str(escape(message)) in text(response)
    saved = fresh(Unit, unit1.id)
    assert (saved.name, saved.uscc, saved.region_code) == before
    assert events("unit_edit") == []


def test_a_password_is_reset_only_when_the_unit_is_complete_and_follows_the_rule(
    login: Any, unit1: Unit, client: Any
) -> None:
    bianban = login("bianban")
    unit1.leader, unit1.address = "", ""
    db.session.commit()
    page = text(bianban.get(f"/units/{unit1.id}"))
    assert "完善后才能重置密码：单位地址、机构负责人" in page

    incomplete = bianban.post(f"/units/{unit1.id}/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert incomplete.status_code == 400
    assert "请先完善单位信息中带*号的项目：单位地址、机构负责人" in text(incomplete)
    unit1.leader, unit1.address = "王主任", "鄂尔多斯市康巴什区"
    db.session.commit()
    weak = bianban.post(f"/units/{unit1.id}/password", data={"password": "12345678", "confirm": "12345678"})
    assert weak.status_code == 400 and "密码须为8-16位半角字符，且同时包含字母和数字" in text(weak)
    assert events("password_reset") == []

    bianban.post(f"/units/{unit1.id}/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    (reset,) = events("password_reset")
    assert (reset.actor, reset.role, reset.detail["username"]) == ("bianban", "编办", "unit1")
    account = db.session.scalar(select(User).where(User.username == "unit1"))
    assert account.must_change_password
    bianban.post("/logout")
    assert client.post("/login", data={"username": "unit1", "password": DEMO_PASSWORD}).status_code == 401
    assert client.post("/login", data={"username": "unit1", "password": NEW_PASSWORD}).status_code == 302


def test_a_locked_unit_account_is_shown_and_unlocked(login: Any, unit1: Unit) -> None:
    account = db.session.scalar(select(User).where(User.username == "unit1"))
    account.locked_until = datetime.now(UTC) + timedelta(minutes=10)
    db.session.commit()
    bianban = login("bianban")
    assert "已锁定" in text(bianban.get("/units/")) and "解锁账号" in text(bianban.get(f"/units/{unit1.id}"))

    bianban.post(f"/units/{unit1.id}/unlock")

    assert fresh(User, account.id).locked_until is None
    (unlock,) = events("unlock")
    assert (unlock.actor, unlock.detail["username"]) == ("bianban", "unit1")
    again = bianban.post(f"/units/{unit1.id}/unlock", follow_redirects=True)
    assert "账号 unit1 未被锁定" in text(again)


def test_units_outside_the_jurisdiction_are_not_found_and_the_attempt_is_audited(login: Any, unit1: Unit) -> None:
    dongsheng = login("dongsheng")
    assert "鄂尔多斯市人民政府办公室" not in text(dongsheng.get("/units/"))
    for response in (
        dongsheng.get(f"/units/{unit1.id}"),
        dongsheng.post(f"/units/{unit1.id}", data=unit_form(unit1, name="被改的名称")),
        dongsheng.post(f"/units/{unit1.id}/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        dongsheng.post(f"/units/{unit1.id}/unlock"),
    ):
        assert response.status_code == 404
    assert fresh(Unit, unit1.id).name == "鄂尔多斯市人民政府办公室"
    denied = events("access_denied")
    assert [(e.actor, e.detail["status"]) for e in denied] == [("dongsheng", 404)] * 4
    assert login("unit1").get("/units/").status_code == 403
    assert events("password_reset") == [] and events("unlock") == []


def test_the_maintenance_pages_refuse_other_roles(app: Any, login: Any, client: Any) -> None:
    """Walks the url_maps of the domain and unit pages, so a route added later is covered too."""
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.split(".")[0] in ("domains", "units")]
    assert rules
    for rule in rules:
        if "GET" not in rule.methods or rule.arguments:
            continue
        assert client.get(rule.rule).status_code == 302, rule.rule  # anonymous → login
        wrong = "unit1" if rule.endpoint.startswith("units.") else "conac"
        assert login(wrong).get(rule.rule).status_code == 403, rule.rule
        client.post("/logout")
