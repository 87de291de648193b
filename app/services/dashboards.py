"""统计: what a 编办's jurisdiction, or for CONAC the whole country, did over a period of Beijing months.

Every figure is grouped in SQL: no application, domain, charge or audit row is loaded into Python, only the
groups. Each dated figure reads one index range of its period (the web layer allows at most MAX_MONTHS; the
default is the last DEFAULT_MONTHS), grouped before names are joined; the time per task reads the waits the
database copies as tasks complete (app/models/task_wait.py), nationally per hour of wait. The two current
states, open reviews past their due time and 逾期未挂标, are counted over the open work items and the placement
rows, which are small by nature. docs/dashboards.md says what each figure reads and what it costs.

Jurisdiction (app/services/jurisdiction.py): a 编办 counts the units its office answers for (its region and
the regions below it without an office of their own) and, for applications, also every application its office
has had a task of (a provincial office that a diagram's `province` routing sends tasks to). CONAC counts all.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime
from itertools import accumulate
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, and_, case, false, func, literal, select, union, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Subquery

from app.models import (
    Certificate,
    Charge,
    Domain,
    InstanceOffice,
    Office,
    PlacementStatus,
    ProcessInstance,
    Region,
    TaskWait,
    TaskWaitHour,
    Unit,
    WorkflowDefinition,
    WorkItem,
)
from app.models._types import UTCDateTime
from app.models.account import BIANBAN_ROLE, CONAC_ROLE, UNIT_ROLE
from app.models.workflow import PROVISIONAL_KEY
from app.services import jurisdiction, placement, query_planning
from app.services.calendar import BEIJING

DEFAULT_MONTHS = 12
MAX_MONTHS = 36
PROVINCE_DIGITS, REGION_DIGITS = 2, 6  # GB/T 2260: 2 digits name a province, 4 a city, 6 a county


# ---- the period ------------------------------------------------------------------------------


def month_start(day: date, months_later: int = 0) -> date:
    """The first day of the month `months_later` months after the month of `day` (negative: before)."""
    index = day.year * 12 + day.month - 1 + months_later
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Whole Beijing months, from the month of `first` to the month of `last` (both first days)."""

    first: date
    last: date

    @property
    def length(self) -> int:
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1

    @property
    def end_day(self) -> date:
        """The first day after the period."""
        return month_start(self.last, 1)

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, 1, tzinfo=BEIJING)

    @property
    def end(self) -> datetime:
        return datetime(self.end_day.year, self.end_day.month, 1, tzinfo=BEIJING)

    def months(self) -> list[str]:
        return [month_start(self.first, n).strftime("%Y-%m") for n in range(self.length)]


def default_period(today: date) -> Period:
    """The last DEFAULT_MONTHS months, this one included."""
    return Period(month_start(today, 1 - DEFAULT_MONTHS), month_start(today))


# ---- whose figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The reader's office and what it answers for; `units` None means every unit (a national office)."""

    office: Office
    units: Select[tuple[int]] | None
    region_digits: int  # regions are grouped by this many leading digits: the level below the office's
    # The applications of `units`, chosen by the same region conditions on the applications' copy of their
    # unit's region: one range of ix_process_instance_region instead of a join of every application to its unit.
    unit_applications: Select[tuple[int]] | None = None

    def unit_filter(self, unit_id: Any) -> list[ColumnElement[bool]]:
        return [] if self.units is None else [unit_id.in_(self.units)]

    def application_filter(self, instance_id: Any = ProcessInstance.id) -> list[ColumnElement[bool]]:
        """On an application id: its unit is answered for, or the office has had a task of it. One list of ids
        from two indexes (process_instance.region_code, instance_office.office_code), not an OR over every row."""
        if self.unit_applications is None:
            return []
        ids = union(
            self.unit_applications,
            select(InstanceOffice.instance_id).where(InstanceOffice.office_code == self.office.code),
        )
        return [instance_id.in_(ids)]


def scope_for(session: Session, user: Any) -> Scope | None:
    """A 编办's or CONAC's scope; None for anyone else, or an account whose office is not of its role."""
    office = user.office
    if user.role not in (BIANBAN_ROLE, CONAC_ROLE) or office is None or office.kind != user.role:
        return None
    if office.region_code is None:
        return Scope(office, None, PROVINCE_DIGITS)
    digits = min(len(jurisdiction.region_prefix(office.region_code)) + 2, REGION_DIGITS)
    other = aliased(ProcessInstance)  # not the figures' own process_instance: an IN list would correlate with it
    cut = jurisdiction.office_region_cut(session, office.code)
    ranges = cut.range_conditions(other.region_code) if cut is not None else []  # None: a national office, above
    by_range = union_all(*(select(other.id).where(span) for span in ranges)).subquery()
    applications = select(by_range.c.id) if ranges else select(other.id).where(false())
    return Scope(office, jurisdiction.office_units(session, office.code), digits, applications)


