"""REST API /api/v1 (docs/api.md): tokens and their page, authentication failures, jurisdiction, the 待办
actions and the unit's applications through the same services as the pages, domains, certificates, the
OpenAPI document and its reference page. Schemathesis runs against the document in tests/test_api_schema.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from flask import Flask, current_app
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select

from app.engine import Engine
from app.extensions import db
from app.models import ApiToken, AuditEvent, Certificate, ProcessInstance, Unit, User
from app.services import api_tokens, second_factor
from app.services.audit import Actor
from app.web.api import spec
from tests.conftest import APPROVE, TEST_APPLICATION, add_domain
from tests.second_factor_login import fresh_code

LIMITS = (180, 5)


def token_for(username: str, days: int = 30) -> str:
    """A token made through the service, as the page makes it (staff with a current second-factor code)."""
    user = _user(username)
    code = fresh_code(username) if second_factor.is_required(user) else ""
    wanted = api_tokens.Request("测试令牌", days, code)
    issued = api_tokens.create(db.session, user, wanted, datetime.now(UTC), "127.0.0.1", LIMITS)
    db.session.commit()
    return issued.secret


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


class Api:
    """A test client speaking JSON with one token; every answer is checked against the OpenAPI document."""

    def __init__(self, client: Any, token: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **query: Any) -> Any:
        return conforming(self.client.get(f"/api/v1{path}", query_string=query, headers=self.headers))

    def post(self, path: str, body: Any = None) -> Any:
        json = body if body is not None else {}
        return conforming(self.client.post(f"/api/v1{path}", json=json, headers=self.headers))


def conforming(response: Any) -> Any:
    """The answer's status is documented for its operation, and its body matches the documented schema."""
    document = spec.document()
    endpoint, _ = current_app.url_map.bind("localhost").match(response.request.path, response.request.method)
    operation = next(op for op in spec.OPERATIONS if op.endpoint == endpoint)
    responses = document["paths"][operation.path][operation.method]["responses"]
    assert str(response.status_code) in responses, (operation.path, response.status_code, response.get_json())
    schema = next(iter(responses[str(response.status_code)]["content"].values()))["schema"]
    validator = Draft202012Validator({**schema, "components": document["components"]}, format_checker=FormatChecker())
    validator.validate(response.get_json())
    return response


@pytest.fixture
def api(app: Flask, demo: dict[str, Any]) -> Any:
    tokens: dict[str, str] = {}

    def as_user(username: str) -> Api:
        if username not in tokens:
            tokens[username] = token_for(username)
        return Api(app.test_client(), tokens[username])

    return as_user


def _error(response: Any) -> dict[str, Any]:
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    return response.get_json()["error"]


