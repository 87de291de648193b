"""Who handles and who sees what: routing a task to an office, and the records each user may open.

Routing is data. A lane of a diagram names a role (a row of `role`) and may carry a `routing`
property saying which office of that role gets its tasks:

- `own` (regional roles' default): the office of the unit's region, or failing that of the
  nearest region above it (county → city → province);
- `province`: the office of the unit's province;
- `office:<code>`: one fixed office;
- national roles (CONAC, 电子政务中心) have one office for the whole country, their default.

A unit sees its own applications, except those it gave up before submitting them. A reviewer sees
the submitted applications of units in its office's region and every application its office has ever
had a task of; a national office sees every submitted one. An application is submitted once it has its
number: before, it is the unit's draft.
Anything else is simply not found (404), so nothing about it leaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from app.models import InstanceOffice, Office, ProcessInstance, Role, Unit, WorkItem
from app.models.account import BIANBAN_ROLE, UNIT_ROLE
from app.models.workflow import ABANDONED, PROVISIONAL_KEY

OWN, PROVINCE, FIXED = "own", "province", "office:"
REGIONAL, NATIONAL = "regional", "national"


class RoutingError(LookupError):
    """No office is configured for a task: the message names role and region for the administrator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def route(session: Session, unit: Unit, role: str, routing: str = "") -> str | None:
    """The office code a task of `role` goes to for this unit; None for the unit's own lane."""
    if role == UNIT_ROLE:
        return None
    if routing.startswith(FIXED):
        return _fixed(session, routing.removeprefix(FIXED))
    if _scope(session, role) == NATIONAL:
        return _national(session, role)
    region = unit.region_code[:2] + "0000" if routing == PROVINCE else unit.region_code
    return _nearest(session, role, region)


def routing_problem(session: Session, routing: str) -> str | None:
    """Why a lane's routing property is not usable, or None."""
    if routing in ("", OWN, PROVINCE):
        return None
    if routing.startswith(FIXED):
        code = routing.removeprefix(FIXED)
        if session.scalar(select(Office.id).where(Office.code == code)) is None:
            return f"routing 指定的机构 {code} 不存在（请先在系统管理中建立该机构）"
        return None
    return f"routing 须为 own（本级）、province（本省）或 office:机构代码，当前为 {routing}"


def lane_problems(compiled: Any, session: Session) -> list[tuple[str, str]]:
    """Deploy check: every lane with tasks names an acting role, and its routing is usable."""
    acting = set(roles_by_audience(session, "unit", "reviewer"))
    problems = []
    for name, lane_id in compiled.lane_ids.items():
        if name not in acting:
            known = "、".join(sorted(acting))
            problems.append((lane_id, f"泳道“{name}”不是办理角色（可用角色：{known}；新角色须先在系统中建立）"))
        reason = routing_problem(session, compiled.routing(name))
        if reason:
            problems.append((lane_id, reason))
    return problems


def roles_by_audience(session: Session, *audiences: str) -> list[str]:
    return list(session.scalars(select(Role.name).where(Role.audience.in_(audiences)).order_by(Role.name)))


def _scope(session: Session, role: str) -> str:
    scope = session.scalar(select(Role.scope).where(Role.name == role))
    if scope is None:
        raise RoutingError(f"角色“{role}”不存在")
    return scope


def _fixed(session: Session, code: str) -> str:
    if session.scalar(select(Office.id).where(Office.code == code)) is None:
        raise RoutingError(f"流程图指定的机构 {code} 不存在")
    return code


def _national(session: Session, role: str) -> str:
    codes = list(session.scalars(select(Office.code).where(Office.kind == role).order_by(Office.id).limit(2)))
    if len(codes) != 1:
        raise RoutingError(f"“{role}”须有且只有一个全国性机构，当前有 {len(codes)} 个")
    return codes[0]


