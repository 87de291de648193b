"""Hanging deadline and placement check (issue 10 item 4): does the unit's site carry its badge?

- The badge diagrams remind the unit `hangReminderDays` working days before the hanging deadline
  (09:00 Beijing) unless the badge already hangs, and at the end of the deadline's day check again:
  hung → 按时挂标; not hung → the unit is told it is overdue and the certificate is on the 编办's
  逾期未挂标 list, until a later check (the worker's, or 重新检查 on the page) finds the badge.
- Every fetch is SSRF-safe (app/services/safe_fetch.py): http/https only, the host resolved first and
  refused if any address is not public, also after a redirect, and nothing connected to when refused.
  The tests that fetch a local test site open 127.0.0.1 through PLACEMENT_ALLOWED_NETWORKS (tests only);
  the refusal tests use the default policy and a listener that must see no connection.
"""

from __future__ import annotations

import io
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select as sql_select

from app import create_app
from app.engine import Engine
from app.extensions import db
from app.field_encryption import new_key
from app.models import (
    CalendarDay,
    Certificate,
    OutboxMessage,
    PlacementCheck,
    PlacementStatus,
    ProcessInstance,
    TimerSubscription,
    Unit,
    WorkItem,
)
from app.services import placement, safe_fetch
from app.services.errors import ServiceRefusal
from app.services.safe_fetch import FetchFailed, FetchPolicy, FetchRefused
from app.taskforms.formats import to_ascii_domain
from tests.conftest import APPROVE, BIANBAN, CONAC, UNIT, Clock, add_domain, at

PROCESS = "institution_badge"
INSTITUTION = "鄂尔多斯市第一人民医院"  # the demo's 事业单位 (unit2), region 150600
DOMAIN = f"{INSTITUTION}.公益"
REMINDER_SUBJECT = "网站标识挂标提醒"
OVERDUE_SUBJECT = "网站标识逾期未挂标"
LOCAL_ONLY = "127.0.0.1/32"


# ---- a local test site and a listener that must stay untouched ---------------------------------