# ---- the figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    label: str
    count: int


@dataclass(frozen=True)
class OverdueReview:
    procedure: str
    task: str
    role: str  # the lane: 编办, CONAC …
    count: int

    @property
    def label(self) -> str:
        return f"{self.procedure}：{self.task}"


@dataclass(frozen=True)
class StageTime:
    procedure: str
    task: str
    role: str
    count: int
    average_hours: float
    median_hours: float

    @property
    def label(self) -> str:
        return f"{self.procedure}：{self.task}"


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM
    registrations: int
    charges: int
    amount_yuan: int


@dataclass(frozen=True)
class Dashboard:
    scope: Scope
    period: Period
    by_procedure: list[Count]
    by_stage: list[Count]
    by_region: list[Count]
    overdue_reviews: list[OverdueReview]
    overdue_badges: list[Count]
    stage_times: list[StageTime]
    months: list[Month]


def build(session: Session, scope: Scope, period: Period, now: datetime) -> Dashboard:
    """Every figure of the page; `now` (the engine's clock) decides what is overdue."""
    query_planning.plan_per_value(session)
    return Dashboard(
        scope,
        period,
        by_procedure=applications_by_procedure(session, scope, period),
        by_stage=applications_by_stage(session, scope, period),
        by_region=applications_by_region(session, scope, period),
        overdue_reviews=overdue_reviews(session, scope, now),
        overdue_badges=overdue_badges(session, scope),
        stage_times=stage_times(session, scope, period),
        months=months(session, scope, period),
    )


def applications_by_procedure(session: Session, scope: Scope, period: Period) -> list[Count]:
    counted = _applications(scope, period, ProcessInstance.definition_id)
    n = func.sum(counted.c.n)  # the versions of a procedure share its name
    query = (
        select(WorkflowDefinition.name, n)
        .join(counted, counted.c.key == WorkflowDefinition.id)
        .group_by(WorkflowDefinition.name)
        .order_by(n.desc(), WorkflowDefinition.name)
    )
    return _counts(session, query)


def applications_by_stage(session: Session, scope: Scope, period: Period) -> list[Count]:
    counted = _applications(scope, period, ProcessInstance.stage)
    return _counts(session, select(counted.c.key, counted.c.n).order_by(counted.c.n.desc(), counted.c.key))


def applications_by_region(session: Session, scope: Scope, period: Period) -> list[Count]:
    return _counts(session, _named_regions(_applications(scope, period, _region_key(scope, ProcessInstance))))


def _counts(session: Session, query: Select[Any]) -> list[Count]:
    return [Count(label or "", int(count)) for label, count in session.execute(query)]


def _applications(scope: Scope, period: Period, key: Any) -> Subquery:
    """Applications started in the period, counted (n) by `key`. Only numbered ones: a unit's unsent draft (and
    an abandoned application, never numbered) is nobody's business yet. Grouped on process_instance alone, as
    one range of ix_process_instance_numbered_created: names are joined to the groups, not to every row."""
    return (
        select(key.label("key"), func.count().label("n"))
        .where(
            # Inline, as in the partial index's predicate.
            ProcessInstance.business_key.not_like(literal(f"{PROVISIONAL_KEY}%", literal_execute=True)),
            ProcessInstance.created_at >= period.start,
            ProcessInstance.created_at < period.end,
            *scope.application_filter(),
        )
        .group_by(key)
        .subquery()
    )


def _named_regions(counted: Subquery) -> Select[Any]:
    return (
        select(func.coalesce(Region.name, counted.c.key), counted.c.n)
        .select_from(counted)
        .outerjoin(Region, Region.code == counted.c.key)
        .order_by(counted.c.n.desc(), counted.c.key)
    )


def _region_key(scope: Scope, table: Any) -> ColumnElement[str]:
    """The unit's region (`table.region_code`: the unit's own or an application's copy of it) at the level below
    the office's, as a full 6-digit code (150621 → 150600; for CONAC's provinces it is 150000)."""
    if scope.region_digits >= REGION_DIGITS:
        return table.region_code
    return func.substr(table.region_code, 1, scope.region_digits) + "0" * (REGION_DIGITS - scope.region_digits)