def _nearest(session: Session, role: str, region_code: str) -> str:
    """The office of `role` for the region, or the nearest one above it (GB/T 2260 codes nest by prefix)."""
    candidates = [region_code, region_code[:4] + "00", region_code[:2] + "0000"]
    query = select(Office.region_code, Office.code).where(Office.kind == role, Office.region_code.in_(candidates))
    offices = {region: code for region, code in session.execute(query)}
    for region in dict.fromkeys(candidates):
        if region in offices:
            return offices[region]
    raise RoutingError(f"没有负责地区 {region_code} 的“{role}”机构（请在系统管理中建立）")


# ---- who sees what ---------------------------------------------------------------------------


def visible_instances(user: Any) -> Select[tuple[ProcessInstance]]:
    """Applications the user may open."""
    return select(ProcessInstance).where(instance_visibility(user).condition)


@dataclass(frozen=True)
class Visibility:
    """Which applications a user may open: those meeting `every`, and one of `either` (if any).

    Apart, the alternatives let a list read each from its own index in its own order (application_search
    reads a 编办's region and its office's applications newest first), where their OR reads everything."""

    every: ColumnElement[bool]
    either: tuple[ColumnElement[bool], ...] = ()

    @property
    def condition(self) -> ColumnElement[bool]:
        return and_(self.every, or_(*self.either)) if self.either else self.every

    @property
    def parts(self) -> tuple[ColumnElement[bool], ...]:
        """Conditions whose OR is `condition`, each readable from an index of its own."""
        return tuple(and_(self.every, part) for part in self.either) or (self.every,)


def instance_visibility(user: Any) -> Visibility:
    if user.role == UNIT_ROLE:
        return Visibility(and_(ProcessInstance.unit_id == user.unit_id, ProcessInstance.status != ABANDONED))
    numbered = ProcessInstance.business_key.not_like(f"{PROVISIONAL_KEY}%")
    office = user.office
    if office is None or office.kind != user.role:
        return Visibility(ProcessInstance.id.is_(None))
    if office.region_code is None:  # a national office
        return Visibility(numbered)
    # The application carries its unit's region (a copy kept by triggers, migration fj13a0000006), and the
    # other test looks at its own instance_office rows: a search or list that meets a few candidates pays a
    # few probes, never a set of every unit of the region built first.
    in_region = ProcessInstance.region_code == office.region_code
    had_a_task = exists().where(
        InstanceOffice.instance_id == ProcessInstance.id, InstanceOffice.office_code == office.code
    )
    return Visibility(numbered, (in_region, had_a_task))


def visible_work_items(user: Any) -> Select[tuple[WorkItem]]:
    """Open tasks the user may act on: the unit's own, or those of the user's role and office."""
    query = select(WorkItem)
    if user.role == UNIT_ROLE:
        return query.where(WorkItem.role == UNIT_ROLE, WorkItem.unit_id == user.unit_id)
    return query.where(WorkItem.role == user.role, WorkItem.office_code == user.office_code)


def instance_for(session: Session, user: Any, business_key: str) -> ProcessInstance | None:
    query = visible_instances(user).where(ProcessInstance.business_key == business_key)
    return session.scalar(query)


def work_item_for(session: Session, user: Any, item_id: int) -> WorkItem | None:
    return session.scalar(visible_work_items(user).where(WorkItem.id == item_id))


# ---- the units an office answers for (maintenance, domain queries, fees) ----------------------


def office_units(session: Session, office_code: str | None) -> Select[tuple[int]]:
    """Ids of the units whose tasks of the office's kind go to this office (see `route`): the units of its
    region and of the regions below it that have no office of that kind nearer to them. A national office
    answers for every unit; an unknown office for none."""
    return select(Unit.id).where(*office_regions(session, office_code, Unit.region_code))


def office_regions(session: Session, office_code: str | None, column: Any) -> list[ColumnElement[bool]]:
    """The conditions on a region-code `column` (a unit's, or the copy on its domains) that select what the
    office answers for, as `office_units` says; none for a national office.

    The region is a range of codes and the nearer offices (a short list, read first) cut pieces out of
    it, so the database reads the rows off an index on the column instead of testing every row."""
    regions = office_region_cut(session, office_code)
    return [] if regions is None else regions.conditions(column)


