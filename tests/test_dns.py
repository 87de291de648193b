"""域名解析 (seed 003 FAQ 五, DOMAIN.md §3), as a unit, its 编办, the name servers and a visitor see it.

1. A unit adds a record to one of its domains from 我的域名: host @ or www, type A (a public IPv4
   address) or URL转发 (an http/https URL). Saving starts the review procedure of
   workflows/域名解析.bpmn; the record is 审核中 and the unit's 编办 has the review in its 待办.
2. After an @ record the page offers the same record for www; one click submits it.
3. The 编办 approves: the record takes effect and replaces what the host pointed to before; or it
   refuses with a reason the unit sees. The reviewer is the diagram's lane, not code.
4. `flask dns export` writes one zone per suffix with the effective records of domains in force
   (A-label owners, SOA/NS from the settings, URL转发 as an A record to the platform), and
   named-checkzone accepts it. Records of an expired, frozen or deleted domain are left out.
5. A request whose Host is a domain with an effective URL转发 record (U-label or A-label, www or
   not, any port) gets a 301 to the target; any other host gets the platform.
6. Bad input: a private IP, a javascript:/data:/file: URL, credentials in the URL, a repeated
   record, a second record of a host under review, another unit's or an inactive domain: a Chinese
   message next to the field, and nothing is created.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.engine import Engine
from app.extensions import db
from app.models import AuditEvent, DnsRecord, Domain, ProcessInstance, RedPage, WorkItem
from app.services.audit import Actor
from app.taskforms.formats import FORMAT_MESSAGES, to_ascii_domain
from tests.conftest import APPROVE, add_domain, at, reject

NAME = "鄂尔多斯市人民政府办公室.政务"
OTHER = "鄂尔多斯市第一人民医院.公益"
BIANBAN = Actor("bianban", "编办", office_code="编办:150600")
WEB_IPV4 = "101.200.1.1"  # the platform's own web server, as PLATFORM_WEB_IPV4
SITE = "http://www.ordos.gov.cn/"


# ---- helpers ---------------------------------------------------------------------------


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def records() -> list[DnsRecord]:
    db.session.expire_all()
    return list(db.session.scalars(select(DnsRecord).order_by(DnsRecord.id)))


def field_error(page: str, name: str) -> str:
    found = re.search(f'id="field-{name}-error">([^<]*)<', page)
    return found.group(1) if found else ""


@pytest.fixture
def unit_client(login: Any) -> Any:
    return login("unit1")


@pytest.fixture
def domain(demo: dict[str, Any]) -> Domain:
    return add_domain(demo["unit1"].unit, NAME)


def submit(client: Any, domain: Domain, host: str, record_type: str, value: str) -> Any:
    form = {"host": host, "record_type": record_type, "value": value}
    return client.post(f"/unit/domains/{domain.id}/dns", data=form)


def review(engine: Engine, record: DnsRecord, decision: dict[str, str]) -> None:
    """The 编办's decision on the record's review task."""
    item = db.session.scalar(select(WorkItem).where(WorkItem.instance_id == record.instance_id))
    assert item is not None and item.office_code == "编办:150600" and item.role == "编办"
    engine.runner.complete(item.task_id, BIANBAN, decision)


def effective(engine: Engine, client: Any, domain: Domain, host: str, record_type: str, value: str) -> DnsRecord:
    assert submit(client, domain, host, record_type, value).status_code == 302
    record = records()[-1]
    review(engine, record, APPROVE)
    db.session.refresh(record)
    assert record.status == "effective"
    return record


# ---- submitting, the www offer, review --------------------------------------------------


def test_an_a_record_goes_to_review_and_the_page_offers_the_same_for_www(
    unit_client: Any, domain: Domain, engine: Engine
) -> None:
    response = submit(unit_client, domain, "@", "A", "202.96.1.10")

    assert response.status_code == 302
    (record,) = records()
    assert (record.host, record.record_type, record.value, record.status) == ("@", "A", "202.96.1.10", "pending")
    instance = db.session.get(ProcessInstance, record.instance_id)
    assert instance is not None and instance.business_key.startswith("JX") and instance.stage == "待审核"
    assert response.headers["Location"].endswith(f"/unit/domains/{domain.id}?offer={record.id}")

    page = text(unit_client.get(response.headers["Location"]))
    assert "是否允许系统自动添加相同的 www 记录" in page and "审核中" in page and instance.business_key in page

    assert unit_client.post(
        f"/unit/domains/{domain.id}/dns", data={"host": "www", "record_type": "A", "value": "202.96.1.10"}
    ).status_code == 302
    assert [(r.host, r.status) for r in records()] == [("@", "pending"), ("www", "pending")]
    assert "是否允许系统自动添加" not in text(unit_client.get(f"/unit/domains/{domain.id}?offer={record.id}"))


def test_a_www_record_is_not_followed_by_an_offer(unit_client: Any, domain: Domain) -> None:
    response = submit(unit_client, domain, "www", "URL", SITE)

    assert response.headers["Location"].endswith(f"/unit/domains/{domain.id}")


def test_approval_makes_the_record_effective_and_replaces_the_previous_one(
    unit_client: Any, domain: Domain, engine: Engine
) -> None:
    first = effective(engine, unit_client, domain, "@", "A", "202.96.1.10")
    second = effective(engine, unit_client, domain, "@", "URL", SITE)

    db.session.refresh(first)
    assert (first.status, second.status) == ("replaced", "effective")
    instance = db.session.get(ProcessInstance, second.instance_id)
    assert instance is not None and (instance.status, instance.stage) == ("completed", "已生效")
    page = text(unit_client.get("/unit/domains"))
    assert SITE in page and "202.96.1.10" not in page  # 我的域名 lists the live records only


def test_a_refusal_keeps_the_record_out_and_the_unit_sees_why(
    unit_client: Any, domain: Domain, engine: Engine
) -> None:
    submit(unit_client, domain, "@", "URL", "http://www.example.com/")
    (record,) = records()

    review(engine, record, reject("转发网址不是本单位的网站"))

    db.session.refresh(record)
    assert (record.status, record.reason) == ("refused", "转发网址不是本单位的网站")
    page = text(unit_client.get(f"/unit/domains/{domain.id}"))
    assert "审核不通过" in page and "转发网址不是本单位的网站" in page


def test_the_unit_removes_an_effective_record_at_once(unit_client: Any, domain: Domain, engine: Engine) -> None:
    record = effective(engine, unit_client, domain, "@", "A", "202.96.1.10")

    response = unit_client.post(f"/unit/domains/{domain.id}/dns/{record.id}/remove")

    assert response.status_code == 302
    db.session.refresh(record)
    assert record.status == "removed"
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dns_remove"))
    assert event.actor == "unit1" and event.detail["value"] == "202.96.1.10"
    again = unit_client.post(f"/unit/domains/{domain.id}/dns/{record.id}/remove", follow_redirects=True)
    assert "这条解析记录已删除，不能删除" in text(again)


def test_the_procedure_can_also_be_started_from_我要办理(unit_client: Any, domain: Domain) -> None:
    page = text(unit_client.get("/unit/start/dns_record"))
    assert "域名解析" in page and f'value="{NAME}"' in page  # the unit's registered domains to choose from

    form = {"record_domain": NAME, "host": "www", "record_type": "A", "value": "202.96.1.10"}
    response = unit_client.post("/unit/start/dns_record", data=form)

    assert response.status_code == 302
    assert [(r.host, r.status) for r in records()] == [("www", "pending")]


def test_the_reviewing_office_is_the_diagram_s_lane(engine: Engine) -> None:
    compiled = engine.definitions.compiled(engine.definitions.latest(db.session, "dns_record"))
    assert compiled.names["review_dns"] == "解析审核"
    assert "编办" in compiled.lanes


# ---- bad input: a message next to the field, nothing created ----------------------------


@pytest.mark.parametrize(
    ("host", "record_type", "value", "field", "message"),
    [
        pytest.param("@", "A", "192.168.1.10", "value", FORMAT_MESSAGES["ipv4"], id="private-ip"),
        pytest.param("@", "A", "127.0.0.1", "value", FORMAT_MESSAGES["ipv4"], id="loopback-ip"),
        pytest.param("@", "A", SITE, "value", FORMAT_MESSAGES["ipv4"], id="url-as-a-record"),
        pytest.param("@", "URL", "javascript:alert(1)", "value", "不接受 javascript:", id="javascript-url"),
        pytest.param("@", "URL", "data:text/html,hi", "value", "（您填写的是“data:”）", id="data-url"),
        pytest.param("@", "URL", "file:///etc/passwd", "value", "（您填写的是“file:”）", id="file-url"),
        pytest.param("@", "URL", "http://admin:pw@ordos.gov.cn/", "value", "不能包含用户名或密码", id="credentials"),
        pytest.param("@", "URL", "http://gov.cn@evil.example/", "value", "不能包含用户名或密码", id="at-trick"),
        pytest.param("@", "URL", "http://10.0.0.1/", "value", "网站地址不正确", id="private-url-host"),
        pytest.param("@", "URL", f"http://{NAME}/", "value", "不能转发到本域名自身", id="loop"),
        pytest.param("mail", "A", "202.96.1.10", "host", "请从选项中正确选择主机记录", id="other-host"),
        pytest.param("@", "MX", "202.96.1.10", "record_type", "请从选项中正确选择记录类型", id="other-type"),
        pytest.param("@", "A", "", "value", "请填写记录值", id="empty"),
    ],
)
def test_bad_records_are_refused_next_to_the_field_and_nothing_is_created(
    unit_client: Any, domain: Domain, host: str, record_type: str, value: str, field: str, message: str
) -> None:
    response = submit(unit_client, domain, host, record_type, value)

    assert response.status_code == 400
    assert message in field_error(text(response), field)
    assert (count(DnsRecord), count(ProcessInstance)) == (0, 0)


def test_a_repeated_record_and_a_second_one_under_review_are_refused(
    unit_client: Any, domain: Domain, engine: Engine
) -> None:
    effective(engine, unit_client, domain, "@", "A", "202.96.1.10")
    again = submit(unit_client, domain, "@", "A", "202.96.1.10")
    assert again.status_code == 400
    assert "已有相同的解析记录" in field_error(text(again), "value")

    submit(unit_client, domain, "@", "A", "202.96.1.11")
    second = submit(unit_client, domain, "@", "URL", SITE)
    assert second.status_code == 400
    assert "正在审核中" in field_error(text(second), "host")
    assert [r.status for r in records()] == ["effective", "pending"]
    assert count(ProcessInstance) == 2


def test_an_inactive_domain_gets_no_new_record(unit_client: Any, domain: Domain) -> None:
    domain.status = "frozen"
    db.session.commit()

    page = text(unit_client.get(f"/unit/domains/{domain.id}"))
    response = submit(unit_client, domain, "@", "A", "202.96.1.10")

    assert "不能添加新的解析记录" in page and 'name="value"' not in page
    assert response.status_code == 400 and "不是已注册且有效的域名" in text(response)
    assert count(DnsRecord) == 0


def test_another_unit_s_domain_is_not_found(unit_client: Any, demo: dict[str, Any]) -> None:
    theirs = add_domain(demo["unit2"].unit, OTHER)

    assert unit_client.get(f"/unit/domains/{theirs.id}").status_code == 404
    assert submit(unit_client, theirs, "@", "A", "202.96.1.10").status_code == 404
    assert count(DnsRecord) == 0


# ---- zone files ----------------------------------------------------------------------------


def export(app: Flask, folder: Path) -> Any:
    return app.test_cli_runner().invoke(args=["dns", "export", "--to", str(folder)])


def check_zone(origin: str, path: Path) -> str:
    checked = subprocess.run(["named-checkzone", origin, str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return path.read_text(encoding="ascii")


@pytest.fixture
def web_address(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "PLATFORM_WEB_IPV4", WEB_IPV4)


@pytest.mark.skipif(shutil.which("named-checkzone") is None, reason="bind9-utils (named-checkzone) is not installed")
def test_the_zone_files_hold_the_effective_records_and_pass_named_checkzone(
    app: Flask, unit_client: Any, domain: Domain, engine: Engine, web_address: None, tmp_path: Path, demo: Any
) -> None:
    effective(engine, unit_client, domain, "@", "A", "202.96.1.10")
    effective(engine, unit_client, domain, "www", "URL", SITE)
    submit(unit_client, domain, "@", "A", "202.96.1.11")  # under review: not published
    frozen = add_domain(demo["unit1"].unit, "鄂尔多斯市人民政府.政务")
    effective(engine, unit_client, frozen, "@", "A", "202.96.1.12")
    frozen.status = "frozen"
    db.session.commit()

    result = export(app, tmp_path)

    assert result.exit_code == 0, result.output
    label = to_ascii_domain(NAME).split(".")[0]
    zone = check_zone("xn--zfr164b", tmp_path / "xn--zfr164b.zone")
    assert f"{label} IN A 202.96.1.10" in zone
    assert f"www.{label} IN A {WEB_IPV4}" in zone  # URL转发: to the platform, which answers 301
    assert "202.96.1.11" not in zone and "202.96.1.12" not in zone
    assert "$ORIGIN xn--zfr164b." in zone and "@ IN SOA ns1.conac.cn. hostmaster.conac.cn." in zone
    assert "@ IN NS ns1.conac.cn." in zone and "@ IN NS ns2.conac.cn." in zone
    public = check_zone("xn--55qw42g", tmp_path / "xn--55qw42g.zone")
    assert " IN A " not in public


@pytest.mark.skipif(shutil.which("named-checkzone") is None, reason="bind9-utils (named-checkzone) is not installed")
def test_a_published_red_page_puts_its_domain_on_the_platform_unless_the_unit_set_its_own_records(
    app: Flask, unit_client: Any, domain: Domain, engine: Engine, web_address: None, tmp_path: Path, demo: Any
) -> None:
    other = add_domain(demo["unit1"].unit, "鄂尔多斯市人民政府.政务")  # no records of its own
    unpublished = add_domain(demo["unit2"].unit, "鄂尔多斯市第一中学.公益")
    effective(engine, unit_client, domain, "@", "A", "202.96.1.10")
    db.session.add(RedPage(unit_id=demo["unit1"].unit.id, draft={}, published={}, published_at=at("2026-10-09 10:00")))
    db.session.add(RedPage(unit_id=demo["unit2"].unit.id, draft={}))
    db.session.commit()

    assert export(app, tmp_path).exit_code == 0
    zone = set(check_zone("xn--zfr164b", tmp_path / "xn--zfr164b.zone").splitlines())
    own, red = to_ascii_domain(NAME).split(".")[0], other.ascii_name.split(".")[0]
    assert f"{own} IN A 202.96.1.10" in zone and f"{own} IN A {WEB_IPV4}" not in zone
    assert f"www.{own} IN A {WEB_IPV4}" in zone  # www has no record of its own: the red page
    assert {f"{red} IN A {WEB_IPV4}", f"www.{red} IN A {WEB_IPV4}"} <= zone
    assert unpublished.ascii_name.split(".")[0] not in check_zone("xn--55qw42g", tmp_path / "xn--55qw42g.zone")


def test_url_records_without_the_platform_s_address_write_no_zone(
    app: Flask, unit_client: Any, domain: Domain, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PLATFORM_WEB_IPV4", "")
    effective(engine, unit_client, domain, "@", "URL", SITE)

    result = export(app, tmp_path / "zones")

    assert result.exit_code != 0 and "PLATFORM_WEB_IPV4" in result.output
    assert not (tmp_path / "zones").exists()


# ---- URL转发 served by the platform -----------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        pytest.param(NAME, id="u-label"),
        pytest.param(to_ascii_domain(NAME), id="a-label"),
        pytest.param(f"{to_ascii_domain(NAME).upper()}:8080", id="a-label-upper-case-with-port"),
        pytest.param(f"{NAME}.", id="final-dot"),
    ],
)
def test_a_forwarded_domain_answers_301_to_its_target(
    client: Any, login: Any, domain: Domain, engine: Engine, host: str
) -> None:
    effective(engine, login("unit1"), domain, "@", "URL", SITE)
    client.post("/logout")

    response = client.get("/any/path?x=1", headers={"Host": host})

    assert response.status_code == 301
    assert response.headers["Location"] == SITE


def test_www_forwards_by_its_own_record(client: Any, login: Any, domain: Domain, engine: Engine) -> None:
    effective(engine, login("unit1"), domain, "www", "URL", "https://例子.中国/首页")

    response = client.get("/", headers={"Host": f"www.{NAME}"})

    assert response.status_code == 301
    assert response.headers["Location"] == "https://xn--fsqu00a.xn--fiqs8s/%E9%A6%96%E9%A1%B5"
    assert client.get("/", headers={"Host": NAME}).status_code != 301  # @ has no record of its own


def test_no_forwarding_without_an_effective_url_record_of_an_active_domain(
    client: Any, login: Any, domain: Domain, engine: Engine
) -> None:
    unit_client = login("unit1")
    submit(unit_client, domain, "@", "URL", SITE)  # under review
    assert client.get("/login", headers={"Host": NAME}).status_code == 200

    review(engine, records()[0], APPROVE)
    assert client.get("/login", headers={"Host": NAME}).status_code == 301
    domain.status = "expired"
    db.session.commit()
    assert client.get("/login", headers={"Host": NAME}).status_code == 200
    assert client.get("/login", headers={"Host": "localhost"}).status_code == 200
