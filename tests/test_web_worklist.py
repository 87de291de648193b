"""The reviewers' worklist: 待办 of one's own office, the task page, claiming, search and 已办.

A 编办 reviewer sees exactly the open items of its office and role; every page that takes an
item id answers 404 for anything else. Decisions go through the task's JSON Schema form, so a
rejection without a reason is refused next to the field and changes nothing. Claiming is a
conditional update: whoever claims first holds the item until they release or transfer it.

Runs on the tests' own procedure (tests/diagrams/two_reviews.bpmn: 初审 by the 编办, 复审 by CONAC, then a
fee the 编办 collects), so a policy edit of a shipped diagram leaves these tests alone.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, User, WorkItem
from app.services import assignment, worklist
from app.services.errors import ServiceRefusal
from app.services.worklist import InboxFilters
from tests.conftest import APPROVE, BIANBAN, CONAC, TEST_APPLICATION, TWO_REVIEWS, UNIT, Application
from tests.test_runner import in_threads

pytestmark = pytest.mark.usefixtures("two_reviews")


def submitted(start: Any, unit: Any, domain: str = "鄂尔多斯市人民政府.政务") -> Application:
    """An application the unit has filled in: it now waits for its 编办 (待审核)."""
    return start(TWO_REVIEWS, unit).complete(UNIT, {**TEST_APPLICATION, "domain_name": domain})


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))  # type: ignore[return-value]


def keys_in(html: str) -> set[str]:
    """Application numbers shown as table cells or links (not the search text echoed back)."""
    return set(re.findall(r">(TR\d{10})<", html))


def page(client: Any, url: str, **params: Any) -> str:
    response = client.get(url, query_string=params)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def post(client: Any, url: str, **form: Any) -> Any:
    return client.post(url, data=form)


def task_url(application: Application, suffix: str = "") -> str:
    return f"/review/tasks/{application.task().id}{suffix}"


@pytest.fixture
def ordos(make_unit: Any, start: Any) -> list[Application]:
    """Three applications of units in 鄂尔多斯市 (150600), one of a unit in 东胜区 (150602)."""
    names = ("鄂尔多斯市教育局", "鄂尔多斯市民政局", "鄂尔多斯市财政局")
    mine = [submitted(start, make_unit(name=n), f"{n}.政务") for n in names]
    submitted(start, make_unit(name="东胜区民政局", region_code="150602"), "东胜区民政局.政务")
    return mine


# ---- who sees what ------------------------------------------------------------------------


def test_a_reviewer_sees_exactly_the_items_of_its_office(login: Any, ordos: list[Application]) -> None:
    ordos_keys = {a.instance.business_key for a in ordos}

    assert keys_in(page(login("bianban"), "/review/")) == ordos_keys
    dongsheng_keys = keys_in(page(login("dongsheng"), "/review/"))
    assert len(dongsheng_keys) == 1 and not dongsheng_keys & ordos_keys
    assert keys_in(page(login("conac"), "/review/")) == set()  # nothing has passed 编办 yet


def test_every_item_route_answers_404_for_an_item_of_another_office(
    app: Flask, login: Any, ordos: list[Application]
) -> None:
    """Walks the blueprint's url_map, so a route added later is covered without touching this test."""
    item = ordos[0].task()
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("worklist.") and "item_id" in r.arguments]
    assert len(rules) >= 5
    urls = app.url_map.bind("localhost")
    for reviewer in ("dongsheng", "conac"):
        client = login(reviewer)
        for rule in rules:
            url = urls.build(rule.endpoint, {"item_id": item.id})
            for method in {"GET", "POST"} & set(rule.methods or ()):
                form = {"decision": "approve", "colleague": "bianban2", "expected_version": "1"}
                response = client.open(url, method=method, data=form)
                assert response.status_code == 404, (reviewer, method, url)
    assert ordos[0].stage == "待审核" and ordos[0].task().assignee is None


# ---- the 待办 list ---------------------------------------------------------------------------


