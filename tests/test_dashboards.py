"""统计 (app/services/dashboards.py, /dashboard): every number on the page equals a count taken directly from
the tables, within the reader's jurisdiction; only 编办 and CONAC get the page.

The world: applications of 域名注册 walked through the engine at set Beijing times (one registered and paid,
one waiting for CONAC, one waiting for the 编办 past its 5 working days, one in 东胜区, two in 北京, one
unsent draft), certificates past their hanging deadline, and domains and fees of other months. The expected
figures are computed here in Python from the rows themselves; the page's figures come from its tables and
from the JSON its charts are drawn from.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from lxml import html
from sqlalchemy import inspect, select, update

from app.extensions import db
from app.models import (
    AuditEvent,
    Certificate,
    Charge,
    Domain,
    InstanceOffice,
    PlacementStatus,
    ProcessInstance,
    Region,
    TaskWait,
    Unit,
    WorkflowDefinition,
    WorkItem,
)
from app.services import audit, dashboards
from app.services.audit import Actor
from app.services.calendar import BEIJING
from tests.conftest import APPROVE, BIANBAN, CONAC, DOMAIN_APPLICATION, UNIT, Application, Clock

NOW = "2026-10-20 10:00"  # the engine's clock when the page is read: the default period is 2025-11 … 2026-10
SECTIONS = ("by-procedure", "by-stage", "by-region", "overdue-badges", "overdue-reviews", "stage-times", "months")
DEFAULT_MONTHS = [f"2025-{m:02d}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]


@dataclass
class World:
    bianban_units: set[int]  # 编办:150600 answers for these (鄂尔多斯 city level and 达拉特旗, which has no office)
    dongsheng_units: set[int]  # 编办:150602


@dataclass
class Units:
    city: Unit
    city2: Unit
    dongsheng: Unit
    dalate: Unit  # 达拉特旗 has no 编办 of its own: the city's answers for it
    beijing: Unit


@pytest.fixture
def units(demo: dict[str, Any], regions_loaded: None, make_unit: Any) -> Units:
    dalate = Unit(name="达拉特旗某局", uscc="TEST99999999999991", unit_type="党政机关", region_code="150621")
    dalate.level = "county"
    db.session.add(dalate)
    db.session.commit()
    return Units(
        make_unit(region_code="150600"),
        make_unit(region_code="150600"),
        make_unit(region_code="150602"),
        dalate,
        make_unit(region_code="110101"),
    )


@pytest.fixture
def world(
    units: Units, start: Any, clock: Clock, engine: Any, remit_and_confirm: Any, monkeypatch: pytest.MonkeyPatch
) -> World:
    monkeypatch.setattr(audit, "utcnow", clock)  # audit times on the engine's clock, as in production
    city, city2, dongsheng, dalate, beijing = (units.city, units.city2, units.dongsheng, units.dalate, units.beijing)

    def apply(unit: Unit, when: str, name: str) -> Application:
        clock.set(when)
        return start("domain_registration", unit).complete(UNIT, {**DOMAIN_APPLICATION, "domain_name": name})

    def step(application: Application, when: str, actor: Any, data: dict[str, Any]) -> None:
        clock.set(when)
        application.complete(actor, data)

    registered = apply(city, "2026-09-01 09:00", "某某市一.政务")
    step(registered, "2026-09-02 15:00", BIANBAN, APPROVE)  # 30 hours
    step(registered, "2026-09-03 09:00", CONAC, APPROVE)  # 18 hours
    step(registered, "2026-09-04 10:00", BIANBAN, {"invoice_no": "FP20260904", "years": 2})
    clock.set("2026-09-07 10:00")
    remit_and_confirm([registered.charge()])
    engine.runner.fire_due_timers(clock.set("2026-09-09 00:05"))
    assert registered.stage == "注册成功"

    step(apply(city2, "2026-10-08 09:00", "某某市二.政务"), "2026-10-08 11:00", BIANBAN, APPROVE)  # 2 hours
    apply(dalate, "2026-09-01 09:00", "达拉特旗某局.政务")  # past its 5 working days at NOW
    step(apply(dongsheng, "2026-09-10 09:00", "东胜区某局.政务"), "2026-09-10 19:00", BIANBAN, APPROVE)
    apply(beijing, "2026-10-10 09:00", "东城区某局.政务")
    apply(beijing, "2025-06-01 09:00", "东城区某局二.政务")  # before the default period
    clock.set("2026-10-12 09:00")
    start("domain_registration", city)  # an unsent draft: no number, nobody's figure

    overdue, hung, revoked = (False, "valid"), (True, "valid"), (False, "revoked")
    for unit, (found, status) in ((city, overdue), (city2, hung), (dalate, revoked), (dalate, overdue),
                                  (dongsheng, overdue), (beijing, overdue)):  # fmt: skip
        badge(unit, found, status)
    domain_and_fee(city2, date(2026, 3, 2), datetime(2026, 3, 31, 17, 0, tzinfo=UTC), 300)  # 04-01 01:00 Beijing
    domain_and_fee(city, date(2025, 1, 5), datetime(2025, 1, 5, 2, 0, tzinfo=UTC), 600)  # before the period
    domain_and_fee(beijing, date(2026, 4, 7), datetime(2026, 4, 7, 2, 0, tzinfo=UTC), 900)
    clock.set(NOW)
    units_1506 = {u.id for u in db.session.scalars(select(Unit).where(Unit.region_code.in_(["150600", "150621"])))}
    return World(bianban_units=units_1506, dongsheng_units={dongsheng.id})


def badge(unit: Unit, found: bool, status: str) -> None:
    """A certificate whose hanging deadline has been decided; 逾期未挂标 when valid and not found."""
    number = db.session.query(Certificate).count() + 1
    certificate = Certificate(
        public_id=f"{number:032X}", unit_id=unit.id, colour="red", site_name=f"网站{number}", status=status
    )
    db.session.add(certificate)
    db.session.flush()
    recorded = datetime(2026, 9, 20, tzinfo=UTC)
    db.session.add(
        PlacementStatus(certificate_id=certificate.id, location="red_page", found=found, deadline_recorded_at=recorded)
    )
    db.session.commit()


def domain_and_fee(unit: Unit, registered_on: date, collected_at: datetime, amount: int) -> None:
    number = db.session.query(Domain).count() + 1
    domain = Domain(
        unit_id=unit.id, name=f"统计{number}.政务", ascii_name=f"xn--stat{number}", suffix="政务", status="active",
        years=1, host_mode="none", registered_on=registered_on,
    )  # fmt: skip
    db.session.add(domain)
    db.session.flush()
    db.session.add(
        Charge(
            unit_id=unit.id, domain_id=domain.id, purpose="register", years=1, tariff_yuan=amount, amount_yuan=amount,
            status="confirmed", invoice_no="FP", collected_at=collected_at,
        )
    )  # fmt: skip
    db.session.commit()


# ---- the expected figures, straight from the rows ----------------------------------------------------------


def month_of(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m")


def expected(units: set[int] | None, months: list[str], now: datetime) -> dict[str, Any]:
    """The page's figures for a reader answering for `units` (None: all), computed from the rows."""

    def mine(unit_id: int) -> bool:
        return units is None or unit_id in units

    instances = [
        i for i in db.session.scalars(select(ProcessInstance))
        if i.numbered and mine(i.unit_id) and month_of(i.created_at) in months
    ]  # fmt: skip
    procedures = {d.id: d.name for d in db.session.scalars(select(WorkflowDefinition))}
    regions = {r.code: r.name for r in db.session.scalars(select(Region))}
    units_by_id = {u.id: u for u in db.session.scalars(select(Unit))}
    level = 2 if units is None else 6  # CONAC groups by province; a city 编办 by county

    def region(unit_id: int) -> str:
        code = units_by_id[unit_id].region_code[:level].ljust(6, "0")
        return regions[code]

    overdue = Counter(
        (procedures[db.session.get(ProcessInstance, w.instance_id).definition_id], w.title, w.role)
        for w in db.session.scalars(select(WorkItem))
        if w.role != "单位" and w.due_at is not None and w.due_at < now and mine(w.unit_id)
    )
    badges = Counter(
        region(c.unit_id)
        for c in db.session.scalars(select(Certificate))
        if c.status == "valid" and mine(c.unit_id) and not db.session.get(PlacementStatus, c.id).found
    )
    return {
        "by-procedure": Counter(procedures[i.definition_id] for i in instances),
        "by-stage": Counter(i.stage for i in instances),
        "by-region": Counter(region(i.unit_id) for i in instances),
        "overdue-badges": badges,
        "overdue-reviews": overdue,
        "stage-times": stage_times(mine, procedures, months),
        "months": monthly(mine, months),
    }


