"""统计: what a 编办's jurisdiction, or for CONAC the whole country, did over a period of Beijing months.

Every figure is one GROUP BY query: no application, domain, charge or audit row is loaded into Python, only
the groups. Cost is bounded by the period (the web layer allows at most MAX_MONTHS; the default is the last
DEFAULT_MONTHS) on indexed timestamps; the two current states, open reviews past their due time and 逾期未挂标,
are counted over the open work items and the placement rows, which are small by nature.

Jurisdiction (app/services/jurisdiction.py): a 编办 counts the units its office answers for (its region and
the regions below it without an office of their own) and, for applications, also every application its office
has had a task of (a provincial office that a diagram's `province` routing sends tasks to). CONAC counts all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select, union
from sqlalchemy.orm import Session, aliased

from app.models import (
    AuditEvent,
    Certificate,
    Charge,
    Domain,
    InstanceOffice,
    Office,
    PlacementStatus,
    ProcessInstance,
    Region,
    Unit,
    WorkflowDefinition,
    WorkItem,
)
from app.models.account import BIANBAN_ROLE, CONAC_ROLE, UNIT_ROLE
from app.models.workflow import PROVISIONAL_KEY
from app.services import jurisdiction, placement
from app.services.calendar import BEIJING
from app.services.dashboard_sql import beijing_month, date_month

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

    def unit_filter(self, unit_id: Any) -> list[ColumnElement[bool]]:
        return [] if self.units is None else [unit_id.in_(self.units)]

    def application_filter(self, instance_id: Any = ProcessInstance.id) -> list[ColumnElement[bool]]:
        """On an application id: its unit is answered for, or the office has had a task of it. One list of ids
        from two indexes (process_instance.unit_id, instance_office.office_code), not an OR over every row."""
        if self.units is None:
            return []
        other = aliased(ProcessInstance)
        ids = union(
            select(other.id).where(other.unit_id.in_(self.units)),
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
    return Scope(office, jurisdiction.office_units(session, office.code), digits)


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
    return _counts(session, _applications(scope, period, WorkflowDefinition.name))


def applications_by_stage(session: Session, scope: Scope, period: Period) -> list[Count]:
    return _counts(session, _applications(scope, period, ProcessInstance.stage))


def applications_by_region(session: Session, scope: Scope, period: Period) -> list[Count]:
    return _counts(session, _applications(scope, period, _region_key(scope), by_region=True))


def _counts(session: Session, query: Select[Any]) -> list[Count]:
    return [Count(label or "", int(count)) for label, count in session.execute(query)]


def _applications(scope: Scope, period: Period, key: Any, by_region: bool = False) -> Select[Any]:
    """Applications started in the period, counted by `key`. Only numbered ones: a unit's unsent draft (and an
    abandoned application, never numbered) is nobody's business yet."""
    count = func.count(ProcessInstance.id)
    label = func.coalesce(Region.name, key) if by_region else key
    query = (
        select(label, count)
        .select_from(ProcessInstance)
        .join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
        .where(
            ProcessInstance.business_key.not_like(f"{PROVISIONAL_KEY}%"),
            ProcessInstance.created_at >= period.start,
            ProcessInstance.created_at < period.end,
            *scope.application_filter(),
        )
    )
    if by_region:
        query = query.join(Unit, Unit.id == ProcessInstance.unit_id).outerjoin(Region, Region.code == key)
        return query.group_by(key, Region.name).order_by(count.desc(), key)
    return query.group_by(key).order_by(count.desc(), key)


def _region_key(scope: Scope) -> ColumnElement[str]:
    """The unit's region at the level below the office's, as a full 6-digit code (150621 → 150600 for CONAC's
    provinces it is 150000)."""
    if scope.region_digits >= REGION_DIGITS:
        return Unit.region_code
    return func.substr(Unit.region_code, 1, scope.region_digits) + "0" * (REGION_DIGITS - scope.region_digits)


def overdue_badges(session: Session, scope: Scope) -> list[Count]:
    """逾期未挂标 now, by region."""
    key = _region_key(scope)
    count = func.count(PlacementStatus.certificate_id)
    query = (
        select(func.coalesce(Region.name, key), count)
        .select_from(PlacementStatus)
        .join(Certificate, Certificate.id == PlacementStatus.certificate_id)
        .join(Unit, Unit.id == Certificate.unit_id)
        .outerjoin(Region, Region.code == key)
        .where(*placement.overdue_conditions(), *scope.unit_filter(Unit.id))
        .group_by(key, Region.name)
        .order_by(count.desc(), key)
    )
    return _counts(session, query)


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
    median per procedure, task and role. The wait is in each completion's audit detail (the runner records it).
    PostgreSQL has the median as an aggregate (percentile_cont); SQLite ranks each group with window functions
    and takes the middle row, or the mean of the two middle rows (both give the same number)."""
    hours = AuditEvent.detail["waited_seconds"].as_float() / 3600.0
    keys = (WorkflowDefinition.name, AuditEvent.task_title, AuditEvent.role)
    completions = (
        select()
        .select_from(AuditEvent)
        .join(ProcessInstance, ProcessInstance.id == AuditEvent.instance_id)
        .join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
        .where(
            AuditEvent.action == "complete",
            AuditEvent.at >= period.start,
            AuditEvent.at < period.end,
            hours.is_not(None),
            *scope.application_filter(),
        )
    )
    if session.get_bind().dialect.name == "postgresql":
        median = func.percentile_cont(0.5).within_group(hours)
        query = completions.add_columns(*keys, func.count(), func.avg(hours), median).group_by(*keys).order_by(*keys)
    else:
        query = _ranked_median(completions, keys, hours)
    return [
        StageTime(procedure, task or "", role, int(n), round(float(mean), 1), round(float(median), 1))
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


def months(session: Session, scope: Scope, period: Period) -> list[Month]:
    """Per month: domains registered (first active day), and fees collected (编办 确认收费): count and yuan."""
    registered = date_month(Domain.registered_on)
    registrations = (
        select(registered, func.count(Domain.id))
        .where(
            Domain.registered_on >= period.first,
            Domain.registered_on < period.end_day,
            *scope.unit_filter(Domain.unit_id),
        )
        .group_by(registered)
    )
    collected = beijing_month(Charge.collected_at)
    fees = (
        select(collected, func.count(Charge.id), func.sum(Charge.amount_yuan))
        .where(
            Charge.collected_at >= period.start, Charge.collected_at < period.end, *scope.unit_filter(Charge.unit_id)
        )
        .group_by(collected)
    )
    domains = {month: int(n) for month, n in session.execute(registrations)}
    charges = {month: (int(n), int(total)) for month, n, total in session.execute(fees)}
    return [Month(m, domains.get(m, 0), *charges.get(m, (0, 0))) for m in period.months()]