def test_counts_are_by_stage_and_procedure(demo: dict[str, Any], ordos: list[Application]) -> None:
    ordos[0].complete(BIANBAN, APPROVE).complete(CONAC, APPROVE)  # now 待缴费 with 编办

    inbox = worklist.inbox(db.session, user("bianban"), InboxFilters())
    assert inbox.total == 3
    assert inbox.by_stage == [("待审核", 2), ("待缴费", 1)]
    assert [(p, n) for p, _name, n in inbox.by_procedure] == [(TWO_REVIEWS, 3)]
    only_fees = worklist.inbox(db.session, user("bianban"), InboxFilters(stage="待缴费"))
    assert [r.business_key for r in only_fees.rows] == [ordos[0].instance.business_key]
    assert worklist.inbox(db.session, user("bianban"), InboxFilters(procedure="rounds")).total == 0


def test_sorting_and_pagination(demo: dict[str, Any], ordos: list[Application]) -> None:
    bianban = user("bianban")
    keys = sorted(a.instance.business_key for a in ordos)

    first = worklist.inbox(db.session, bianban, InboxFilters(), sort="-key", page=1, page_size=2)
    second = worklist.inbox(db.session, bianban, InboxFilters(), sort="-key", page=2, page_size=2)
    assert (first.total, first.pages) == (3, 2)
    assert [r.business_key for r in first.rows + second.rows] == keys[::-1]
    beyond = worklist.inbox(db.session, bianban, InboxFilters(), sort="key", page=9, page_size=2)
    assert beyond.page == 2 and [r.business_key for r in beyond.rows] == keys[2:]
    by_arrival = worklist.inbox(db.session, bianban, InboxFilters(), sort="created")
    assert [r.business_key for r in by_arrival.rows] == keys  # submitted in this order


def test_the_list_page_filters_sorts_and_pages_through_query_parameters(login: Any, ordos: list[Application]) -> None:
    client = login("bianban")
    html = page(client, "/review/", sort="-key")
    keys = sorted(keys_in(html))
    assert html.index(keys[2]) < html.index(keys[0])
    assert 'aria-sort="descending"' in html
    assert "共 3 件待办" in html
    assert keys_in(page(client, "/review/", claimed="mine")) == set()
    assert keys_in(page(client, "/review/", stage="待缴费")) == set()
    assert keys_in(page(client, "/review/", region="150000", page="x", submitted_from="bad")) == set(keys)


def test_filter_by_submission_date_and_overdue(
    demo: dict[str, Any], make_unit: Any, start: Any, clock: Any, login: Any
) -> None:
    clock.set("2026-09-28 10:00")
    early = submitted(start, make_unit(name="鄂尔多斯市教育局"), "鄂尔多斯市教育局.政务")
    clock.set("2026-10-20 10:00")
    late = submitted(start, make_unit(name="鄂尔多斯市民政局"), "鄂尔多斯市民政局.政务")
    bianban = user("bianban")

    def keys(**filters: Any) -> list[str]:
        rows = worklist.inbox(db.session, bianban, InboxFilters(**filters), now=clock()).rows
        return [r.business_key for r in rows]

    early_key, late_key = early.instance.business_key, late.instance.business_key
    assert keys(submitted_to=datetime(2026, 9, 28).date()) == [early_key]
    assert keys(submitted_from=datetime(2026, 10, 1).date()) == [late_key]
    assert keys(overdue=True) == [early_key]  # due 5 working days after 9-28
    html = page(login("bianban"), "/review/")
    assert html.count('text-bg-danger">已超期') == 1


def test_conac_filters_by_region_prefix(demo: dict[str, Any], make_unit: Any, start: Any) -> None:
    city = submitted(start, make_unit(name="鄂尔多斯市教育局"), "鄂尔多斯市教育局.政务").complete(BIANBAN, APPROVE)
    county = submitted(start, make_unit(name="东胜区民政局", region_code="150602"), "东胜区民政局.政务")
    county.complete(BIANBAN, APPROVE)
    conac = user("conac")

    def keys(region: str) -> set[str]:
        return {r.business_key for r in worklist.inbox(db.session, conac, InboxFilters(region=region)).rows}

    both = {city.instance.business_key, county.instance.business_key}
    assert keys("150000") == keys("") == both
    assert keys("150602") == {county.instance.business_key}
    assert keys("110000") == set()


# ---- the task page and decisions -----------------------------------------------------------