def stage_times(mine: Any, procedures: dict[int, str], months: list[str]) -> dict[tuple[str, ...], tuple[str, ...]]:
    waits: dict[tuple[str, ...], list[float]] = {}
    for event in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "complete")):
        instance = db.session.get(ProcessInstance, event.instance_id)
        if mine(instance.unit_id) and month_of(event.at) in months and "waited_seconds" in event.detail:
            key = (procedures[instance.definition_id], event.task_title, event.role)
            waits.setdefault(key, []).append(event.detail["waited_seconds"] / 3600)
    return {
        key: (str(len(hours)), str(round(statistics.median(hours), 1)), str(round(statistics.mean(hours), 1)))
        for key, hours in waits.items()
    }


def monthly(mine: Any, months: list[str]) -> dict[str, tuple[str, str, str]]:
    domains = Counter(
        d.registered_on.strftime("%Y-%m")
        for d in db.session.scalars(select(Domain))
        if d.registered_on and mine(d.unit_id)
    )
    charges = [c for c in db.session.scalars(select(Charge)) if c.collected_at and mine(c.unit_id)]
    counts = Counter(month_of(c.collected_at) for c in charges)
    amounts = Counter()
    for charge in charges:
        amounts[month_of(charge.collected_at)] += charge.amount_yuan
    return {m: (str(domains[m]), str(counts[m]), str(amounts[m])) for m in months}