def _audited(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.fixture
def submitted(api: Any, two_reviews: str) -> dict[str, Any]:
    """unit1 starts a two_reviews application through the API and submits its first form: at 编办 初审."""
    unit = api("unit1")
    started = unit.post("/applications", {"procedure": two_reviews})
    assert started.status_code == 201, started.get_json()
    (item_id,) = started.get_json()["open_items"]
    done = unit.post(f"/work-items/{item_id}/complete", {"data": TEST_APPLICATION})
    assert done.status_code == 200, done.get_json()
    return done.get_json()


# ---- tokens and authentication ------------------------------------------------------------------


class TestAuthentication:
    def test_requests_without_a_valid_token_are_refused_in_chinese(self, app: Flask, demo: dict[str, Any]) -> None:
        client = app.test_client()
        missing = client.get("/api/v1/me")
        assert missing.status_code == 401 and _error(missing)["code"] == "token_missing"
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        assert "令牌" in _error(missing)["message"]
        forged = client.get("/api/v1/me", headers={"Authorization": "Bearer zwgy_forged"})
        assert forged.status_code == 401 and _error(forged)["code"] == "token_invalid"
        basic = client.get("/api/v1/me", headers={"Authorization": "Basic dW5pdDE6ZGVtbw=="})
        assert _error(basic)["code"] == "token_missing"
        assert [e.detail["reason"] for e in _audited("api_token_refused")] == ["token_invalid"]

    def test_a_token_acts_as_its_account(self, api: Any) -> None:
        me = api("unit1").get("/me")
        assert me.status_code == 200
        assert me.get_json()["username"] == "unit1" and me.get_json()["unit"]["name"] == "鄂尔多斯市人民政府办公室"
        assert api("bianban").get("/me").get_json()["office"] == "编办:150600"

    def test_expired_and_revoked_tokens_stop_working(self, app: Flask, api: Any) -> None:
        secret = token_for("unit1")
        client = Api(app.test_client(), secret)
        assert client.get("/me").status_code == 200
        token = db.session.scalar(select(ApiToken).order_by(ApiToken.id.desc()))
        token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
        assert _error(client.get("/me"))["code"] == "token_expired"
        token.expires_at = datetime.now(UTC) + timedelta(days=1)
        api_tokens.revoke(db.session, _user("unit1"), token, datetime.now(UTC), None)
        db.session.commit()
        refused = client.get("/me")
        assert refused.status_code == 401 and _error(refused)["code"] == "token_revoked"
        reasons = [e.detail["reason"] for e in _audited("api_token_refused")]
        assert reasons == ["token_expired", "token_revoked"]
        assert all(e.actor == "unit1" for e in _audited("api_token_refused"))

    def test_a_staff_token_needs_the_second_factor_to_stay(self, api: Any) -> None:
        """The security admin's 重置第二因素 takes the account's tokens out of use until it enrols again."""
        bianban = api("bianban")
        assert bianban.get("/me").status_code == 200
        second_factor.reset(db.session, _user("bianban"), Actor("secadmin", "安全管理员"))
        db.session.commit()
        refused = bianban.get("/me")
        assert refused.status_code == 403 and _error(refused)["code"] == "second_factor_required"

    def test_a_password_to_change_first_blocks_the_token(self, api: Any) -> None:
        unit = api("unit1")
        _user("unit1").must_change_password = True
        db.session.commit()
        assert _error(unit.get("/me"))["code"] == "password_change_required"

    def test_rate_limited_per_token(self, app: Flask, api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        unit = api("unit1")
        monkeypatch.setitem(app.config, "API_LIMIT_PER_TOKEN", "3 per minute")
        statuses = [unit.get("/me").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert _error(unit.get("/me"))["code"] == "rate_limited"
        assert api("unit2").get("/me").status_code == 200  # another token has its own budget

    def test_csrf_is_skipped_only_for_token_requests(self, app: Flask, api: Any, login: Any, two_reviews: str) -> None:
        unit, browser = api("unit1"), login("unit1")
        app.config["WTF_CSRF_ENABLED"] = True
        try:
            with_token = unit.post("/applications", {"procedure": two_reviews})
            forged = browser.post("/api/v1/applications", json={"procedure": two_reviews})
        finally:
            app.config["WTF_CSRF_ENABLED"] = False
        assert with_token.status_code == 201
        assert forged.status_code == 400 and _error(forged)["code"] == "csrf_failed"
        assert browser.get("/api/v1/me").status_code == 401  # the login cookie is no credential here


class TestTokenPage:
    def test_a_unit_creates_a_token_shown_once_and_stored_as_a_hash(self, login: Any) -> None:
        client = login("unit1")
        created = client.post("/account/api-tokens/", data={"name": "办公系统对接", "days": "90"})
        assert created.status_code == 201
        secret = re.search(r"(zwgy_[A-Za-z0-9_-]{40,})", created.get_data(as_text=True)).group(1)
        token = db.session.scalar(select(ApiToken))
        assert token.token_hash != secret and secret not in token.token_hash and secret.startswith(token.prefix)
        assert (token.expires_at - token.created_at).days == 90
        listed = client.get("/account/api-tokens/").get_data(as_text=True)
        assert "办公系统对接" in listed and secret not in listed
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        assert _audited("api_token_create")[0].detail["prefix"] == token.prefix

    def test_staff_prove_the_second_factor_again(self, login: Any) -> None:
        client = login("bianban")
        without = client.post("/account/api-tokens/", data={"name": "对接", "days": "30"})
        assert without.status_code == 400 and "验证码不正确" in without.get_data(as_text=True)
        assert _user("bianban").failed_logins == 1  # counted like a wrong code at login
        assert db.session.scalar(select(ApiToken)) is None
        fresh = client.post("/account/api-tokens/", data={"name": "对接", "days": "30", "code": fresh_code("bianban")})
        assert fresh.status_code == 201

    def test_revoking_is_audited_and_only_for_the_owner(self, login: Any, api: Any) -> None:
        api("unit1")  # unit1 holds a token
        token = db.session.scalar(select(ApiToken))
        assert login("unit2").post(f"/account/api-tokens/{token.id}/revoke").status_code == 404
        assert login("unit1").post(f"/account/api-tokens/{token.id}/revoke").status_code == 302
        db.session.expire_all()
        assert db.session.get(ApiToken, token.id).revoked_at is not None
        assert len(_audited("api_token_revoke")) == 1

    def test_administrators_get_no_tokens(self, login: Any) -> None:
        assert login("admin").get("/account/api-tokens/").status_code == 403
        with pytest.raises(Exception, match="不能使用 API 令牌"):
            api_tokens.create(db.session, _user("admin"), api_tokens.Request("x", 30), datetime.now(UTC), None, LIMITS)


# ---- work items, applications -------------------------------------------------------------------


class TestWorkItems:
    def test_a_unit_starts_and_submits_like_the_wizard(self, api: Any, submitted: dict[str, Any]) -> None:
        assert submitted["numbered"] and submitted["business_key"].startswith("TR")
        assert submitted["stage"] == "待审核" and submitted["open_items"] == []
        status = api("unit1").get(f"/applications/{submitted['business_key']}").get_json()
        assert status["stage"] == "待审核"
        events = api("unit1").get(f"/applications/{submitted['business_key']}/history").get_json()["events"]
        assert [e["action"] for e in events] == ["start", "complete"] and events[1]["actor"] is None

    def test_validation_errors_are_the_forms_own_in_chinese(self, api: Any, two_reviews: str) -> None:
        unit = api("unit1")
        (item_id,) = unit.post("/applications", {"procedure": two_reviews}).get_json()["open_items"]
        refused = unit.post(f"/work-items/{item_id}/complete", {"data": {**TEST_APPLICATION, "contact_mobile": "123"}})
        assert refused.status_code == 422
        error = _error(refused)
        assert error["code"] == "validation_failed" and "手机" in error["fields"]["contact_mobile"]
        missing = _error(unit.post(f"/work-items/{item_id}/complete", {"data": {"years": 2}}))
        assert missing["fields"]["domain_name"] == "请填写申请名称"
        unknown = _error(unit.post(f"/work-items/{item_id}/complete", {"data": {"is_admin": True}}))
        assert unknown["fields"] == {"is_admin": "表单包含不允许的字段"}
        assert unit.get(f"/work-items/{item_id}").get_json()["values"]["years"] == 2  # kept as the draft

    def test_reviewers_list_claim_and_complete_like_the_page(self, api: Any, submitted: dict[str, Any]) -> None:
        bianban = api("bianban")
        inbox = bianban.get("/work-items", claimed="unclaimed", sort="-created").get_json()
        assert inbox["total"] == 1 and inbox["by_stage"] == [{"stage": "待审核", "count": 1}]
        item = inbox["items"][0]
        assert item["business_key"] == submitted["business_key"] and item["domain"] == "测试单位.政务"
        assert bianban.post(f"/work-items/{item['id']}/claim").get_json()["assignee"] == "bianban"
        lost = api("bianban2").post(f"/work-items/{item['id']}/claim")
        assert lost.status_code == 409 and _error(lost) == {"code": "claim_conflict", "message": "已被他人签收"}
        assert (
            api("bianban2").post(f"/work-items/{item['id']}/complete", {"data": {"decision": "approve"}}).status_code
            == 409
        )
        no_reason = _error(bianban.post(f"/work-items/{item['id']}/complete", {"data": {"decision": "reject"}}))
        assert no_reason["fields"] == {"reason": "请填写说明"}
        done = bianban.post(f"/work-items/{item['id']}/complete", {"data": {"decision": "approve"}})
        assert done.status_code == 200 and done.get_json()["stage"] == "复审中"
        (event,) = [e for e in _audited("complete") if e.actor == "bianban"]
        assert event.decision == "approve" and event.task_name == "review"
        assert [e.actor for e in _audited("claim")] == ["bianban"]
        assert api("conac").get("/work-items").get_json()["total"] == 1

    def test_the_api_and_the_page_move_an_application_alike(
        self, api: Any, login: Any, submitted: dict[str, Any], two_reviews: str
    ) -> None:
        unit = api("unit1")
        (item_id,) = unit.post("/applications", {"procedure": two_reviews}).get_json()["open_items"]
        second = {**TEST_APPLICATION, "domain_name": "第二测试单位.政务"}
        by_page_key = unit.post(f"/work-items/{item_id}/complete", {"data": second}).get_json()["business_key"]
        items = {i["business_key"]: i["id"] for i in api("bianban").get("/work-items").get_json()["items"]}
        page = login("bianban").post(f"/review/tasks/{items[by_page_key]}", data={"decision": "approve"})
        assert page.status_code == 302
        by_api = api("bianban").post(f"/work-items/{items[submitted['business_key']]}/complete", {"data": APPROVE})
        by_page = api("bianban").get(f"/applications/{by_page_key}").get_json()
        assert by_api.get_json()["stage"] == by_page["stage"] == "复审中"
        assert by_api.get_json()["steps"] == by_page["steps"]
        events = {e.instance_id: e for e in _audited("complete") if e.actor == "bianban"}
        assert len(events) == 2
        assert {(e.task_name, e.decision, e.role) for e in events.values()} == {("review", "approve", "编办")}

    def test_units_do_not_claim(self, api: Any, submitted: dict[str, Any]) -> None:
        assert _error(api("unit1").post("/work-items/1/claim"))["code"] == "forbidden_role"

    def test_a_stale_version_is_a_conflict(self, api: Any, submitted: dict[str, Any]) -> None:
        bianban = api("bianban")
        item = bianban.get("/work-items").get_json()["items"][0]
        version = bianban.get(f"/work-items/{item['id']}").get_json()["version"]
        body = {"data": {"decision": "approve"}, "expected_version": version - 1}
        assert _error(bianban.post(f"/work-items/{item['id']}/complete", body))["code"] == "conflict"


class TestJurisdiction:
    def test_another_regions_reviewer_finds_nothing(self, api: Any, submitted: dict[str, Any]) -> None:
        item_id = api("bianban").get("/work-items").get_json()["items"][0]["id"]
        dongsheng = api("dongsheng")
        assert dongsheng.get("/work-items").get_json()["total"] == 0
        for response in (
            dongsheng.get(f"/work-items/{item_id}"),
            dongsheng.post(f"/work-items/{item_id}/claim"),
            dongsheng.post(f"/work-items/{item_id}/complete", {"data": {"decision": "approve"}}),
            dongsheng.get(f"/applications/{submitted['business_key']}"),
            dongsheng.get(f"/applications/{submitted['business_key']}/history"),
        ):
            assert response.status_code == 404 and _error(response)["code"] == "not_found"
        denied = _audited("access_denied")
        assert len(denied) == 5 and {e.actor for e in denied} == {"dongsheng"}

    def test_a_unit_cannot_see_another_units_application(self, api: Any, submitted: dict[str, Any]) -> None:
        key = submitted["business_key"]
        assert api("unit2").get(f"/applications/{key}").status_code == 404
        assert api("unit2").get(f"/applications/{key}/history").status_code == 404
        assert api("unit2").get("/work-items").get_json()["total"] == 0

    def test_the_unit_history_hides_reviewer_bookkeeping(self, api: Any, submitted: dict[str, Any]) -> None:
        bianban = api("bianban")
        bianban.post(f"/work-items/{bianban.get('/work-items').get_json()['items'][0]['id']}/claim")
        key = submitted["business_key"]
        assert "claim" in [e["action"] for e in bianban.get(f"/applications/{key}/history").get_json()["events"]]
        assert "claim" not in [
            e["action"] for e in api("unit1").get(f"/applications/{key}/history").get_json()["events"]
        ]


# ---- domains and certificates -------------------------------------------------------------------


class TestDomains:
    def test_each_sees_the_domains_it_answers_for(self, api: Any, demo: dict[str, Any]) -> None:
        unit1 = db.session.get(Unit, demo["unit1"].unit_id)
        add_domain(unit1, "接口测试单位.政务")
        assert [d["name"] for d in api("unit1").get("/domains").get_json()["items"]] == ["接口测试单位.政务"]
        assert api("bianban").get("/domains", q="接口测试").get_json()["total"] == 1
        assert api("dongsheng").get("/domains").get_json()["total"] == 0
        assert _error(api("conac").get("/domains"))["code"] == "forbidden_role"
        bad = api("unit1").get("/domains", expires_from="2026-13-01")
        assert bad.status_code == 400 and _error(bad)["fields"]["expires_from"] == "日期格式须为 YYYY-MM-DD"

    def test_renewal_starts_like_the_query_page(self, api: Any, demo: dict[str, Any], engine: Engine) -> None:
        unit1 = db.session.get(Unit, demo["unit1"].unit_id)
        add_domain(unit1, "接口续费单位.政务")
        renewed = api("unit1").post("/domains/renewals", {"data": {"domains": ["接口续费单位.政务"], "years": 2}})
        assert renewed.status_code == 201, renewed.get_json()
        key = renewed.get_json()["business_key"]
        assert db.session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == key)) is not None
        row = api("unit1").get("/domains").get_json()["items"][0]
        assert row["renewal"] == key and row["renewable"] is False
        foreign = api("dongsheng").post("/domains/renewals", {"data": {"domains": ["接口续费单位.政务"], "years": 1}})
        assert foreign.status_code == 422 and "不是本编办所辖单位的域名" in _error(foreign)["fields"]["domains"]


class TestCertificates:
    def test_lookup_by_public_id_or_code(self, api: Any, demo: dict[str, Any]) -> None:
        unit1 = db.session.get(Unit, demo["unit1"].unit_id)
        add_domain(unit1, "标识测试单位.政务")
        certificate = Certificate(
            public_id="B" * 32, unit_id=unit1.id, colour="red", site_name="标识测试", domains=["标识测试单位.政务"]
        )
        db.session.add(certificate)
        db.session.flush()
        certificate.code = "CA15060020260000009"
        db.session.commit()
        by_id = api("unit2").get(f"/certificates/{'B' * 32}").get_json()
        by_code = api("dongsheng").get("/certificates/CA15060020260000009").get_json()
        assert by_id == by_code and by_id["status"] == "valid" and by_id["unit"] == "鄂尔多斯市人民政府办公室"
        assert _error(api("unit2").get("/certificates/CA15060020269999999"))["code"] == "not_found"


# ---- the document -------------------------------------------------------------------------------


class TestDocument:
    def test_the_document_names_exactly_the_api_routes(self, app: Flask) -> None:
        document = app.test_client().get("/api/v1/openapi.json").get_json()
        assert document["openapi"] == "3.1.0"
        schemathesis.openapi.from_dict(document).validate()  # against the OpenAPI 3.1 meta-schema
        documented = {(m.upper(), p) for p, methods in document["paths"].items() for m in methods}
        routes = {
            (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")))
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("api.")
            for method in rule.methods - {"HEAD", "OPTIONS"}
        }
        assert documented == routes
        assert {op.endpoint for op in spec.OPERATIONS} == {
            r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")
        }

    def test_every_route_but_the_documents_needs_a_token(self, app: Flask) -> None:
        """Walks the blueprint's url_map, so a route added later is gated (or documented as public) too."""
        client, urls = app.test_client(), app.url_map.bind("localhost")
        public = {op.endpoint for op in spec.OPERATIONS if op.public}
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("api."):
                continue
            url = urls.build(rule.endpoint, {name: 1 for name in rule.arguments})
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                status = client.open(url, method=method).status_code
                assert status == (200 if rule.endpoint in public else 401), (method, url, status)

    def test_the_reference_page_is_rendered_from_the_document(self, app: Flask) -> None:
        page = app.test_client().get("/api/v1/docs")
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert all(op.summary in text for op in spec.OPERATIONS)
        assert "<script>" not in text and " style=" not in text

    def test_unknown_paths_and_methods_answer_json(self, app: Flask) -> None:
        client = app.test_client()
        assert _error(client.get("/api/v1/nothing-here"))["code"] == "not_found"
        assert _error(client.delete("/api/v1/me"))["code"] == "method_not_allowed"