def test_the_task_page_shows_the_application_instructions_and_decision_form(
    login: Any, ordos: list[Application]
) -> None:
    html = page(login("bianban"), task_url(ordos[0]))
    assert "鄂尔多斯市教育局.政务" in html and "申请名称" in html  # data under the form's field titles
    assert "测试：申请" in html and "不选方式" in html  # codes as titles
    assert "请审核测试申请" in html  # the diagram's instructions for this task
    assert "决定" in html and 'value="reject"' in html
    assert f'name="expected_version" value="{ordos[0].instance.version}"' in html


def test_a_later_task_shows_the_units_data_but_no_earlier_reviewers_decision_as_application_data(
    login: Any, ordos: list[Application]
) -> None:
    application = ordos[0].complete(BIANBAN, {"decision": "approve", "reason": "初审意见"})
    application.complete(CONAC, {"decision": "approve", "reason": "复审意见"})
    assert application.task().form == "fee.schema.json"  # the 编办 collects the fee

    html = page(login("bianban"), task_url(application))
    assert "鄂尔多斯市教育局.政务" in html and "测试：申请" in html
    assert "测试：决定" not in html  # decisions are overwritten step by step: the timeline shows each one


def test_rejecting_without_a_reason_is_refused_next_to_the_field(login: Any, ordos: list[Application]) -> None:
    application = ordos[0]
    before = (application.instance.version, application.task().id)

    response = post(login("bianban"), task_url(application), decision="reject", reason="")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'id="field-reason-error">\s*请填写', html)
    assert 'value="reject" checked' in html  # what the reviewer chose is kept
    assert (application.instance.version, application.task().id) == before
    assert application.stage == "待审核"


def test_rejecting_with_a_reason_returns_the_application_to_the_unit(login: Any, ordos: list[Application]) -> None:
    application = ordos[0]
    client = login("bianban")
    response = post(client, task_url(application), decision="reject", reason="域名应使用单位规范简称")
    assert response.status_code == 302 and response.location.endswith("/review/")
    assert application.stage == "审核不通过"
    assert application.task().role == "单位"
    assert application.instance.business_key not in page(client, "/review/")


def test_approving_sends_the_application_to_conac(login: Any, ordos: list[Application]) -> None:
    application = ordos[0]
    key = application.instance.business_key
    assert post(login("bianban"), task_url(application), decision="approve").status_code == 302

    assert application.stage == "复审中"
    assert keys_in(page(login("conac"), "/review/")) == {key}
    assert "鄂尔多斯市教育局.政务" in page(login("conac"), task_url(application))


def test_a_form_opened_before_the_application_changed_is_a_conflict(login: Any, ordos: list[Application]) -> None:
    application = ordos[0]
    stale = application.instance.version - 1
    response = post(login("bianban"), task_url(application), decision="approve", expected_version=stale)
    assert response.status_code == 409
    assert "申请已被他人更新" in response.get_data(as_text=True)
    assert application.stage == "待审核"


def test_a_task_completed_meanwhile_is_gone(login: Any, ordos: list[Application]) -> None:
    url = task_url(ordos[0])
    assert post(login("bianban2"), url, decision="approve").status_code == 302
    response = post(login("bianban"), url, decision="reject", reason="名称不规范")
    assert response.status_code == 404
    assert "已由他人办理" in response.get_data(as_text=True)
    assert ordos[0].stage == "复审中"


# ---- claim, release, transfer ---------------------------------------------------------------


def test_a_claimed_item_is_only_for_its_assignee(login: Any, ordos: list[Application]) -> None:
    application = ordos[0]
    assert post(login("bianban"), task_url(application, "/claim")).status_code == 302
    assert application.task().assignee == "bianban"

    client = login("bianban2")
    post(client, task_url(application, "/claim"))
    assert "已被他人签收" in page(client, "/review/")  # the refusal is flashed
    post(client, task_url(application, "/release"))
    assert application.task().assignee == "bianban"
    response = post(client, task_url(application), decision="approve")
    assert response.status_code == 409
    assert "该任务已由 bianban 签收办理" in response.get_data(as_text=True)
    assert application.stage == "待审核"
    assert "已由 bianban 签收办理，您不能提交或转办" in page(client, task_url(application))


def test_the_assignee_releases_an_item(demo: dict[str, Any], ordos: list[Application]) -> None:
    item_id = ordos[0].task().id
    assignment.claim(db.session, user("bianban"), item_id)
    with pytest.raises(ServiceRefusal, match="只有签收人"):
        assignment.release(db.session, user("bianban2"), item_id)
    assignment.release(db.session, user("bianban"), item_id)
    db.session.commit()
    assert ordos[0].task().assignee is None
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(("claim", "release"))))
    assert sorted(actions) == ["claim", "release"]