# ---- the page's figures ------------------------------------------------------------------------------------


def page_figures(client: Any, query: str = "") -> dict[str, Any]:
    response = client.get(f"/dashboard/{query}")
    assert response.status_code == 200, response.status_code
    tree = html.fromstring(response.get_data(as_text=True))
    figures: dict[str, Any] = {"_tree": tree}
    for section in ("by-procedure", "by-stage", "by-region", "overdue-badges"):
        rows = table_rows(tree, section)
        figures[section] = Counter({label: int(count) for label, count in rows})
        assert chart_values(tree, section) == figures[section]
    overdue = table_rows(tree, "overdue-reviews")
    figures["overdue-reviews"] = Counter({tuple(row[:3]): int(row[3]) for row in overdue})
    if overdue:
        labels: Counter[str] = Counter()
        for (procedure, task, _), count in figures["overdue-reviews"].items():
            labels[f"{procedure}：{task}"] += count
        assert chart_values(tree, "overdue-reviews") == labels
    figures["stage-times"] = {tuple(row[:3]): tuple(row[3:]) for row in table_rows(tree, "stage-times")}
    figures["months"] = {row[0]: tuple(row[1:]) for row in table_rows(tree, "months")}
    spec = chart_spec(tree, "months")
    assert spec is not None and spec["categories"] == list(figures["months"])
    assert [tuple(map(str, values)) for values in zip(*(s["data"] for s in spec["series"]), strict=True)] == list(
        figures["months"].values()
    )
    return figures


def table_rows(tree: Any, section: str) -> list[list[str]]:
    """The body rows of the section's table, cell texts; the one-cell "nothing" row is no row."""
    rows = tree.xpath(f'//section[@aria-labelledby="{section}"]//tbody/tr')
    cells = [[cell.text_content().strip() for cell in row.xpath("./th|./td")] for row in rows]
    return [row for row in cells if len(row) > 1]


def chart_spec(tree: Any, section: str) -> dict[str, Any] | None:
    found = tree.xpath(f'//section[@aria-labelledby="{section}"]//*[@data-chart]/@data-chart')
    return json.loads(found[0]) if found else None


