"""The 待办 counts kept by triggers, keyset pages, bounded totals and the 已办 cursor (issue #13).

The counts (inbox_count plus the deltas not folded in yet) must equal a grouping of the open work items
after every kind of change: a submission, a decision that moves the item to another office, a withdrawal,
claims and transfers, a version migration, direct repairs in SQL, and actions that fail half-way (their
transaction is undone, and so are the counts); before and after a compaction, and while compactions run
among concurrent actions. Two completions of one office at once neither wait for each other nor deadlock.
Following "下一页" (the cursor) must give exactly the rows numbered pages give.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, insert, select, union_all, update
from sqlalchemy.orm import Session

from app.engine import Engine
from app.engine.errors import FormValidationError, TaskFailure
from app.extensions import db
from app.models import (
    Domain,
    InboxCount,
    InboxCountDelta,
    InstanceOffice,
    Office,
    ProcessInstance,
    Unit,
    WorkflowDefinition,
    WorkItem,
)
from app.models.account import BIANBAN_ROLE
from app.services import application_search, assignment, domain_query, inbox_counts, worklist
from app.services.audit import Actor
from app.services.domain_query import DomainFilters
from app.services.jurisdiction import RegionCut, office_region_cut
from app.services.worklist import InboxFilters, PageAt
from tests.conftest import (
    APPROVE,
    BIANBAN,
    CONAC,
    TEST_APPLICATION,
    TWO_REVIEWS,
    UNIT,
    Application,
    add_domain,
    ensure_office,
)
from tests.round_trips import counted as sent_to
from tests.test_routing import ADMIN, ENTRY, deploy_routing
from tests.test_runner import in_threads
from tests.test_web_worklist import page, submitted, user

SORTS = ("created", "-created", "due", "-due", "key", "-key")


def counted() -> dict[tuple[str, str, str, int], int]:
    """The counts as readers see them: inbox_count plus the deltas not folded in yet (a key summing to 0
    means nothing: rows counted down to 0 are kept)."""
    tables = (InboxCount.__table__, InboxCountDelta.__table__)
    both = union_all(*(select(*key(table), table.c.n) for table in tables)).subquery()
    rows = db.session.execute(select(*key(both), func.sum(both.c.n)).group_by(*key(both)))
    return {(office, role, stage, definition): n for office, role, stage, definition, n in rows if n}


def key(table: Any) -> list[Any]:
    """The columns naming one count: office, role, stage and diagram version."""
    return [table.c[name] for name in ("office_code", "role", "stage", "definition_id")]


def deltas() -> int:
    return db.session.scalar(select(func.count()).select_from(InboxCountDelta)) or 0


def grouped() -> dict[tuple[str, str, str, int], int]:
    """The same figures grouped from the work items: what the counts must always equal."""
    query = (
        select(WorkItem.office_code, WorkItem.role, WorkItem.stage, ProcessInstance.definition_id, func.count())
        .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
        .where(WorkItem.office_code.is_not(None))
        .group_by(WorkItem.office_code, WorkItem.role, WorkItem.stage, ProcessInstance.definition_id)
    )
    return {(office, role, stage, definition): n for office, role, stage, definition, n in db.session.execute(query)}


def assert_exact() -> None:
    db.session.expire_all()
    assert counted() == grouped()
    assert db.session.scalar(select(func.count()).where(InboxCount.n < 0)) == 0


def stages(username: str) -> list[tuple[str, int]]:
    return worklist.inbox(db.session, user(username), InboxFilters()).by_stage


# ---- counts --------------------------------------------------------------------------------


@pytest.mark.usefixtures("two_reviews")
def test_counts_follow_submission_decisions_and_withdrawal(
    demo: dict[str, Any], make_unit: Any, start: Any, engine: Engine
) -> None:
    first = submitted(start, make_unit(name="鄂尔多斯市教育局"))
    second = submitted(start, make_unit(name="鄂尔多斯市民政局"), "鄂尔多斯市民政局.政务")
    assert_exact()
    assert stages("bianban") == [("待审核", 2)] and stages("conac") == []

    first.complete(BIANBAN, APPROVE)  # 编办 → CONAC
    assert_exact()
    assert stages("bianban") == [("待审核", 1)] and stages("conac") == [("复审中", 1)]

    first.complete(CONAC, APPROVE)  # CONAC → the 编办 collects the fee
    engine.runner.withdraw(second.instance_id, UNIT)  # back to the unit: not in any reviewer's counts
    assert_exact()
    assert stages("bianban") == [("待缴费", 1)] and stages("conac") == []
    assert worklist.inbox(db.session, user("bianban"), InboxFilters()).total == 1

    second.complete(UNIT, {**TEST_APPLICATION, "domain_name": "鄂尔多斯市民政局.政务", "years": 3})  # resubmitted
    assert_exact()
    assert stages("bianban") == [("待审核", 1), ("待缴费", 1)]


@pytest.mark.usefixtures("two_reviews")
def test_claims_and_transfers_leave_the_counts_alone(demo: dict[str, Any], make_unit: Any, start: Any) -> None:
    application = submitted(start, make_unit())
    item_id = application.task().id
    before = counted()

    assignment.claim(db.session, user("bianban"), item_id)
    assignment.transfer(db.session, user("bianban"), item_id, "bianban2")
    db.session.commit()
    assert counted() == before == grouped()
    mine = worklist.inbox(db.session, user("bianban2"), InboxFilters(claimed="mine"))
    assert (mine.total, mine.more, mine.by_stage) == (1, False, [("待审核", 1)])


@pytest.mark.usefixtures("two_reviews")
def test_a_refused_decision_changes_no_count(demo: dict[str, Any], make_unit: Any, start: Any) -> None:
    application = submitted(start, make_unit())
    before = counted()
    with pytest.raises(FormValidationError):
        application.complete(BIANBAN, {"decision": "reject"})  # a rejection needs its reason
    assert counted() == before == grouped()


def test_an_action_failing_half_way_is_undone_with_its_counts(engine: Engine, make_unit: Any, start: Any) -> None:
    """Routing fails after the unit's item is gone and before the reviewer's exists: nothing of it stays."""
    unit = make_unit(region_code="150602")
    ensure_office("编办", "150600")
    deploy_routing(engine, "编办", "office:编办:150600")
    application = start("routing", unit)
    db.session.delete(db.session.scalar(select(Office).where(Office.code == "编办:150600")))
    db.session.commit()
    with pytest.raises(TaskFailure):
        application.complete(UNIT, ENTRY)
    assert_exact()
    assert counted() == {}
    ensure_office("编办", "150600")
    engine.runner.retry(application.instance_id, ADMIN)
    assert_exact()
    assert sum(counted().values()) == 1


@pytest.mark.usefixtures("two_reviews")
def test_repairs_in_sql_and_a_move_to_another_version_keep_the_counts(
    demo: dict[str, Any], make_unit: Any, start: Any
) -> None:
    """The triggers see every statement, not only the Projector's: a stage or office rewritten by hand,
    an item deleted, an application moved to another version of its diagram."""
    first, second = submitted(start, make_unit()), submitted(start, make_unit(), "第二单位.政务")
    db.session.execute(update(WorkItem).where(WorkItem.instance_id == first.instance_id).values(stage="补正中"))
    db.session.execute(
        update(WorkItem).where(WorkItem.instance_id == second.instance_id).values(office_code="编办:150602")
    )
    assert_exact()
    other = WorkflowDefinition(
        process_id=TWO_REVIEWS,
        name="另一版本",
        version=99,
        sha256="0" * 64,
        file_name="x.bpmn",
        xml="",
        deployed_by="t",
    )
    db.session.add(other)
    db.session.flush()
    db.session.execute(
        update(ProcessInstance).where(ProcessInstance.id == first.instance_id).values(definition_id=other.id)
    )
    assert_exact()
    assert worklist.inbox(db.session, user("bianban"), InboxFilters()).by_procedure == [(TWO_REVIEWS, "另一版本", 1)]
    db.session.execute(delete(WorkItem).where(WorkItem.instance_id == second.instance_id))
    assert_exact()
    inbox_counts.rebuild_inbox_counts(db.session)  # a recount finds nothing to change
    assert_exact()
    db.session.rollback()


# ---- compaction, and actions at the same moment ---------------------------------------------------


def opened_copy(item_id: int, stage: str, n: int) -> dict[str, Any]:
    """A work item like `item_id` at `stage`: what a completion opens as it closes that one."""
    item = db.session.get(WorkItem, item_id)
    assert item is not None
    columns = {c.name: getattr(item, c.key) for c in WorkItem.__table__.columns if c.name != "id"}
    return columns | {"task_id": f"next-{item_id}-{n}", "stage": stage}


def move(item_id: int, stage: str, n: int) -> int:
    """Close the item and open the next at `stage`, in one transaction, as a completion does."""
    opened = opened_copy(item_id, stage, n)
    db.session.execute(delete(WorkItem).where(WorkItem.id == item_id))
    next_id = db.session.execute(WorkItem.__table__.insert().returning(WorkItem.id), opened).scalar_one()
    db.session.commit()
    return int(next_id)


@pytest.mark.usefixtures("two_reviews")
def test_compaction_folds_the_deltas_and_the_counts_stay_exact(
    app: Flask, demo: dict[str, Any], make_unit: Any, start: Any
) -> None:
    """Actions append deltas; a compaction folds them into inbox_count (the worker does it every round), and
    one rolled back with the action it ran alongside undoes both."""
    first, second = submitted(start, make_unit()), submitted(start, make_unit(), "第二单位.政务")
    first.complete(BIANBAN, APPROVE)
    assert deltas() > 0
    assert_exact()
    assert inbox_counts.compact_inbox_counts(db.session)
    db.session.commit()
    assert deltas() == 0
    assert_exact()
    folded = counted()

    db.session.execute(delete(WorkItem).where(WorkItem.instance_id == second.instance_id))
    inbox_counts.compact_inbox_counts(db.session)  # folds the delete's delta in the same transaction
    assert deltas() == 0 and sum(counted().values()) == sum(folded.values()) - 1
    db.session.rollback()
    assert counted() == folded == grouped()

    second.complete(BIANBAN, APPROVE)
    assert deltas() > 0
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert deltas() == 0
    assert_exact()
    assert stages("conac") == [("复审中", 2)]


@pytest.mark.parametrize("direction", ["opposite", "same"])
@pytest.mark.usefixtures("two_reviews")
def test_two_completions_in_one_office_at_once_neither_wait_nor_deadlock(
    app: Flask, backend: str, demo: dict[str, Any], make_unit: Any, start: Any, direction: str
) -> None:
    """Two completions of one office, each closing an item and then opening the next, interleaved statement
    by statement. With one counter row per stage, moves the same way queued at their first statement (the
    second waited for the first's commit), and moves between the same two stages in opposite directions
    deadlocked (each held the row the other needed next; PostgreSQL aborted one). Appending deltas, neither
    waits."""
    if backend != "postgresql":
        pytest.skip("SQLite has a single writer")
    items = [submitted(start, make_unit(), f"并发单位{n}.政务").task().id for n in range(2)]
    if direction == "opposite":
        db.session.execute(update(WorkItem).where(WorkItem.id == items[1]).values(stage="补正中"))
    db.session.commit()
    targets = ["补正中", "待审核" if direction == "opposite" else "补正中"]
    both_closed = threading.Barrier(2)

    def completion(item_id: int, opened: dict[str, Any]) -> None:
        db.session.connection().exec_driver_sql("SET LOCAL lock_timeout = '5s'")  # a wait fails, never hangs
        db.session.execute(delete(WorkItem).where(WorkItem.id == item_id))
        both_closed.wait(timeout=3)  # neither opens its next item before both closed theirs
        db.session.execute(WorkItem.__table__.insert(), opened)
        db.session.commit()

    jobs = [partial(completion, item, opened_copy(item, stage, 1)) for item, stage in zip(items, targets, strict=True)]
    assert in_threads(app, jobs) == [None, None]
    assert_exact()
    assert stages("bianban") == ([("待审核", 1), ("补正中", 1)] if direction == "opposite" else [("补正中", 2)])


@pytest.mark.usefixtures("two_reviews")
def test_a_compaction_passes_over_an_open_action_and_another_compaction(
    backend: str, demo: dict[str, Any], make_unit: Any, start: Any
) -> None:
    """A compaction neither waits for an action under way nor folds its deltas, which count once committed;
    while one compaction is open, another returns at once and leaves the deltas to it."""
    if backend != "postgresql":
        pytest.skip("SQLite has a single writer")
    item_id = submitted(start, make_unit()).task().id
    opened = opened_copy(item_id, "补正中", 1)
    db.session.commit()
    with Session(db.engine) as action, Session(db.engine) as compaction, Session(db.engine) as other:
        action.execute(delete(WorkItem).where(WorkItem.id == item_id))
        compaction.connection().exec_driver_sql("SET LOCAL lock_timeout = '2s'")
        assert inbox_counts.compact_inbox_counts(compaction)
        compaction.commit()
        action.execute(WorkItem.__table__.insert(), opened)
        action.commit()
        assert deltas() == 2  # the action's −1 and +1, committed after the fold
        assert_exact()

        assert inbox_counts.compact_inbox_counts(compaction)  # holds the fold until its commit
        assert not inbox_counts.compact_inbox_counts(other)
        other.commit()
        assert deltas() == 2
        compaction.commit()
    assert deltas() == 0
    assert_exact()


@pytest.mark.usefixtures("two_reviews")
def test_counts_stay_exact_while_compactions_run_among_completions(
    app: Flask, demo: dict[str, Any], make_unit: Any, start: Any
) -> None:
    """Four items moved back and forth between two stages at once, half of them each way, while a worker
    compacts and a reviewer reads the counts: every move closes one item and opens one, so each read must
    find the office's total whole, and after the last compaction the counts equal the work items."""
    items = [submitted(start, make_unit(), f"并发单位{n}.政务").task().id for n in range(4)]
    db.session.execute(update(WorkItem).where(WorkItem.id.in_(items[::2])).values(stage="补正中"))
    db.session.commit()
    moved = threading.Event()
    all_moved = threading.Barrier(len(items), action=moved.set)

    def mover(item_id: int) -> None:
        try:
            for n in range(10):
                stage = db.session.scalar(select(WorkItem.stage).where(WorkItem.id == item_id))
                item_id = move(item_id, "待审核" if stage == "补正中" else "补正中", n)
        finally:
            all_moved.wait()

    def compactor() -> int:
        compactions = 0
        while not moved.is_set():
            compactions += inbox_counts.compact_inbox_counts(db.session)
            db.session.commit()
        return compactions

    def reader() -> set[int]:
        totals = set()
        while not moved.is_set():
            totals.add(worklist.inbox(db.session, user("bianban"), InboxFilters()).total)
            db.session.commit()
        return totals

    *movers, compactions, totals = in_threads(app, [*(partial(mover, i) for i in items), compactor, reader])
    assert movers == [None] * len(items)
    assert compactions > 0 and totals == {len(items)}
    assert_exact()
    inbox_counts.compact_inbox_counts(db.session)
    db.session.commit()
    assert deltas() == 0
    assert_exact()


# ---- pages -----------------------------------------------------------------------------------


@pytest.fixture
def five(demo: dict[str, Any], two_reviews: str, make_unit: Any, start: Any, clock: Any) -> list[Application]:
    """Five submissions to the 编办 of 鄂尔多斯; two share an arrival time, two have no deadline."""
    clock.set("2026-10-12 10:00")
    found = [submitted(start, make_unit(), f"测试单位{n}.政务") for n in range(5)]
    ids = [a.task().id for a in found]
    arrival = db.session.scalar(select(WorkItem.created_at).where(WorkItem.id == ids[0]))
    db.session.execute(update(WorkItem).where(WorkItem.id == ids[3]).values(created_at=arrival))
    db.session.execute(update(WorkItem).where(WorkItem.id.in_(ids[1:3])).values(due_at=None))
    db.session.execute(
        update(WorkItem).where(WorkItem.id == ids[4]).values(due_at=arrival + timedelta(days=1))  # soonest due
    )
    db.session.commit()
    return found


def keys(inbox: worklist.Inbox) -> list[str]:
    return [row.business_key for row in inbox.rows]


@pytest.mark.parametrize("sort", SORTS)
def test_following_the_cursor_gives_the_rows_of_numbered_pages(five: list[Application], sort: str) -> None:
    bianban = user("bianban")
    whole = keys(worklist.inbox(db.session, bianban, InboxFilters(), sort, 1, page_size=20))
    assert len(whole) == 5

    followed, at = [], PageAt()
    while True:
        found = worklist.inbox(db.session, bianban, InboxFilters(), sort, at, page_size=2)
        numbered = worklist.inbox(db.session, bianban, InboxFilters(), sort, at.number, page_size=2)
        assert keys(found) == keys(numbered) and found.page == at.number
        followed += keys(found)
        if not found.next_cursor:
            break
        at = PageAt(at.number + 1, found.next_cursor)
    assert followed == whole and at.number == 3


def test_items_without_deadline_come_last_in_both_directions(five: list[Application]) -> None:
    bianban = user("bianban")
    undated = {a.instance.business_key for a in five[1:3]}
    for sort in ("due", "-due"):
        rows = worklist.inbox(db.session, bianban, InboxFilters(), sort).rows
        assert {r.business_key for r in rows[-2:]} == undated
    assert keys(worklist.inbox(db.session, bianban, InboxFilters(), "due"))[0] == five[4].instance.business_key


def test_a_cursor_of_another_sort_or_garbage_falls_back_to_the_page_number(five: list[Application]) -> None:
    bianban = user("bianban")
    by_number = keys(worklist.inbox(db.session, bianban, InboxFilters(), "key", 2, page_size=2))
    first = worklist.inbox(db.session, bianban, InboxFilters(), "created", 1, page_size=2)
    for after in (first.next_cursor, "key|x|y", "key|not-a-date", "garbage"):
        found = worklist.inbox(db.session, bianban, InboxFilters(), "key", PageAt(2, after), page_size=2)
        assert keys(found) == by_number


def test_a_filtered_total_beyond_the_cap_says_more(five: list[Application], monkeypatch: Any, login: Any) -> None:
    monkeypatch.setattr(worklist, "COUNT_CAP", 3)
    unclaimed = worklist.inbox(db.session, user("bianban"), InboxFilters(claimed="unclaimed"), page_size=2)
    assert (unclaimed.total, unclaimed.more, unclaimed.next_cursor != "") == (3, True, True)
    beyond = worklist.inbox(db.session, user("bianban"), InboxFilters(claimed="unclaimed"), page=3, page_size=2)
    assert (beyond.page, len(beyond.rows)) == (3, 1)  # not clamped to the counted pages
    exact = worklist.inbox(db.session, user("bianban"), InboxFilters(stage="待审核"))  # from the counts
    assert (exact.total, exact.more) == (5, False)
    assert "超过 3 件待办" in page(login("bianban"), "/review/", claimed="unclaimed")


def test_the_next_link_carries_the_cursor_and_other_links_drop_it(five: list[Application], login: Any) -> None:
    """Enough copies of the five items for two pages of the web list (20 a page)."""
    template = db.session.get(WorkItem, five[0].task().id)
    assert template is not None
    copies = [
        {c.name: getattr(template, c.key) for c in WorkItem.__table__.columns if c.name != "id"}
        | {"task_id": f"copy-{n}"}
        for n in range(17)
    ]
    db.session.execute(WorkItem.__table__.insert(), copies)
    db.session.commit()
    client = login("bianban")

    def pager(html: str) -> str:
        return html.split('aria-label="待办分页"')[1].split("</nav>")[0]

    stray = pager(page(client, "/review/", sort="created", after="created|2026-10-12T02:00:00+00:00|1"))
    first = pager(page(client, "/review/", sort="created"))
    cursor = worklist.inbox(db.session, user("bianban"), InboxFilters(), "created").next_cursor
    assert stray == first and cursor
    numbered, following = first.split("下一页")[0], first.split("下一页")[0].rsplit("<a", 1)[1]
    assert "after=" in following and "after=" not in numbered.rsplit("<a", 1)[0]  # on 下一页 only
    second = page(client, "/review/", sort="created", page=2, after=cursor)
    assert "共 22 件待办，第 2 / 2 页" in second and "after=" not in pager(second)


@pytest.mark.usefixtures("two_reviews")
def test_done_pages_follow_the_cursor(demo: dict[str, Any], make_unit: Any, start: Any) -> None:
    reviewer = Actor("bianban", "编办", None, "编办:150600")
    for n in range(5):
        submitted(start, make_unit(), f"已办单位{n}.政务").complete(reviewer, APPROVE)
    bianban = user("bianban")
    numbered = [worklist.done(db.session, bianban, n, page_size=2) for n in (1, 2, 3)]
    followed, at = [], PageAt()
    for _ in range(3):
        found = worklist.done(db.session, bianban, at, page_size=2)
        followed.append([row.event.id for row in found.rows])
        at = PageAt(at.number + 1, found.next_cursor)
    assert followed == [[row.event.id for row in p.rows] for p in numbered]
    assert numbered[0].total == 5 and numbered[2].next_cursor == "" and numbered[0].next_cursor


@pytest.mark.usefixtures("two_reviews")
def test_the_region_copies_follow_the_unit(demo: dict[str, Any], make_unit: Any, start: Any) -> None:
    """Work items and domains carry their unit's region (the region filter and 到期域名 read it)."""
    unit = make_unit(region_code="150602")
    application = submitted(start, unit).complete(BIANBAN, APPROVE)  # now with CONAC
    domain = Domain(
        unit_id=unit.id, name="区划测试.政务", ascii_name="xn--test", suffix="政务", years=1, host_mode="none"
    )
    db.session.add(domain)
    db.session.commit()

    def regions() -> tuple[str | None, str | None]:
        db.session.expire_all()
        item = db.session.scalar(select(WorkItem.region_code).where(WorkItem.instance_id == application.instance_id))
        return item, db.session.scalar(select(Domain.region_code).where(Domain.id == domain.id))

    assert regions() == ("150602", "150602")
    conac = user("conac")
    assert worklist.inbox(db.session, conac, InboxFilters(region="150600")).total == 1
    db.session.execute(update(Unit).where(Unit.id == unit.id).values(region_code="110101"))
    db.session.commit()
    assert regions() == ("110101", "110101")
    assert worklist.inbox(db.session, conac, InboxFilters(region="150000")).total == 0
    assert [r.business_key for r in worklist.inbox(db.session, conac, InboxFilters(region="110000")).rows] == [
        application.instance.business_key
    ]


def test_the_unit_name_copy_follows_a_rename_and_the_name_filter(demo: dict[str, Any], make_unit: Any) -> None:
    """到期域名 filters by the unit's name copied onto the domain: it follows a rename, and the filter finds
    what matching the joined unit's name or the domain finds."""
    names = ("鄂尔多斯市图书馆", "鄂尔多斯市教育局", "康巴什区图书馆", "东胜区图书馆")
    units = [make_unit(name=n, region_code="150602" if n[0] == "东" else "150600") for n in names]
    domains = [add_domain(unit, f"单位{i}网站.公益") for i, unit in enumerate(units)]
    add_domain(units[1], "教育图书馆.政务")  # the domain's own name matches, not its unit's
    bianban = user("bianban")

    def hits(text: str) -> list[str]:
        return [row.domain.name for row in domain_query.query(db.session, bianban, DomainFilters(text=text)).rows]

    def joined(text: str) -> list[str]:
        """What the filter read before the copy: the domain's name or its unit's, joined."""
        seen = [row.domain.id for row in domain_query.rows_for(db.session, bianban, DomainFilters())]
        query = (
            select(Domain.name)
            .join(Unit, Unit.id == Domain.unit_id)
            .where(Domain.id.in_(seen))
            .where(Domain.name.contains(text) | Unit.name.contains(text))
            .order_by(Domain.expires_on, Domain.id)
        )
        return list(db.session.scalars(query))

    for text in ("图书馆", "教育", "鄂尔多斯", "网站", "没有这个单位", "书", "深圳", "尔多"):  # short ones too
        assert hits(text) == joined(text), text
    assert hits("图书馆") == ["单位0网站.公益", "单位2网站.公益", "教育图书馆.政务"]  # 东胜区 is another office's
    db.session.execute(update(Unit).where(Unit.id == units[1].id).values(name="鄂尔多斯市档案馆"))
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(select(Domain.unit_name).where(Domain.id == domains[1].id)) == "鄂尔多斯市档案馆"
    assert hits("档案馆") == joined("档案馆") == ["单位1网站.公益", "教育图书馆.政务"]
    assert hits("教育") == joined("教育") == ["教育图书馆.政务"]
    renamed = domain_query.query(db.session, bianban, DomainFilters(text="档案馆")).rows
    assert [row.unit_name for row in renamed] == ["鄂尔多斯市档案馆"] * 2


def test_an_office_s_domains_are_its_region_without_what_nearer_offices_answer_for(
    demo: dict[str, Any], make_unit: Any
) -> None:
    """到期域名 of the city office: its city's own code and its counties without an office of their own, each
    range read on its own (not stepping over 东胜区's rows), counted by status the same as the rows listed."""
    places = {
        "150600": ("鄂尔多斯市", "active"),
        "150602": ("东胜区", "active"),  # has its own office
        "150603": ("康巴什区", "frozen"),  # counties without one
        "150627": ("伊金霍洛旗", "expired"),
        "150100": ("呼和浩特市", "active"),  # another city
    }
    for region, (place, status) in places.items():
        if region in ("150603", "150627"):  # make_unit would open an office there
            unit = Unit(name=f"{place}档案馆", uscc=f"TEST{region}00000000", unit_type="事业单位", level="county")
            unit.region_code = region
            db.session.add(unit)
            db.session.flush()
        else:
            unit = make_unit(name=f"{place}档案馆", region_code=region)
        add_domain(unit, f"{place}档案馆.政务", status)
    db.session.commit()
    assert office_region_cut(db.session, "编办:150600").ranges() == [("150600", "150601"), ("150603", "150699")]
    page = domain_query.query(db.session, user("bianban"), DomainFilters(text="档案馆"))
    assert sorted(row.region_code for row in page.rows) == ["150600", "150603", "150627"]
    assert {status: n for status, _label, n in page.by_status} == {"active": 1, "expired": 1, "frozen": 1, "deleted": 0}
    assert [row.region_code for row in domain_query.query(db.session, user("dongsheng"), DomainFilters()).rows] == [
        "150602"
    ]
    province = ensure_office("编办", "150000")  # its cities have offices: nothing of its own to show
    reviewer = SimpleNamespace(role=BIANBAN_ROLE, office_code=province.code, unit_id=None)
    with sent_to(db.engine) as sent:
        nothing = domain_query.query(db.session, reviewer, DomainFilters())
    assert nothing.rows == [] and nothing.total == 0
    assert not [s for s in sent.statements if s.startswith("SELECT domain.id, domain.unit_id")]  # counted, not read


def test_a_province_office_s_ranges_leave_out_its_city_offices_and_their_counties() -> None:
    """The pieces nearer offices take are cut out of the region's range of codes, overlapping or not."""
    cut = RegionCut(("150000", "159999"), (("150600", "150699"), ("150602", "150602"), ("150100", "150199")))
    assert cut.ranges() == [("150000", "150099"), ("150200", "150599"), ("150700", "159999")]
    assert RegionCut(("820000", "829999"), (("829900", "829999"),)).ranges() == [("820000", "829899")]
    assert RegionCut(("150602", "150602")).ranges() == [("150602", "150602")]
    assert RegionCut(None).ranges() == []


@pytest.mark.usefixtures("two_reviews")
def test_search_finds_the_same_whether_few_or_many_units_match(
    demo: dict[str, Any], make_unit: Any, start: Any, monkeypatch: Any
) -> None:
    """Few matching units are read by id, many by testing the newest applications: the same hits either way."""
    names = ("鄂尔多斯市教育局", "鄂尔多斯市民政局", "东胜区民政局")
    found = [
        submitted(start, make_unit(name=n, region_code="150602" if n[0] == "东" else "150600"), f"{n}.政务")
        for n in names
    ]
    bianban = user("bianban")

    def hits(text: str) -> list[str]:
        return [hit.business_key for hit in application_search.search(db.session, bianban, text)]

    few = {text: hits(text) for text in ("民政局", "教育局.政务", "鄂尔多斯", "没有这个单位")}
    monkeypatch.setattr(application_search, "SEARCH_UNITS", 0)
    assert {text: hits(text) for text in few} == few
    assert few["民政局"] == [found[1].instance.business_key]  # 东胜区民政局 belongs to another office
    assert few["鄂尔多斯"] == [found[1].instance.business_key, found[0].instance.business_key]  # newest first
    assert few["没有这个单位"] == []


@pytest.mark.usefixtures("two_reviews")
def test_one_or_two_characters_find_what_longer_text_would(demo: dict[str, Any], make_unit: Any, start: Any) -> None:
    """Chinese names are searched by short words: one or two characters (no trigram; on PostgreSQL the
    short-gram indexes of migration fm13a0000009) find exactly the names that hold them, as written."""
    names = ("鄂尔多斯市教育局", "鄂尔多斯市人民医院", "鄂尔多斯市医疗保障局", "鄂尔多斯市50%基金会")
    for number, name in enumerate(names):
        submitted(start, make_unit(name=name, region_code="150600"), f"单位{number}网站.公益")
    bianban = user("bianban")

    def hits(text: str) -> list[str]:
        return sorted(hit.unit_name for hit in application_search.search(db.session, bianban, text))

    assert hits("医院") == ["鄂尔多斯市人民医院"]
    assert hits("医") == ["鄂尔多斯市人民医院", "鄂尔多斯市医疗保障局"]
    assert hits("院医") == [] and hits("深圳") == []
    assert hits("0%") == ["鄂尔多斯市50%基金会"] and hits("%") == ["鄂尔多斯市50%基金会"]  # LIKE's % is a character
    assert hits("_") == []
    assert hits("教育") == hits("教育局") == ["鄂尔多斯市教育局"]


@pytest.mark.usefixtures("two_reviews")
def test_a_name_many_units_hold_is_searched_newest_first_in_each_part_of_the_jurisdiction(
    demo: dict[str, Any], make_unit: Any, start: Any
) -> None:
    """When the statistics put a text in more than SEARCH_UNITS units (PostgreSQL asks the planner; nothing
    is collected to learn it), the newest applications are tested, reading a 编办's region and the
    applications its office had a task of each on their own: the hits are those of the jurisdiction."""
    places = (("鄂尔多斯市人民医院", "150600"), ("东胜区人民医院", "150602"), ("东胜区中心医院", "150602"))
    ours, elsewhere, handled = (
        submitted(start, make_unit(name=name, region_code=region), f"{name}.公益") for name, region in places
    )
    db.session.add(InstanceOffice(instance_id=handled.instance.id, office_code=user("bianban").office_code))
    others = range(application_search.SEARCH_UNITS + 1)  # units of another province, without applications
    filler = {"unit_type": "事业单位", "region_code": "110101", "level": "county"}
    db.session.execute(insert(Unit), [{**filler, "name": f"其他{n}医院", "uscc": f"FILL{n:014d}"} for n in others])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE unit")
    with sent_to(db.engine) as sent:
        hits = [hit.business_key for hit in application_search.search(db.session, user("bianban"), "医院")]
    assert hits == [handled.instance.business_key, ours.instance.business_key]  # not 东胜区人民医院's
    if db.engine.dialect.name == "postgresql":  # SQLite has no estimate: it reads the ids (a scan either way)
        assert not [s for s in sent.statements if s.startswith("SELECT unit.id")]
    national = application_search.search(db.session, user("conac"), "医院")
    assert [hit.business_key for hit in national] == [a.instance.business_key for a in (handled, elsewhere, ours)]


@pytest.mark.usefixtures("two_reviews")
def test_a_rare_name_the_planner_takes_for_common_is_still_read_by_its_units(
    demo: dict[str, Any], make_unit: Any, start: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planner's statistics guess a share of the table for `LIKE '%…%'` (at a million, 20 202 domains for a
    text 1 111 hold), and a rare text taken for common has every application tested. On PostgreSQL a sample of
    the names overrules such a guess, so the few units holding the text are collected and read by id."""
    ours = submitted(start, make_unit(name="鄂尔多斯市疾病预防控制中心", region_code="150600"), "鄂尔多斯疾控.政务")
    monkeypatch.setattr(application_search.query_planning, "estimated_rows", lambda session, query: 10**9)
    for table in ("unit", "domain") if db.engine.dialect.name == "postgresql" else ():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"ANALYZE {table}")  # the sample is scaled to the table's analysed size
    with sent_to(db.engine) as sent:
        hits = application_search.search(db.session, user("bianban"), "疾病预防")
    assert [hit.business_key for hit in hits] == [ours.instance.business_key]
    collected = [s for s in sent.statements if s.startswith("SELECT count(*) AS count_1")]
    assert len(collected) == 2  # the unit names' and the domains' few holders, both by their indexes