@dataclass
class Site:
    """http.server in a thread: `pages` maps a path to (status, headers, body); `seen` records requests."""

    port: int = 0
    pages: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def page(self, body: str, path: str = "/", status: int = 200) -> None:
        self.pages[path] = (status, {"Content-Type": "text/html; charset=utf-8"}, body.encode())

    def redirect(self, path: str, location: str) -> None:
        self.pages[path] = (302, {"Location": location}, b"")


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append((self.path, self.headers.get("Host", "")))
            status, headers, body = state.pages.get(self.path, (404, {}, b"not found"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Listener:
    """A bare TCP listener: a completed connection attempt would make it readable."""

    sock: socket.socket

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def saw_a_connection(self) -> bool:
        return bool(select.select([self.sock], [], [], 0.2)[0])


def _listen(family: socket.AddressFamily, host: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen(8)
    return sock


@pytest.fixture
def listener() -> Iterator[Listener]:
    sock = _listen(socket.AF_INET, "127.0.0.1")
    yield Listener(sock)
    sock.close()


@pytest.fixture
def listener6() -> Iterator[Listener]:
    try:
        sock = _listen(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    yield Listener(sock)
    sock.close()


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Fails on any outgoing connection, for addresses no listener can stand on (10.x, 169.254.169.254)."""
    attempts: list[tuple[Any, ...]] = []

    def refuse(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        raise AssertionError(f"connected to {address}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


# ---- SSRF: refused without a connection --------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        pytest.param("http://127.0.0.1:{port}/", "本机回环地址", id="127.0.0.1"),
        pytest.param("http://0x7f000001:{port}/", "本机回环地址", id="hex 0x7f000001"),
        pytest.param("http://2130706433:{port}/", "本机回环地址", id="decimal 2130706433"),
        pytest.param("http://0177.0.0.1:{port}/", "本机回环地址", id="octal 0177.0.0.1"),
        pytest.param("http://127.1:{port}/", "本机回环地址", id="short 127.1"),
        pytest.param("http://[::ffff:127.0.0.1]:{port}/", "本机回环地址", id="IPv4-mapped IPv6"),
        pytest.param("https://127.0.0.1:{port}/", "本机回环地址", id="https to loopback"),
        pytest.param("gopher://127.0.0.1:{port}/_GET", "gopher:", id="gopher"),
    ],
)
def test_loopback_in_any_disguise_is_refused_and_the_listener_sees_no_connection(
    listener: Listener, url: str, reason: str
) -> None:
    with pytest.raises(FetchRefused) as refused:
        safe_fetch.fetch(url.format(port=listener.port), FetchPolicy())

    assert reason in refused.value.reason
    assert not listener.saw_a_connection()


def test_ipv6_loopback_is_refused_and_its_listener_sees_no_connection(listener6: Listener) -> None:
    with pytest.raises(FetchRefused) as refused:
        safe_fetch.fetch(f"http://[::1]:{listener6.port}/", FetchPolicy())

    assert refused.value.reason == "地址 ::1 指向本机回环地址（::1），不允许访问"
    assert not listener6.saw_a_connection()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        pytest.param("http://10.1.2.3/", "地址 10.1.2.3 指向内部网络地址（10.1.2.3），不允许访问", id="10.x"),
        pytest.param("http://192.168.1.1:8080/admin", "内部网络地址", id="192.168.x"),
        pytest.param(
            "http://169.254.169.254/latest/meta-data/",
            "地址 169.254.169.254 指向链路本地地址（含云元数据服务）（169.254.169.254），不允许访问",
            id="cloud metadata",
        ),
        pytest.param("http://100.64.0.1/", "运营商级NAT地址", id="CGNAT"),
        pytest.param("http://224.0.0.1/", "组播地址", id="multicast"),
        pytest.param("http://0.0.0.0/", "未指定地址", id="unspecified"),
        pytest.param("http://240.0.0.1/", "保留地址", id="reserved"),
        pytest.param("http://[2002:a00:1::1]/", "内嵌的内部网络地址", id="6to4 around 10.0.0.1"),
        pytest.param("file:///etc/passwd", "只允许访问 http 或 https 地址，不允许“file:”地址", id="file"),
        pytest.param("ftp://ftp.example.cn/", "不允许“ftp:”地址", id="ftp"),
        pytest.param("http://user:secret@example.cn/", "地址中不得包含用户名或密码", id="credentials"),
    ],
)
def test_non_public_addresses_and_other_schemes_are_refused_before_connecting(
    no_connections: list[tuple[Any, ...]], url: str, reason: str
) -> None:
    with pytest.raises(FetchRefused) as refused:
        safe_fetch.fetch(url, FetchPolicy())

    assert reason in refused.value.reason
    assert no_connections == []


def test_a_name_is_refused_when_any_of_its_addresses_is_private(
    monkeypatch: pytest.MonkeyPatch, no_connections: list[tuple[Any, ...]]
) -> None:
    answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 80)) for ip in ("202.96.1.10", "10.0.0.5")]
    monkeypatch.setattr(safe_fetch, "resolve_host", lambda host, port: answers)

    with pytest.raises(FetchRefused) as refused:
        safe_fetch.fetch("http://www.example.cn/", FetchPolicy())

    assert refused.value.reason == "地址 www.example.cn 指向内部网络地址（10.0.0.5），不允许访问"
    assert no_connections == []


def test_a_pinned_server_ip_is_vetted_like_a_resolved_one(no_connections: list[tuple[Any, ...]]) -> None:
    with pytest.raises(FetchRefused, match="内部网络地址"):
        safe_fetch.fetch(f"http://{to_ascii_domain(DOMAIN)}/", FetchPolicy(), connect_to="10.0.0.8")
    assert no_connections == []


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("http://127.0.0.2:{port}/", id="another loopback address"),
        pytest.param("http://[::1]:{port6}/", id="IPv6 loopback"),
        pytest.param("http://169.254.169.254/latest/meta-data/", id="cloud metadata"),
        pytest.param("http://0x7f000002:{port}/", id="hex loopback"),
        pytest.param("file:///etc/passwd", id="file"),
    ],
)
def test_a_redirect_from_an_allowed_site_to_a_forbidden_address_is_refused_without_connecting(
    site: Site, target: str
) -> None:
    trap = _listen(socket.AF_INET, "127.0.0.2")
    trap6 = _listen(socket.AF_INET6, "::1")
    try:
        location = target.format(port=trap.getsockname()[1], port6=trap6.getsockname()[1])
        site.redirect("/", location)
        allowed = FetchPolicy(allowed_networks=safe_fetch.parse_networks(LOCAL_ONLY))

        with pytest.raises(FetchRefused) as refused:
            safe_fetch.fetch(site.url, allowed)

        assert refused.value.url == location
        assert site.seen == [("/", f"127.0.0.1:{site.port}")]  # the allowed site was asked, once
        assert not Listener(trap).saw_a_connection()
        assert not Listener(trap6).saw_a_connection()
    finally:
        trap.close()
        trap6.close()


def test_the_default_policy_refuses_the_local_test_site_itself(site: Site) -> None:
    site.page("<html><body>ok</body></html>")

    with pytest.raises(FetchRefused):
        safe_fetch.fetch(site.url, FetchPolicy())

    assert site.seen == []


def test_redirects_are_followed_a_few_times_only(site: Site) -> None:
    for hop in range(5):
        site.redirect(f"/{hop}", f"/{hop + 1}")
    allowed = FetchPolicy(allowed_networks=safe_fetch.parse_networks(LOCAL_ONLY))

    with pytest.raises(FetchRefused, match="重定向超过 3 次"):
        safe_fetch.fetch(site.url + "0", allowed)

    assert [path for path, _ in site.seen] == ["/0", "/1", "/2", "/3"]


def test_a_pinned_address_gets_the_name_in_the_host_header(site: Site) -> None:
    site.page("<html><title>医院</title></html>")
    allowed = FetchPolicy(allowed_networks=safe_fetch.parse_networks(LOCAL_ONLY))
    name = to_ascii_domain(DOMAIN)

    response = safe_fetch.fetch(f"http://{DOMAIN}:{site.port}/", allowed, connect_to="127.0.0.1")

    assert (response.status, response.final_url) == (200, f"http://{DOMAIN}:{site.port}/")
    assert site.seen == [("/", f"{name}:{site.port}")]


def test_the_body_is_capped_and_a_silent_server_times_out(site: Site, listener: Listener) -> None:
    site.page("x" * 100_000)
    allowed = FetchPolicy(read_timeout=0.3, max_bytes=10_000, allowed_networks=safe_fetch.parse_networks(LOCAL_ONLY))

    response = safe_fetch.fetch(site.url, allowed)
    assert (len(response.body), response.truncated) == (10_000, True)

    with pytest.raises(FetchFailed) as failed:  # the bare listener accepts but never answers
        safe_fetch.fetch(f"http://127.0.0.1:{listener.port}/", allowed)
    assert failed.value.reason == "连接或读取超时"


# ---- the placement check against a local test site --------------------------------------------


@pytest.fixture
def unit(demo: dict[str, Any]) -> Unit:
    unit = db.session.scalar(sql_select(Unit).where(Unit.name == INSTITUTION))
    assert unit is not None
    add_domain(unit, DOMAIN)
    return unit


@pytest.fixture
def local_site_allowed(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "PLACEMENT_ALLOWED_NETWORKS", LOCAL_ONLY)


def _certificate(unit: Unit, code: str = "CA15060020260000001", deadline: date = date(2026, 10, 13)) -> Certificate:
    certificate = Certificate(
        public_id="0F3A5C7E9B1D2F4A6C8E0A2B4D6F8A1C",
        unit_id=unit.id,
        colour="blue",
        site_name=INSTITUTION,
        domains=[DOMAIN],
        hang_deadline=deadline,
        issued_at=at("2026-09-30 10:00"),
    )
    db.session.add(certificate)
    db.session.flush()
    certificate.code = code
    db.session.commit()
    return certificate


def _own_site(certificate: Certificate, site: Site) -> None:
    """The certificate's site is the local test site (an English domain with a port, set here directly)."""
    placement.track(db.session, certificate.id, "own_site", 1, english_domain=f"127.0.0.1:{site.port}")
    db.session.commit()


SHAPE_1 = (
    '<script type="text/javascript">document.write(unescape("%3Cspan id=\'_ideConac\' %3E%3C/span%3E%3Cscript '
    "src='https://dcs.example.cn/js/15/060/0000/00000001/{code}.js' type='text/javascript'%3E%3C/script%3E\"));"
    "</script>"
)


@pytest.mark.parametrize(
    ("footer", "marker"),
    [
        pytest.param(SHAPE_1, "code", id="shape 1: document.write with the script URL"),
        pytest.param('<span id="_ideConac"></span><script src="//x.cn/js/a/b/c/d/{code}.js"></script>', "code"),
        pytest.param(
            '<span id="_ideConac"><a href="//x.cn/sitename?method=show&id={public_id}"><img src="red.png"></a></span>',
            "link",
            id="shape 3: frozen link with the public id",
        ),
        pytest.param('<span id="_ideConac"></span>', "placeholder", id="placeholder only"),
    ],
)
def test_a_page_with_the_badge_is_found_with_its_evidence(
    app: Flask, unit: Unit, site: Site, local_site_allowed: None, clock: Clock, footer: str, marker: str
) -> None:
    certificate = _certificate(unit)
    _own_site(certificate, site)
    badge = footer.format(code=certificate.code, public_id=certificate.public_id)
    site.page(f"<html><head><title>首页</title></head><body><p>正文</p><footer>{badge}</footer></body></html>")
    clock.set("2026-10-12 09:00")

    row = placement.check(db.session, certificate.id, "manual", clock(), placement.policy_from(app.config))

    assert (row.outcome, row.marker, row.http_status) == ("found", marker, 200)
    assert (row.url, row.final_url) == (site.url, site.url)
    assert row.checked_at == at("2026-10-12 09:00")
    assert "_ideConac" in row.excerpt or certificate.public_id in row.excerpt
    assert db.session.get(PlacementStatus, certificate.id).found is True


def test_a_page_without_the_badge_is_missing_and_says_what_was_there(
    app: Flask, unit: Unit, site: Site, local_site_allowed: None, clock: Clock
) -> None:
    certificate = _certificate(unit)
    _own_site(certificate, site)
    other = "<script src='//x.cn/js/15/060/0000/1/CA15060020269999999.js'></script>"  # another unit's code
    site.page(f"<html><head><title>鄂尔多斯市第一人民医院</title></head><body>{other}</body></html>")

    row = placement.check(db.session, certificate.id, "manual", clock(), placement.policy_from(app.config))

    assert (row.outcome, row.marker, row.http_status) == ("missing", "", 200)
    assert row.reason == "页面中没有本证书的网站标识"
    assert row.excerpt == "页面：鄂尔多斯市第一人民医院"
    assert db.session.get(PlacementStatus, certificate.id).found is False


def test_an_error_page_does_not_count_even_with_the_badge(
    app: Flask, unit: Unit, site: Site, local_site_allowed: None, clock: Clock
) -> None:
    certificate = _certificate(unit)
    _own_site(certificate, site)
    site.page(f'<span id="_ideConac"></span><script src="/js/{certificate.code}.js"></script>', status=500)

    row = placement.check(db.session, certificate.id, "manual", clock(), placement.policy_from(app.config))

    assert (row.outcome, row.http_status, row.reason) == ("missing", 500, "网站返回 HTTP 500，不是正常页面")


def test_with_the_default_policy_the_local_site_is_refused_and_the_refusal_is_the_evidence(
    app: Flask, unit: Unit, site: Site, clock: Clock
) -> None:
    certificate = _certificate(unit)
    _own_site(certificate, site)
    site.page("<html></html>")

    row = placement.check(db.session, certificate.id, "manual", clock(), placement.policy_from(app.config))

    assert row.outcome == "refused"
    assert row.reason == "地址 127.0.0.1 指向本机回环地址（127.0.0.1），不允许访问"
    assert site.seen == []
    # The bound domain was tried too (it does not resolve here): every address is in the evidence.
    assert [attempt["url"] for attempt in row.attempts] == [site.url, f"http://{to_ascii_domain(DOMAIN)}/"]


# ---- deadline dates: working days across 调休 and into 2027 ------------------------------------


@pytest.mark.parametrize(
    ("deadline", "days", "expected"),
    [
        pytest.param(date(2026, 10, 13), 1, date(2026, 10, 12), id="Monday before a Tuesday deadline"),
        pytest.param(date(2026, 10, 13), 2, date(2026, 10, 10), id="the 调休 Saturday counts"),
        pytest.param(date(2026, 10, 8), 1, date(2026, 9, 30), id="back across 国庆"),
        pytest.param(date(2026, 2, 24), 1, date(2026, 2, 14), id="back across 春节 to a 调休 Saturday"),
        pytest.param(date(2026, 10, 13), 0, date(2026, 10, 13), id="zero: the deadline day"),
    ],
)
def test_the_reminder_day_counts_working_days_back_from_the_deadline(
    app: Flask, deadline: date, days: int, expected: date
) -> None:
    assert placement.workdays_before(deadline, days) == expected


def _walk_to_badge(engine: Engine, unit: Unit, form: dict[str, Any]) -> int:
    """Start 事业单位标识申请 and approve it at every review; returns the instance id once the badge is issued."""
    instance = engine.runner.start(PROCESS, unit.id, UNIT, {})
    answers = {UNIT.role: (UNIT, form), BIANBAN.role: (BIANBAN, APPROVE), CONAC.role: (CONAC, APPROVE)}
    for _ in range(10):
        db.session.expire_all()
        items = list(db.session.scalars(sql_select(WorkItem).where(WorkItem.instance_id == instance.id)))
        if not items:
            return instance.id
        actor, data = answers[items[0].role]
        engine.runner.complete(items[0].task_id, actor, data)
    raise AssertionError("the application did not reach the badge")


def _badge_form(**changes: Any) -> dict[str, Any]:
    form = {
        "badge_location": "red_page",
        "site_name": INSTITUTION,
        "domains": [DOMAIN],
        "site_intro": "本网站由鄂尔多斯市第一人民医院主办，旨在介绍我单位职能、业务范围，面向社会公开工作动态。",
        "business_scope": "医疗、预防、保健、康复服务",
        "contact_name": "赵经办",
        "contact_mobile": "13900139000",
        "contact_email": "zhao@example.cn",
    }
    return {**form, **changes}


def _timer(instance_id: int) -> TimerSubscription:
    db.session.expire_all()
    return db.session.scalars(sql_select(TimerSubscription).where(TimerSubscription.instance_id == instance_id)).one()


@dataclass(frozen=True)
class DeadlineCase:
    issued: str  # when CONAC approves (Beijing)
    admin_days: list[tuple[date, bool]]  # the admin's calendar rows
    remind_at: str
    deadline_at: str
    estimated: bool  # a day on the way was guessed (2027 without admin rows)


DEADLINE_CASES = {
    "over 国庆 and a 调休 Saturday": DeadlineCase(
        "2026-09-30 10:00", [], "2026-10-12 09:00", "2026-10-13 23:59:59", False
    ),
    "over 春节 from a Friday": DeadlineCase("2026-02-13 16:00", [], "2026-02-26 09:00", "2026-02-27 23:59:59", False),
    "into 2027 with the admin's 元旦": DeadlineCase(
        "2026-12-25 10:00", [(date(2027, 1, 1), False)], "2026-12-31 09:00", "2027-01-04 23:59:59", False
    ),
    "into 2027 estimated": DeadlineCase("2026-12-25 10:00", [], "2026-12-31 09:00", "2027-01-01 23:59:59", True),
}


@pytest.mark.parametrize("case", list(DEADLINE_CASES.values()), ids=list(DEADLINE_CASES))
def test_the_shipped_diagram_reminds_one_working_day_before_the_deadline_and_checks_at_its_end(
    engine: Engine, unit: Unit, clock: Clock, case: DeadlineCase
) -> None:
    db.session.add_all(CalendarDay(day=day, is_workday=flag, note="元旦") for day, flag in case.admin_days)
    db.session.commit()
    clock.set(case.issued)

    instance_id = _walk_to_badge(engine, unit, _badge_form())

    reminder = _timer(instance_id)
    assert (reminder.task_name, reminder.due_at) == ("hang_reminder", at(case.remind_at))
    clock.now = at(case.remind_at) - timedelta(seconds=1)
    assert engine.runner.fire_due_timers() == []
    clock.now = at(case.remind_at)
    assert len(engine.runner.fire_due_timers()) == 1
    deadline = _timer(instance_id)
    assert (deadline.task_name, deadline.due_at) == ("hang_deadline", at(case.deadline_at))
    assert deadline.estimated is case.estimated
    certificate = db.session.scalars(sql_select(Certificate).where(Certificate.instance_id == instance_id)).one()
    assert certificate.hang_deadline == at(case.deadline_at).date()


# ---- the reminder and overdue path through the shipped diagram, and the compliant one -----------


def _subjects(instance_id: int) -> list[str]:
    query = sql_select(OutboxMessage.subject).where(OutboxMessage.instance_id == instance_id).order_by(OutboxMessage.id)
    return list(dict.fromkeys(db.session.scalars(query)))


def test_a_unit_that_never_hangs_the_badge_is_reminded_then_listed_overdue_until_the_badge_is_found(
    app: Flask, engine: Engine, unit: Unit, clock: Clock, site: Site, login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.set("2026-09-30 10:00")
    instance_id = _walk_to_badge(engine, unit, _badge_form())
    certificate = db.session.scalars(sql_select(Certificate).where(Certificate.instance_id == instance_id)).one()
    assert REMINDER_SUBJECT not in _subjects(instance_id)

    clock.set("2026-10-12 09:00")  # one working day before the deadline: no red page published yet
    engine.runner.fire_due_timers()
    assert _subjects(instance_id)[-1] == REMINDER_SUBJECT
    first = db.session.scalars(sql_select(PlacementCheck)).one()
    assert (first.purpose, first.outcome, first.reason) == ("reminder", "missing", "单位的网络红页尚未发布")

    clock.set("2026-10-14 00:00")
    engine.runner.fire_due_timers()
    db.session.expire_all()
    assert _subjects(instance_id)[-1] == OVERDUE_SUBJECT
    status = db.session.get(PlacementStatus, certificate.id)
    assert (status.deadline_result, status.found) == ("overdue", False)
    assert status.deadline_recorded_at == at("2026-10-14 00:00")
    assert status.next_check_at == at("2026-10-15 00:00")  # PLACEMENT_RECHECK_HOURS = 24
    assert [c.purpose for c in db.session.scalars(sql_select(PlacementCheck).order_by(PlacementCheck.id))] == [
        "reminder",
        "deadline",
    ]

    page = login("bianban").get("/placement/overdue").get_data(as_text=True)
    assert INSTITUTION in page and certificate.code in page and "单位的网络红页尚未发布" in page
    assert INSTITUTION not in login("dongsheng").get("/placement/overdue").get_data(as_text=True)
    assert login("dongsheng").get(f"/placement/certificates/{certificate.id}").status_code == 404
    exported = load_workbook(io.BytesIO(login("bianban").get("/placement/overdue/export.xlsx").data))
    sheet = list(exported["逾期未挂标"].values)
    assert sheet[0][:3] == ("单位名称", "地区代码", "标识编号")
    assert [(row[0], row[2], row[6]) for row in sheet[1:]] == [(INSTITUTION, certificate.code, "未找到标识")]
    assert login("unit1").get("/placement/overdue/export.xlsx").status_code == 403

    # A new application of the unit shows the 编办 how its current badge hangs.
    again = engine.runner.start(PROCESS, unit.id, UNIT, {})
    (fill,) = db.session.scalars(sql_select(WorkItem).where(WorkItem.instance_id == again.id))
    engine.runner.complete(fill.task_id, UNIT, _badge_form())
    (review,) = db.session.scalars(sql_select(WorkItem).where(WorkItem.instance_id == again.id))
    task_page = login("bianban").get(f"/review/tasks/{review.id}").get_data(as_text=True)
    assert "本单位网站标识挂标情况" in task_page and certificate.code in task_page and "逾期未挂标" in task_page

    # The unit's application page shows the checks with their Beijing times.
    key = _business_key(instance_id)
    unit_page = login("unit2").get(f"/unit/applications/{key}").get_data(as_text=True)
    assert "逾期未挂标" in unit_page and "2026-10-14 00:00" in unit_page and "2026-10-12 09:00" in unit_page

    # The unit switches to its own site, now carrying the badge; the worker's re-check finds it.
    status.location, status.english_domain = "own_site", f"127.0.0.1:{site.port}"
    db.session.commit()
    site.page(f'<footer><span id="_ideConac"></span><script src="/js/{certificate.code}.js"></script></footer>')
    monkeypatch.setitem(app.config, "PLACEMENT_ALLOWED_NETWORKS", LOCAL_ONLY)
    assert placement.run_due_checks(db.session, at("2026-10-14 12:00"), 10) == 0  # not due yet
    assert placement.run_due_checks(db.session, at("2026-10-15 00:00"), 10) == 1
    db.session.expire_all()
    latest = db.session.get(PlacementCheck, db.session.get(PlacementStatus, certificate.id).latest_check_id)
    assert (latest.purpose, latest.outcome, latest.marker) == ("periodic", "found", "code")
    assert INSTITUTION not in login("bianban").get("/placement/overdue").get_data(as_text=True)


def test_a_unit_whose_badge_hangs_in_time_gets_no_reminder_and_is_recorded_compliant(
    app: Flask, engine: Engine, unit: Unit, clock: Clock, site: Site, local_site_allowed: None
) -> None:
    clock.set("2026-09-30 10:00")
    form = _badge_form(badge_location="own_site", server_ip="202.96.1.10")
    instance_id = _walk_to_badge(engine, unit, form)
    certificate = db.session.scalars(sql_select(Certificate).where(Certificate.instance_id == instance_id)).one()
    status = db.session.get(PlacementStatus, certificate.id)
    assert (status.location, status.server_ip) == ("own_site", "202.96.1.10")
    # The application's site is the local test site (set directly: the form only takes public addresses).
    status.english_domain, status.server_ip = f"127.0.0.1:{site.port}", ""
    db.session.commit()
    site.page(f"<footer>{SHAPE_1.format(code=certificate.code)}</footer>")

    clock.set("2026-10-12 09:00")
    engine.runner.fire_due_timers()
    clock.set("2026-10-14 00:00")
    engine.runner.fire_due_timers()

    db.session.expire_all()
    assert REMINDER_SUBJECT not in _subjects(instance_id) and OVERDUE_SUBJECT not in _subjects(instance_id)
    status = db.session.get(PlacementStatus, certificate.id)
    assert (status.deadline_result, status.found) == ("compliant", True)
    checks = db.session.scalars(sql_select(PlacementCheck).order_by(PlacementCheck.id)).all()
    assert [(c.purpose, c.outcome, c.marker) for c in checks] == [
        ("reminder", "found", "code"),
        ("deadline", "found", "code"),
    ]
    assert engine.reader.data(instance_id)["deadline_check"]["found"] is True
    assert [path for path, _ in site.seen] == ["/", "/"]


def _business_key(instance_id: int) -> str:
    return db.session.get(ProcessInstance, instance_id).business_key


# ---- 重新检查 on the page --------------------------------------------------------------------


def test_a_check_on_request_is_refused_within_five_minutes_with_a_chinese_reason(
    app: Flask, unit: Unit, site: Site, local_site_allowed: None, clock: Clock, login: Any
) -> None:
    certificate = _certificate(unit)
    _own_site(certificate, site)
    site.page("<html><title>无标识</title></html>")
    client = login("unit2")

    first = client.post(f"/placement/certificates/{certificate.id}/check", follow_redirects=True)
    assert "检查完成：未找到标识" in first.get_data(as_text=True)
    again = client.post(f"/placement/certificates/{certificate.id}/check", follow_redirects=True)
    assert "刚刚检查过，请5分钟后再检查" in again.get_data(as_text=True)
    assert len(db.session.scalars(sql_select(PlacementCheck)).all()) == 1
    assert login("unit1").post(f"/placement/certificates/{certificate.id}/check").status_code == 404


def test_a_revoked_certificate_is_not_checked(app: Flask, unit: Unit, site: Site, clock: Clock) -> None:
    certificate = _certificate(unit)
    _own_site(certificate, site)
    certificate.status = "revoked"
    db.session.commit()

    with pytest.raises(ServiceRefusal, match="已不是有效状态"):
        placement.check_now(db.session, certificate, UNIT, clock(), FetchPolicy(), timedelta(minutes=5))
    assert site.seen == []


def _publish_red_page(unit: Unit) -> None:
    """The unit fills in and publishes its 网络红页 (services/red_pages.py); the footer carries the badge."""
    from io import BytesIO

    from PIL import Image

    from app.services import red_pages

    page = red_pages.page_of(db.session, unit)
    for section in red_pages.TEXT_SECTIONS:
        red_pages.save_text(db.session, page, section, f"<p>{INSTITUTION}的{section}</p>")
    red_pages.add_news(db.session, page, red_pages.NewsFields("开诊通知", date(2026, 10, 8), "<p>正常开诊</p>"))
    picture = BytesIO()
    Image.new("RGB", (800, 300), (200, 30, 30)).save(picture, "PNG")
    red_pages.add_carousel_image(db.session, page, picture.getvalue(), "门诊大楼")
    red_pages.save_footer(db.session, page, red_pages.Footer(INSTITUTION, "鄂尔多斯市东胜区"))
    red_pages.publish(db.session, page, UNIT)
    db.session.commit()


def test_a_published_red_page_carries_the_badge_in_its_footer_and_the_deadline_finds_it(
    engine: Engine, unit: Unit, clock: Clock, no_connections: list[tuple[Any, ...]]
) -> None:
    clock.set("2026-09-30 10:00")
    instance_id = _walk_to_badge(engine, unit, _badge_form())
    certificate = db.session.scalars(sql_select(Certificate).where(Certificate.instance_id == instance_id)).one()
    _publish_red_page(unit)

    clock.set("2026-10-12 09:00")
    engine.runner.fire_due_timers()
    clock.set("2026-10-14 00:00")
    engine.runner.fire_due_timers()

    db.session.expire_all()
    checks = db.session.scalars(sql_select(PlacementCheck).order_by(PlacementCheck.id)).all()
    assert [(c.purpose, c.outcome, c.marker) for c in checks] == [
        ("reminder", "found", "code"),
        ("deadline", "found", "code"),
    ]
    assert checks[-1].url.startswith("/hy/") and checks[-1].http_status == 200
    assert db.session.get(PlacementStatus, certificate.id).deadline_result == "compliant"
    assert REMINDER_SUBJECT not in _subjects(instance_id)
    assert no_connections == []  # the platform's own page: nothing fetched over the network


def test_a_finished_application_shows_its_result_and_no_next_step(
    engine: Engine, unit: Unit, clock: Clock, login: Any, no_connections: list[tuple[Any, ...]]
) -> None:
    """标识已发放 with the badge found at the deadline: the application has ended. Its page says how, and shows
    none of the waits of its last stage (挂标提醒日, 挂标期限) as if they were still to come."""
    clock.set("2026-09-30 10:00")
    instance_id = _walk_to_badge(engine, unit, _badge_form())
    _publish_red_page(unit)
    clock.set("2026-10-12 09:00")
    engine.runner.fire_due_timers()
    clock.set("2026-10-14 00:00")
    engine.runner.fire_due_timers()
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, instance_id)
    assert (instance.status, instance.stage) == ("completed", "标识已发放")

    page = login("unit2").get(f"/unit/applications/{instance.business_key}").get_data(as_text=True)

    assert "下一步" not in page and "办理结果" in page
    docs = engine.definitions.compiled_by_id(db.session, instance.definition_id).element_docs
    for waited in ("hang_reminder", "hang_deadline"):
        assert docs[waited].split("\n")[0] not in page
    overview = page[page.index('id="diagram-') : page.index("data-bpmn-diagram")]
    assert "已办结，结果：标识已发放" in overview and "下一阶段" not in overview and "未开始" not in overview


def test_production_refuses_to_start_with_networks_allowed_for_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("PLACEMENT_ALLOWED_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", new_key("k1").describe())
    with pytest.raises(RuntimeError, match="PLACEMENT_ALLOWED_NETWORKS"):
        create_app({"SECRET_KEY": "x" * 64, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