def chart_values(tree: Any, section: str) -> Counter[str]:
    spec = chart_spec(tree, section)
    if spec is None:
        return Counter()
    (series,) = spec["series"]
    return Counter(dict(zip(spec["categories"], series["data"], strict=True)))


def summary(tree: Any) -> list[str]:
    return [
        card.text_content().strip()
        for card in tree.xpath('//*[contains(@class, "dashboard-figure")]//div[@class="fs-4 fw-bold"]')
    ]


def assert_page_matches(figures: dict[str, Any], wanted: dict[str, Any]) -> None:
    for section in SECTIONS:
        assert figures[section] == wanted[section], section
    amount = sum(int(values[2]) for values in wanted["months"].values())
    totals = [
        wanted["by-procedure"].total(),
        wanted["overdue-reviews"].total(),
        wanted["overdue-badges"].total(),
        amount,
    ]
    assert summary(figures["_tree"]) == [str(n) for n in totals]


# ---- tests ---------------------------------------------------------------------------------------------------


def test_a_bianban_sees_the_figures_of_its_jurisdiction_only(world: World, login: Any, clock: Clock) -> None:
    figures = page_figures(login("bianban"))
    wanted = expected(world.bianban_units, DEFAULT_MONTHS, clock.now)
    assert_page_matches(figures, wanted)
    # The world is as described: nothing of 东胜区 or 北京, and something in every table.
    assert wanted["by-region"] == Counter({"鄂尔多斯市": 2, "达拉特旗": 1})
    assert wanted["overdue-reviews"] == Counter({("域名注册", "编办审核", "编办"): 1})
    assert wanted["overdue-badges"] == Counter({"鄂尔多斯市": 1, "达拉特旗": 1})
    assert wanted["stage-times"][("域名注册", "编办审核", "编办")] == ("2", "16.0", "16.0")  # 30 and 2 hours
    assert sum(int(v[0]) for v in wanted["months"].values()) == 2  # the walked registration and 2026-03
    assert wanted["months"]["2026-04"] == ("0", "1", "300")  # collected 2026-03-31 17:00 UTC: April in Beijing


def test_a_bianban_also_counts_the_applications_its_office_had_a_task_of(world: World, login: Any) -> None:
    """A diagram's `province` routing sends tasks of units outside an office's own jurisdiction to it: those
    applications count for it (their unit's domains, fees and badges do not)."""
    client = login("bianban")
    before = page_figures(client)
    elsewhere = db.session.scalar(  # the 东城区 application within the period (its other one is from 2025)
        select(ProcessInstance)
        .join(Unit)
        .where(Unit.region_code == "110101", ProcessInstance.stage == "待审核")
        .order_by(ProcessInstance.created_at.desc())
        .limit(1)
    )
    db.session.add(InstanceOffice(instance_id=elsewhere.id, office_code="编办:150600"))
    db.session.commit()
    after = page_figures(client)
    assert after["by-region"] == before["by-region"] + Counter({"东城区": 1})
    assert after["by-stage"] == before["by-stage"] + Counter({"待审核": 1})
    assert (after["months"], after["overdue-badges"]) == (before["months"], before["overdue-badges"])


def test_another_bianban_sees_only_its_own_region(world: World, login: Any, clock: Clock) -> None:
    figures = page_figures(login("dongsheng"))
    wanted = expected(world.dongsheng_units, DEFAULT_MONTHS, clock.now)
    assert_page_matches(figures, wanted)
    assert wanted["by-region"] == Counter({"东胜区": 1}) and wanted["overdue-badges"] == Counter({"东胜区": 1})


def test_conac_sees_the_whole_country_by_province(world: World, login: Any, clock: Clock) -> None:
    figures = page_figures(login("conac"))
    wanted = expected(None, DEFAULT_MONTHS, clock.now)
    assert_page_matches(figures, wanted)
    assert wanted["by-region"] == Counter({"内蒙古自治区": 4, "北京市": 1})
    assert wanted["months"]["2026-04"] == ("1", "2", "1200")


