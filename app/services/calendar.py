"""Chinese working-day calendar: chinesecalendar, then the admin table, then a Mon–Fri estimate.

Deadlines count working days after the start day; the start day itself is not counted
(民法典 第201条). chinese_calendar.find_workday is avoided because it counts the first working
day as day 0 when the start is not a working day.

`WorkdayCalendar` is the pure rule over given admin overrides; the module functions read the
overrides from the admin table. The script sandbox's worker process uses the pure part alone,
so this module imports nothing of the database at load time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class WorkdayResult:
    """A computed day; estimated=True when a day on the way was guessed as Mon–Fri."""

    day: date
    estimated: bool


class WorkdayCalendar:
    """Working days from chinesecalendar and admin overrides, asked for one year at a time."""

    def __init__(self, overrides_of_year: Callable[[int], Mapping[date, bool]]) -> None:
        self._overrides_of_year = overrides_of_year

    @classmethod
    def of(cls, overrides: Mapping[date, bool]) -> WorkdayCalendar:
        """A calendar over all admin overrides at once, e.g. as sent to the script sandbox."""
        years: dict[int, dict[date, bool]] = {}
        for day, flag in overrides.items():
            years.setdefault(day.year, {})[day] = flag
        return cls(lambda year: years.get(year, {}))

    def classify(self, day: date) -> tuple[bool, bool]:
        """Return (is_workday, estimated) for one day."""
        rows = self._overrides_of_year(day.year)
        # An admin row wins even in covered years, so wrong library data can be corrected.
        if day in rows:
            return rows[day], False
        try:
            return chinese_calendar.is_workday(day), False
        except NotImplementedError:
            pass
        # Any admin row for the year means the admin has entered that year's schedule.
        return day.weekday() < 5, not rows

    def add_workdays(self, start: date, n: int) -> WorkdayResult:
        """The n-th working day after `start`, not counting `start` itself."""
        if n < 0:
            raise ValueError("n must not be negative")
        day, counted, estimated = start, 0, False
        while counted < n:
            day += timedelta(days=1)
            workday, guessed = self.classify(day)
            estimated = estimated or guessed
            if workday:
                counted += 1
        return WorkdayResult(day=day, estimated=estimated)


def admin_overrides(year: int | None = None) -> dict[date, bool]:
    """The admin table's rows: of one year, or all of them (what the script sandbox is sent)."""
    # Imported here so the sandbox worker can load this module without SQLAlchemy and Flask.
    from sqlalchemy import select

    from app.extensions import db
    from app.models.calendar import CalendarDay

    stmt = select(CalendarDay.day, CalendarDay.is_workday)
    if year is not None:
        stmt = stmt.where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
    return {day: flag for day, flag in db.session.execute(stmt)}


def _admin_calendar() -> WorkdayCalendar:
    """A calendar over the admin table that loads each year once, for one calculation."""
    years: dict[int, dict[date, bool]] = {}

    def overrides_of_year(year: int) -> dict[date, bool]:
        if year not in years:
            years[year] = admin_overrides(year)
        return years[year]

    return WorkdayCalendar(overrides_of_year)


def is_workday(day: date) -> bool:
    """Whether `day` is a working day in mainland China."""
    return _admin_calendar().classify(day)[0]


def add_workdays(start: date, n: int) -> WorkdayResult:
    """The n-th working day after `start`, not counting `start` itself."""
    return _admin_calendar().add_workdays(start, n)


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def to_beijing_date(moment: datetime) -> date:
    """The calendar date in Beijing of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime; pass an aware datetime")
    return moment.astimezone(BEIJING).date()


def is_estimated(day: date) -> bool:
    """Whether working days around `day` are guessed (no library data and no admin rows for its year)."""
    return _admin_calendar().classify(day)[1]