@dataclass(frozen=True)
class RegionCut:
    """The region codes an office answers for: its region's range of six-digit codes, with the pieces cut out
    that nearer offices of its kind answer for (a city office's whole city, a county office's county)."""

    span: tuple[str, str] | None  # None: an unknown office, which answers for nothing
    pieces: tuple[tuple[str, str], ...] = ()

    def conditions(self, column: Any) -> list[ColumnElement[bool]]:
        """One range of an index on `column`, the pieces tested on the rows read."""
        if self.span is None:
            return [false()]
        return [column.between(*self.span), *(_outside(column, low, high) for low, high in self.pieces)]

    def range_conditions(self, column: Any) -> list[ColumnElement[bool]]:
        """Each of `ranges` as a condition on `column`, to be read on its own (whose OR is the jurisdiction)."""
        return [column.between(low, high) for low, high in self.ranges()]

    def ranges(self) -> list[tuple[str, str]]:
        """What is left once the pieces are cut out, as disjoint ranges in order: each read off an index
        without stepping over the nearer offices' rows (a city office's own ones are a tenth of its city's)."""
        if self.span is None:
            return []
        left, low, high = [], int(self.span[0]), int(self.span[1])  # GB/T 2260 codes: six digits
        for piece_low, piece_high in sorted((int(a), int(b)) for a, b in self.pieces):
            if piece_low > low:
                left.append((low, min(high, piece_low - 1)))
            low = max(low, piece_high + 1)
        if low <= high:
            left.append((low, high))
        return [(f"{a:06d}", f"{b:06d}") for a, b in left]


def office_region_cut(session: Session, office_code: str | None) -> RegionCut | None:
    """The office's region and the pieces nearer offices take (see `office_units`); None for a national office."""
    office = session.scalar(select(Office).where(Office.code == office_code)) if office_code else None
    if office is None:
        return RegionCut(None)
    if office.region_code is None:
        return None
    prefix = region_prefix(office.region_code)
    nearer = session.scalars(
        select(Office.region_code).where(
            Office.kind == office.kind,
            Office.region_code != office.region_code,
            Office.region_code.startswith(prefix),
        )
    )
    # a county office takes its county; a city office its city and the counties in it
    pieces = (_codes_span(region[:4] if region.endswith("00") else region) for region in nearer if region)
    return RegionCut(_codes_span(prefix), tuple(pieces))


def _codes_span(prefix: str) -> tuple[str, str]:
    """Region codes (six digits) starting with `prefix`, as a range any collation can read from an index."""
    return prefix.ljust(6, "0"), prefix.ljust(6, "9")


def _outside(column: Any, low: str, high: str) -> ColumnElement[bool]:
    return column != low if low == high else ~column.between(low, high)  # type: ignore[no-any-return]


def unit_for(session: Session, user: Any, unit_id: int) -> Unit | None:
    """The unit, if the user answers for it: a unit account its own, a 编办 the units of its jurisdiction."""
    if user.role == UNIT_ROLE:
        return session.get(Unit, unit_id) if unit_id == user.unit_id else None
    if user.role != BIANBAN_ROLE:
        return None
    return session.scalar(select(Unit).where(Unit.id == unit_id, Unit.id.in_(office_units(session, user.office_code))))


def visible_units(session: Session, user: Any) -> Select[tuple[int]]:
    """Ids of the units whose domains and fees the user sees (their own, or a 编办's jurisdiction)."""
    if user.role == UNIT_ROLE:
        return select(Unit.id).where(Unit.id == user.unit_id)
    if user.role != BIANBAN_ROLE:
        return select(Unit.id).where(Unit.id.is_(None))
    return office_units(session, user.office_code)


def region_prefix(code: str) -> str:
    """GB/T 2260 codes pad with zeros: 150000 (province) covers 15xxxx, 150600 (city) 1506xx."""
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def fee_office(session: Session, unit: Unit) -> str:
    """The 同级编办, which collects a unit's fees and receives its paper materials."""
    return route(session, unit, BIANBAN_ROLE) or ""