def overdue_badges(session: Session, scope: Scope) -> list[Count]:
    """逾期未挂标 now, by region."""
    key = _region_key(scope, Unit)
    counted = (
        select(key.label("key"), func.count().label("n"))
        .select_from(PlacementStatus)
        .join(Certificate, Certificate.id == PlacementStatus.certificate_id)
        .join(Unit, Unit.id == Certificate.unit_id)
        .where(*placement.overdue_conditions(), *scope.unit_filter(Unit.id))
        .group_by(key)
        .subquery()
    )
    return _counts(session, _named_regions(counted))


def overdue_reviews(session: Session, scope: Scope, now: datetime) -> list[OverdueReview]:
    """Open reviewer tasks past their due time, by procedure, task and role (not by office: nationally that
    would be thousands of rows)."""
    count = func.count(WorkItem.id)
    keys = (WorkflowDefinition.name, WorkItem.title, WorkItem.role)
    query = (
        select(*keys, count)
        .select_from(WorkItem)
        .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
        .join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
        .where(WorkItem.role != UNIT_ROLE, WorkItem.due_at < now, *scope.application_filter(WorkItem.instance_id))
        .group_by(*keys)
        .order_by(count.desc(), *keys)
    )
    return [OverdueReview(*row[:3], int(row[3])) for row in session.execute(query)]


def stage_times(session: Session, scope: Scope, period: Period) -> list[StageTime]:
    """Hours from a task's work item to its completion, for tasks completed in the period: count, mean and
    median per procedure, task and role. The waits are those the runner records in each completion's audit
    detail, copied by triggers to task_wait and task_wait_hour (app/models/task_wait.py). The country adds up
    the hours table; a 编办 groups the completions of its applications."""
    if scope.units is None:
        return _national_stage_times(session, period)
    return _scoped_stage_times(session, scope, period)


def _scoped_stage_times(session: Session, scope: Scope, period: Period) -> list[StageTime]:
    """PostgreSQL has the median as an aggregate (percentile_cont); SQLite ranks each group with window
    functions and takes the middle row, or the mean of the two middle rows (both give the same number)."""
    hours = TaskWait.waited_seconds / 3600.0
    keys = (WorkflowDefinition.name, TaskWait.task_title, TaskWait.role)
    completions = (
        select()
        .select_from(TaskWait)
        .join(WorkflowDefinition, WorkflowDefinition.id == TaskWait.definition_id)
        .where(TaskWait.at >= period.start, TaskWait.at < period.end, *scope.application_filter(TaskWait.instance_id))
    )
    if session.get_bind().dialect.name == "postgresql":
        median = func.percentile_cont(0.5).within_group(hours)
        query = completions.add_columns(*keys, func.count(), func.avg(hours), median).group_by(*keys).order_by(*keys)
    else:
        query = _ranked_median(completions, keys, hours)
    return [
        StageTime(procedure, task, role, int(n), round(float(mean), 1), round(float(median), 1))
        for procedure, task, role, n, mean, median in session.execute(query)
    ]


def _ranked_median(completions: Select[Any], keys: tuple[Any, ...], hours: Any) -> Select[Any]:
    ranked = completions.add_columns(
        *(key.label(name) for key, name in zip(keys, ("procedure", "task", "role"), strict=True)),
        hours.label("hours"),
        func.row_number().over(partition_by=keys, order_by=hours).label("rank"),
        func.count().over(partition_by=keys).label("size"),
    ).subquery()
    middle = and_(ranked.c.rank * 2 >= ranked.c.size, ranked.c.rank * 2 <= ranked.c.size + 2)
    groups = (ranked.c.procedure, ranked.c.task, ranked.c.role)
    median = func.avg(case((middle, ranked.c.hours)))
    return select(*groups, func.count(), func.avg(ranked.c.hours), median).group_by(*groups).order_by(*groups)


Hours = list[tuple[int, int]]  # (whole hours of wait, completions), in order of the hour


