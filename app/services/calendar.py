"""Chinese working-day calendar: chinesecalendar, then the admin table, then a Mon–Fri estimate.

Deadlines count working days after the start day; the start day itself is not counted
(民法典 第201条). chinese_calendar.find_workday is avoided because it counts the first working
day as day 0 when the start is not a working day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import select

from app.extensions import db
from app.models.calendar import CalendarDay

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class WorkdayResult:
    """A computed day; estimated=True when a day on the way was guessed as Mon–Fri."""

    day: date
    estimated: bool


class _AdminYears:
    """The admin table's rows, loaded once per year for the lifetime of one calculation."""

    def __init__(self) -> None:
        self._years: dict[int, dict[date, bool]] = {}

    def rows(self, year: int) -> dict[date, bool]:
        if year not in self._years:
            self._years[year] = _load_year(year)
        return self._years[year]


def _load_year(year: int) -> dict[date, bool]:
    stmt = select(CalendarDay.day, CalendarDay.is_workday).where(
        CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))
    )
    return {day: flag for day, flag in db.session.execute(stmt)}


def _classify(day: date, admin: _AdminYears) -> tuple[bool, bool]:
    """Return (is_workday, estimated) for one day."""
    rows = admin.rows(day.year)
    # An admin row wins even in covered years, so wrong library data can be corrected.
    if day in rows:
        return rows[day], False
    try:
        return chinese_calendar.is_workday(day), False
    except NotImplementedError:
        pass
    # Any admin row for the year means the admin has entered that year's schedule.
    return day.weekday() < 5, not rows


def is_workday(day: date) -> bool:
    """Whether `day` is a working day in mainland China."""
    return _classify(day, _AdminYears())[0]


def add_workdays(start: date, n: int) -> WorkdayResult:
    """The n-th working day after `start`, not counting `start` itself."""
    if n < 0:
        raise ValueError("n must not be negative")
    admin = _AdminYears()
    day, counted, estimated = start, 0, False
    while counted < n:
        day += timedelta(days=1)
        workday, guessed = _classify(day, admin)
        estimated = estimated or guessed
        if workday:
            counted += 1
    return WorkdayResult(day=day, estimated=estimated)


def to_beijing_date(moment: datetime) -> date:
    """The calendar date in Beijing of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime; pass an aware datetime")
    return moment.astimezone(BEIJING).date()


def is_estimated(day: date) -> bool:
    """Whether working days around `day` are guessed (no library data and no admin rows for its year)."""
    return _classify(day, _AdminYears())[1]