def test_a_chosen_period_bounds_every_dated_figure(world: World, login: Any, clock: Clock) -> None:
    months = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    figures = page_figures(login("conac"), "?from=2025-01&to=2025-06")
    wanted = expected(None, months, clock.now)
    assert_page_matches(figures, wanted)
    assert wanted["by-procedure"] == Counter({"域名注册": 1})
    assert wanted["stage-times"] == {("域名注册", "填写域名申请", "单位"): ("1", "0.0", "0.0")}  # sent at once
    assert wanted["months"]["2025-01"] == ("1", "1", "600")


@pytest.mark.parametrize(
    "query", ["?from=2026-13", "?from=abc", "?from=2026-10&to=2026-01", "?from=2020-01&to=2026-10"]
)
def test_a_period_that_is_not_one_falls_back_to_the_last_12_months(world: World, login: Any, query: str) -> None:
    response = login("conac").get(f"/dashboard/{query}")
    tree = html.fromstring(response.get_data(as_text=True))
    assert tree.xpath('//*[contains(@class, "alert-warning")]')
    assert list(page_figures(login("conac"))["months"]) == DEFAULT_MONTHS
    assert table_rows(tree, "months")[0][0] == "2025-11"


def test_units_admins_and_other_reviewers_are_refused(app: Any, demo: dict[str, Any], login: Any) -> None:
    rules = [r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("dashboards.")]
    assert rules
    for username in ("unit1", "admin", "secadmin", "auditor", "policy", "zhongxin"):
        client = login(username)
        for rule in rules:
            assert client.get(rule).status_code == 403, (username, rule)
    client.post("/logout")
    assert client.get(rules[0]).status_code == 302


def test_the_menu_offers_the_page_to_bianban_and_conac_only(demo: dict[str, Any], login: Any) -> None:
    for username, offered in (("bianban", True), ("conac", True), ("unit1", False), ("zhongxin", False)):
        page = login(username).get("/").get_data(as_text=True)
        assert ('href="/dashboard/"' in page) is offered, username


def test_completions_record_how_long_their_work_item_waited(make_unit: Any, start: Any, clock: Clock) -> None:
    clock.set("2026-10-08 09:00")
    application = start("domain_registration", make_unit())
    clock.set("2026-10-08 09:30")
    application.complete(UNIT, DOMAIN_APPLICATION)
    clock.set("2026-10-09 11:30")
    application.complete(BIANBAN, APPROVE)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "complete").order_by(AuditEvent.id)).all()
    assert [(e.task_title, e.detail) for e in events] == [
        ("填写域名申请", {"waited_seconds": 1800}),
        ("编办审核", {"waited_seconds": 26 * 3600}),
    ]


def test_the_default_period_is_the_last_12_months_of_the_engine_clock() -> None:
    period = dashboards.default_period(date(2026, 1, 15))
    assert (period.first, period.last, period.length) == (date(2025, 2, 1), date(2026, 1, 1), 12)
    assert period.start == datetime(2025, 2, 1, tzinfo=BEIJING)
    assert period.end == datetime(2026, 2, 1, tzinfo=BEIJING) == datetime(2026, 1, 31, 16, tzinfo=UTC)


# ---- time per task at scale: the copies the triggers keep (app/models/task_wait.py) --------------------------


def completed_application(world: World) -> ProcessInstance:
    """The walked registration of 鄂尔多斯 (the 编办's and CONAC's figures both count it)."""
    return db.session.scalar(select(ProcessInstance).where(ProcessInstance.stage == "注册成功"))


def complete_at(instance: ProcessInstance, utc: str, waited_seconds: int, title: str = "统计核对") -> None:
    at = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    actor = Actor("reviewer", "编办")
    audit.record_at(
        db.session, at, actor, "complete", instance.id, ("check", title), {"waited_seconds": waited_seconds}
    )
    db.session.commit()