def _national_stage_times(session: Session, period: Period) -> list[StageTime]:
    """Count and mean from the per-month hours table; the median exactly, as the middle completion (or the
    mean of the two middle ones): the hours say which hour of wait holds it and its rank there, and the
    group index of task_wait is read at that rank, within that hour's waits only."""
    months = period.months()
    keys = (WorkflowDefinition.name, TaskWaitHour.task_title, TaskWaitHour.role)
    n = func.sum(TaskWaitHour.n)
    query = (
        select(*keys, TaskWaitHour.hour, n, func.sum(TaskWaitHour.seconds))
        .join(WorkflowDefinition, WorkflowDefinition.id == TaskWaitHour.definition_id)
        .where(TaskWaitHour.month >= months[0], TaskWaitHour.month <= months[-1])
        .group_by(*keys, TaskWaitHour.hour)
        .having(n > 0)  # an application moved to another version leaves emptied rows behind
        .order_by(*keys, TaskWaitHour.hour)
    )
    groups: dict[tuple[str, str, str], tuple[Hours, int]] = {}
    for procedure, task, role, hour, count, seconds in session.execute(query):
        hours, total = groups.get((procedure, task, role), ([], 0))
        groups[(procedure, task, role)] = ([*hours, (hour, int(count))], total + int(seconds))
    times = []
    for key, (hours, total) in groups.items():
        count = sum(n for _, n in hours)
        middle = [_wait_at(session, key, period, hours, rank) for rank in sorted({(count + 1) // 2, count // 2 + 1})]
        median = sum(middle) / len(middle)
        times.append(StageTime(*key, count, round(total / count / 3600, 1), round(median / 3600, 1)))
    return times


def _wait_at(session: Session, key: tuple[str, str, str], period: Period, hours: Hours, rank: int) -> int:
    """The group's `rank`-th shortest wait (from 1) in the period: read in the hour of waits that holds it."""
    ends = list(accumulate(count for _, count in hours))  # how many waits up to the end of each hour
    index = bisect_left(ends, rank)
    hour, before = hours[index][0], ends[index - 1] if index else 0
    procedure, task, role = key
    # An hour is the waits that truncate to it (waited_seconds / 3600 in SQL): hour 0 also holds short negatives,
    # which a clock set back may give.
    low, high = hour * 3600 - (3599 if hour <= 0 else 0), hour * 3600 + (3599 if hour >= 0 else 0)
    query = (
        select(TaskWait.waited_seconds)
        .join(WorkflowDefinition, WorkflowDefinition.id == TaskWait.definition_id)
        .where(
            WorkflowDefinition.name == procedure,
            TaskWait.task_title == task,
            TaskWait.role == role,
            TaskWait.waited_seconds.between(low, high),
            TaskWait.at >= period.start,
            TaskWait.at < period.end,
        )
        .order_by(TaskWait.waited_seconds)
        .offset(rank - before - 1)
        .limit(1)
    )
    return int(session.execute(query).scalar_one())


def months(session: Session, scope: Scope, period: Period) -> list[Month]:
    """Per month: domains registered (first active day), and fees collected (编办 确认收费): count and yuan.
    Each month is its own range of ix_domain_registered_on and ix_charge_collected_at: the rows are counted in
    the index, no month is computed per row."""
    bounds = _month_bounds(period)
    registrations = (
        select(bounds.c.month, func.count())
        .select_from(bounds)
        .join(Domain, and_(Domain.registered_on >= bounds.c.first_day, Domain.registered_on < bounds.c.end_day))
        .where(*scope.unit_filter(Domain.unit_id))
        .group_by(bounds.c.month)
    )
    fees = (
        select(bounds.c.month, func.count(), func.sum(Charge.amount_yuan))
        .select_from(bounds)
        .join(Charge, and_(Charge.collected_at >= bounds.c.start, Charge.collected_at < bounds.c.end))
        .where(*scope.unit_filter(Charge.unit_id))
        .group_by(bounds.c.month)
    )
    domains = {month: int(n) for month, n in session.execute(registrations)}
    charges = {month: (int(n), int(total)) for month, n, total in session.execute(fees)}
    return [Month(m, domains.get(m, 0), *charges.get(m, (0, 0))) for m in period.months()]


def _month_bounds(period: Period) -> Subquery:
    """A row per month of the period: YYYY-MM, its first day and the next month's, and their Beijing midnights."""
    rows = []
    for n in range(period.length):
        month = Period(month_start(period.first, n), month_start(period.first, n))
        rows.append(
            select(
                literal(month.first.strftime("%Y-%m")).label("month"),
                literal(month.first, Date).label("first_day"),
                literal(month.end_day, Date).label("end_day"),
                literal(month.start, UTCDateTime()).label("start"),
                literal(month.end, UTCDateTime()).label("end"),
            )
        )
    return union_all(*rows).subquery()