def test_transfer_goes_to_a_colleague_of_the_same_office_only(login: Any, ordos: list[Application]) -> None:
    application = ordos[0]
    client = login("bianban")
    post(client, task_url(application, "/claim"))
    assert "bianban2" in page(client, task_url(application))  # offered as a colleague
    assert "dongsheng" not in page(client, task_url(application))

    post(client, task_url(application, "/transfer"), colleague="dongsheng")
    assert "只能转办给本机构同一角色的在岗同事" in page(client, "/review/")
    assert application.task().assignee == "bianban"
    assert post(client, task_url(application, "/transfer"), colleague="bianban2").status_code == 302
    assert application.task().assignee == "bianban2"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "transfer"))
    assert (event.actor, event.detail["to"]) == ("bianban", "bianban2")

    assert post(client, task_url(application), decision="approve").status_code == 409
    assert post(login("bianban2"), task_url(application), decision="approve").status_code == 302
    assert application.stage == "复审中"


def test_two_reviewers_claiming_at_once_one_wins(
    app: Flask, backend: str, demo: dict[str, Any], ordos: list[Application]
) -> None:
    if backend != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL")
    item_id = ordos[0].task().id

    def claim_as(name: str) -> str:
        assignment.claim(db.session, user(name), item_id)
        db.session.commit()
        return name

    results = in_threads(app, [lambda: claim_as("bianban"), lambda: claim_as("bianban2")])
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1, results
    assert [str(r) for r in results if isinstance(r, ServiceRefusal)] == ["已被他人签收"]
    assert db.session.get(WorkItem, item_id).assignee == winners[0]


# ---- search and 已办 ------------------------------------------------------------------------


def test_search_by_business_key_unit_name_or_domain_within_jurisdiction(login: Any, ordos: list[Application]) -> None:
    key = ordos[1].instance.business_key
    client = login("bianban")
    assert keys_in(page(client, "/review/search", q=key)) == {key}
    assert keys_in(page(client, "/review/search", q=key.lower()[2:])) == {key}
    assert keys_in(page(client, "/review/search", q=key.lower())) == {key}  # a whole number, read by its start
    all_keys = {application.instance.business_key for application in ordos}  # not 东胜区民政局's: another office
    assert keys_in(page(client, "/review/search", q=key[:6])) == all_keys  # prefix and year
    assert keys_in(page(client, "/review/search", q=key[1:6])) == all_keys  # not from its start: trigrams
    assert keys_in(page(client, "/review/search", q="民政局")) == {key}  # not 东胜区民政局: another office
    assert keys_in(page(client, "/review/search", q="财政局.政务")) == {ordos[2].instance.business_key}
    assert keys_in(page(client, "/review/search", q="%")) == set()
    assert f"/review/tasks/{ordos[1].task().id}" in page(client, "/review/search", q=key)
    assert keys_in(page(login("dongsheng"), "/review/search", q=key)) == set()


def test_done_lists_what_the_reviewer_completed(login: Any, ordos: list[Application]) -> None:
    client = login("bianban")
    post(client, task_url(ordos[0]), decision="approve")
    post(client, task_url(ordos[1]), decision="reject", reason="联系人非本单位人员")

    html = page(client, "/review/done")
    assert keys_in(html) == {ordos[0].instance.business_key, ordos[1].instance.business_key}
    assert "退回" in html and "联系人非本单位人员" in html and "初审" in html  # the decision by its title
    assert keys_in(page(login("bianban2"), "/review/done")) == set()


def test_reviewers_filter_by_region_names_of_their_jurisdiction(login: Any, regions_loaded: None) -> None:
    html = page(login("bianban"), "/review/", region="150602")  # the 鄂尔多斯市 office
    assert '<option value="150600">鄂尔多斯市</option>' in html
    assert '<option value="150602" selected>东胜区</option>' in html
    assert "呼和浩特市" not in html and "地区代码" not in html
    conac = page(login("conac"), "/review/")
    assert '<option value="150000">内蒙古自治区</option>' in conac and "东胜区" not in conac