def test_medians_are_exact_over_many_waits_hours_and_months(world: World, login: Any, clock: Clock) -> None:
    """The country reads the per-hour table and then the one hour holding the middle; a 编办 groups the rows.
    Waits within an hour, across hours, short negative ones (a clock set back) and a Beijing month boundary."""
    instance = completed_application(world)
    waits = [-5, 0, 1799, 3600, 3601, 7200, 7300, 9000, 36000, 36000, 90061]
    for n, seconds in enumerate(waits):
        complete_at(instance, f"2026-0{1 + n % 9}-15 02:00", seconds)
    complete_at(instance, "2025-10-31 16:30", 50)  # 2025-11-01 00:30 in Beijing: the first day of the period
    complete_at(instance, "2025-10-31 15:30", 999_999)  # 2025-10-31 23:30 in Beijing: before it
    for seconds in (-4000, -3000, -2000, 1000, 3000):  # hour -1, then hour 0 from -3599 to 3599: the middle is -2000
        complete_at(instance, "2026-05-15 02:00", seconds, "统计复核")
    key = ("域名注册", "统计核对", "编办")
    # 12 waits: the middle two, 3601 s and 7200 s, lie in two hours; then 13: the middle one is 7200 s.
    for extra, median in ((None, "1.5"), (99_999, "2.0")):
        if extra is not None:
            complete_at(instance, "2026-10-01 02:00", extra)
        counted = [*waits, 50] + ([extra] if extra else [])
        for username, units in (("conac", None), ("bianban", world.bianban_units)):
            figures = page_figures(login(username))
            assert_page_matches(figures, expected(units, DEFAULT_MONTHS, clock.now))
            assert figures["stage-times"][("域名注册", "统计复核", "编办")] == ("5", "-0.6", "-0.3")
            assert figures["stage-times"][key] == (
                str(len(counted)),
                median,
                str(round(sum(counted) / len(counted) / 3600, 1)),
            )


def test_waits_follow_an_application_moved_to_another_version(world: World, login: Any, clock: Clock) -> None:
    """A version migration moves the application's completions to the version it is on now, as the figures
    group applications by their current version."""
    instance = completed_application(world)
    other = WorkflowDefinition(
        process_id="domain_registration_renamed", name="域名注册（新版）", version=1, sha256="0" * 64,
        file_name="x.bpmn", xml="", deployed_by="test",
    )  # fmt: skip
    db.session.add(other)
    db.session.flush()
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance.id).values(definition_id=other.id))
    db.session.commit()
    assert {
        w.definition_id for w in db.session.scalars(select(TaskWait).where(TaskWait.instance_id == instance.id))
    } == {other.id}
    for username, units in (("conac", None), ("bianban", world.bianban_units)):
        figures = page_figures(login(username))
        assert_page_matches(figures, expected(units, DEFAULT_MONTHS, clock.now))
        assert ("域名注册（新版）", "编办审核", "编办") in figures["stage-times"]


def test_applications_follow_their_unit_to_another_region(world: World, login: Any, clock: Clock) -> None:
    """Applications are grouped by their copy of the unit's region (triggers): a unit that moves takes its
    applications along, as the unit's own region would."""
    dongsheng = db.session.scalar(select(Unit).where(Unit.region_code == "150602"))
    dongsheng.region_code = "150621"  # into 达拉特旗, which the city's 编办 answers for
    db.session.commit()
    assert {
        i.region_code
        for i in db.session.scalars(select(ProcessInstance).where(ProcessInstance.unit_id == dongsheng.id))
    } == {"150621"}
    units = world.bianban_units | {dongsheng.id}
    figures = page_figures(login("bianban"))
    assert_page_matches(figures, expected(units, DEFAULT_MONTHS, clock.now))
    assert figures["by-region"]["达拉特旗"] == 2
    assert_page_matches(page_figures(login("conac")), expected(None, DEFAULT_MONTHS, clock.now))


def test_every_index_the_models_declare_is_in_the_migrated_database(app: Any) -> None:
    """As declared: the key columns, and on PostgreSQL the columns an index carries (INCLUDE)."""
    database, postgresql = inspect(db.engine), db.engine.dialect.name == "postgresql"
    for table in ("process_instance", "domain", "charge", "task_wait", "work_item", "instance_office"):
        found = {
            index["name"]: (index["column_names"], index.get("dialect_options", {}).get("postgresql_include", []))
            for index in database.get_indexes(table)
        }
        for index in db.metadata.tables[table].indexes:
            carried = index.dialect_options["postgresql"]["include"] if postgresql else []
            declared = ([column.name for column in index.columns], list(carried or []))
            assert found.get(index.name) == declared, (table, index.name)
