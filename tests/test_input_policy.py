"""One input policy for every text field, on the server: NFC, no control or bidi characters, no line
breaks in one-line fields, trimmed, bounded; domain names normalised and shown before they are saved.

Refusals are Chinese, next to the field, all at once, and nothing refused is stored. The engine and the
wizard are checked on the tests' own procedure (tests/diagrams/two_reviews.bpmn with tests/forms/).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from app.engine import Engine
from app.engine.errors import FormValidationError
from app.extensions import db
from app.models import Draft, ProcessInstance, Unit, User
from app.taskforms.schemas import FormLibrary
from app.taskforms.text import TextRefused, clean_text
from tests.conftest import TEST_APPLICATION, TESTS_ROOT, UNIT
from tests.test_auth import VALID_REGISTRATION

# ---- the policy itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  鄂尔多斯  ", "鄂尔多斯"),
        ("\u3000全角空格\u3000", "全角空格"),
        ("e\u0301", "\u00e9"),  # NFC: e + combining acute is é
    ],
)
def test_text_is_trimmed_and_composed(typed: str, stored: str) -> None:
    assert clean_text(typed) == stored


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("a\x00b", "控制字符"),
        ("a\x07b", "控制字符"),
        ("a\tb", "控制字符"),
        ("a\nb", "不能换行"),
        ("a\rb", "不能换行"),
        ("a\u2028b", "不能换行"),
        ("abc\u202eexe.gpj", "文字方向"),  # right-to-left override
        ("a\u2066b\u2069", "文字方向"),
        ("a\u200bb", "零宽"),  # zero-width space
        ("\ufeffabc", "零宽"),
    ],
)
def test_single_line_text_refuses_invisible_characters(typed: str, reason: str) -> None:
    with pytest.raises(TextRefused) as refused:
        clean_text(typed)
    assert reason in refused.value.message


def test_multi_line_text_keeps_line_breaks_but_not_other_controls() -> None:
    assert clean_text("第一行\r\n第二行\r第三行", multiline=True) == "第一行\n第二行\n第三行"
    with pytest.raises(TextRefused):
        clean_text("第一行\n\x00", multiline=True)


def test_every_text_has_a_length_limit() -> None:
    assert clean_text("字" * 500) == "字" * 500
    with pytest.raises(TextRefused, match="不能超过 500 个字符"):
        clean_text("字" * 501)
    with pytest.raises(TextRefused, match="不能超过 10 个字符"):
        clean_text("字" * 11, max_length=10)


# ---- task forms ----------------------------------------------------------------------------


FORMS = FormLibrary.from_folder(TESTS_ROOT / "forms")


def test_every_missing_required_field_is_named_at_once() -> None:
    required = json.loads((TESTS_ROOT / "forms" / "application.schema.json").read_text(encoding="utf-8"))["required"]
    errors = FORMS.clean("application.schema.json", {"years": 1}).errors
    assert set(errors) == set(required) - {"years"} and len(required) > 2
    assert errors["contact_name"].startswith("请填写")


def test_a_form_reports_every_problem_at_once_and_leaves_refused_values_out() -> None:
    cleaned = FORMS.clean(
        "contact.schema.json",
        {"contact_name": "张\x00三", "contact_mobile": "12345", "contact_email": "a@[1.2.3.4]", "note": "一\n二"},
    )
    assert set(cleaned.errors) == {"contact_name", "contact_mobile", "contact_email"}
    assert "控制字符" in cleaned.errors["contact_name"]
    assert "contact_name" not in cleaned.data and cleaned.data["note"] == "一\n二"  # a multi-line field


def test_a_form_normalises_domains_and_says_what_it_rewrote() -> None:
    cleaned = FORMS.clean(
        "contact.schema.json",
        {"contact_name": "张三", "domain_name": " 鄂尔多斯市人民政府。政务", "contact_mobile": "138 0013 8000"},
    )
    assert cleaned.errors == {}
    assert cleaned.data["domain_name"] == "鄂尔多斯市人民政府.政务"
    assert cleaned.data["contact_mobile"] == "13800138000"
    assert cleaned.rewritten == {"domain_name": ("鄂尔多斯市人民政府。政务", "鄂尔多斯市人民政府.政务")}


def test_the_engine_stores_only_clean_data(two_reviews: str, engine: Engine, make_unit: Any, start: Any) -> None:
    application = start(two_reviews, make_unit())
    with pytest.raises(FormValidationError) as refused:
        application.complete(UNIT, {**TEST_APPLICATION, "contact_name": "张\x00三"})
    assert "contact_name" in refused.value.errors
    assert application.instance.status == "running"  # a refusal, not a fault
    application.complete(UNIT, {**TEST_APPLICATION, "domain_name": "XN--FIQ11I8XGB87B.xn--zfr164b"})
    assert application.data()["domain_name"] == "中央编办.政务"


# ---- pages ---------------------------------------------------------------------------------


def _application_task(client: Any, process_id: str) -> str:
    response = client.post(f"/unit/start/{process_id}")
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.headers["Location"])


def test_the_wizard_refuses_a_nul_byte_next_to_the_field_and_stores_nothing(two_reviews: str, login: Any) -> None:
    client = login("unit1")
    task = _application_task(client, two_reviews)
    response = client.post(task, data={**TEST_APPLICATION, "contact_name": "张\x00三", "action": "submit"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "联系人不能包含不可见的控制字符" in page
    instance = db.session.scalar(select(ProcessInstance))
    assert instance.status == "running" and instance.error is None
    draft = db.session.scalar(select(Draft))
    assert "contact_name" not in draft.data and draft.data["domain_name"] == TEST_APPLICATION["domain_name"]


def test_the_wizard_shows_a_normalised_domain_before_it_is_submitted(two_reviews: str, login: Any) -> None:
    client = login("unit1")
    task = _application_task(client, two_reviews)
    typed = {**TEST_APPLICATION, "domain_name": "ＡＢＣ鄂尔多斯。政务", "action": "submit"}
    response = client.post(task, data=typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "已按域名规范写为“abc鄂尔多斯.政务”" in page
    assert 'value="abc鄂尔多斯.政务"' in page
    assert db.session.scalar(select(ProcessInstance)).stage == "填报中"  # not submitted yet
    confirmed = client.post(task, data={**typed, "domain_name": "abc鄂尔多斯.政务"})
    assert confirmed.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(ProcessInstance)).stage != "填报中"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "东胜区\x00政府", "不能包含不可见的控制字符"),
        ("address", "东胜区\r\n政府大楼", "请在一行内填写，不能换行"),
        ("leader", "刘\u202e主任", "不能包含文字方向控制字符"),
        ("contact_email", "chen@[10.0.0.1]", "不接受IP地址形式"),
        ("password", "qwer1234", "密码过于简单或常见"),
    ],
)
def test_registration_refuses_bad_text_next_to_the_field(
    client: Any, regions_loaded: None, field: str, value: str, message: str
) -> None:
    data = {**VALID_REGISTRATION, field: value}
    if field == "password":
        data["confirm"] = value
    response = client.post("/register", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "dongsheng-gov")) is None


def test_registration_trims_and_normalises_like_the_task_forms(client: Any, regions_loaded: None) -> None:
    data = {**VALID_REGISTRATION, "uscc": " 11110000000012343b ", "contact_mobile": " 139 1234 5678 "}
    assert client.post("/register", data=data).status_code == 302
    unit = db.session.scalar(select(Unit).where(Unit.name == VALID_REGISTRATION["name"]))
    assert unit.uscc == "11110000000012343B" and unit.contacts[0].mobile == "13912345678"


def test_a_query_parameter_with_a_control_character_is_refused(login: Any) -> None:
    response = login("bianban").get("/review/search?q=%00abc")
    assert response.status_code == 400 and "请求无效" in response.get_data(as_text=True)
