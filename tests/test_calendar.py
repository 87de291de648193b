"""Working-day calendar: 民法典 第201条 counting, 调休, and fallbacks beyond chinesecalendar."""

from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.models.calendar import CalendarDay
from app.services.calendar import (
    WorkdayCalendar,
    WorkdayResult,
    add_workdays,
    add_years,
    admin_overrides,
    is_workday,
    to_beijing_date,
)


@pytest.fixture
def db_session(app: Flask) -> Session:
    return db.session


def add_admin_days(session: Session, *days: tuple[date, bool]) -> None:
    session.add_all(CalendarDay(day=day, is_workday=flag, note="") for day, flag in days)
    session.commit()


# --- Covered years (chinesecalendar) ---


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 10, 10), True),  # Saturday, 调休 for 国庆
        (date(2026, 2, 14), True),  # Saturday, 调休 for 春节
        (date(2026, 2, 28), True),  # Saturday, 调休 for 春节
        (date(2026, 2, 16), False),  # Monday in the 春节 holiday
        (date(2026, 10, 1), False),  # 国庆
        (date(2026, 11, 20), True),  # ordinary Friday
        (date(2026, 11, 21), False),  # ordinary Saturday
    ],
)
def test_covered_years_follow_the_state_council_schedule(db_session: Session, day: date, expected: bool) -> None:
    assert is_workday(day) is expected


def test_five_workdays_after_30_september_2026_end_on_13_october(db_session: Session) -> None:
    # 10-01..10-07 are holidays, 10-10 (Saturday) is worked: 10-08, 10-09, 10-10, 10-12, 10-13.
    assert add_workdays(date(2026, 9, 30), 5) == WorkdayResult(date(2026, 10, 13), estimated=False)


def test_a_saturday_start_counts_from_the_next_working_day(db_session: Session) -> None:
    # chinese_calendar.find_workday(5, ...) gives 2026-11-30 here; the start day is never day 0.
    assert add_workdays(date(2026, 11, 21), 5) == WorkdayResult(date(2026, 11, 27), estimated=False)


def test_zero_workdays_is_the_start_day_itself(db_session: Session) -> None:
    assert add_workdays(date(2026, 11, 21), 0) == WorkdayResult(date(2026, 11, 21), estimated=False)


def test_a_negative_count_is_refused(db_session: Session) -> None:
    with pytest.raises(ValueError):
        add_workdays(date(2026, 11, 20), -1)


def test_an_admin_row_overrides_chinesecalendar_for_that_exact_day(db_session: Session) -> None:
    add_admin_days(db_session, (date(2026, 11, 20), False))
    assert not is_workday(date(2026, 11, 20))
    assert is_workday(date(2026, 11, 19))
    assert add_workdays(date(2026, 11, 19), 1) == WorkdayResult(date(2026, 11, 23), estimated=False)


# --- Uncovered years: admin table, else a Mon–Fri estimate ---


def test_uncovered_year_without_admin_rows_is_monday_to_friday_and_estimated(db_session: Session) -> None:
    assert is_workday(date(2027, 1, 1))  # a Friday; really 元旦, hence "estimated"
    assert not is_workday(date(2027, 1, 2))
    assert add_workdays(date(2026, 12, 31), 1) == WorkdayResult(date(2027, 1, 1), estimated=True)


def test_a_deadline_crossing_into_an_uncovered_year_is_estimated(db_session: Session) -> None:
    assert add_workdays(date(2026, 12, 30), 3) == WorkdayResult(date(2027, 1, 4), estimated=True)


def test_admin_rows_make_an_uncovered_year_authoritative(db_session: Session) -> None:
    add_admin_days(db_session, (date(2027, 1, 1), False), (date(2027, 2, 20), True))
    assert not is_workday(date(2027, 1, 1))
    assert is_workday(date(2027, 2, 20))  # a listed Saturday: 调休
    assert is_workday(date(2027, 3, 3))  # an unlisted Wednesday
    assert not is_workday(date(2027, 3, 6))  # an unlisted Saturday
    assert add_workdays(date(2026, 12, 31), 1) == WorkdayResult(date(2027, 1, 4), estimated=False)


def test_admin_rows_for_one_year_do_not_vouch_for_the_next(db_session: Session) -> None:
    add_admin_days(db_session, (date(2027, 1, 1), False))
    assert add_workdays(date(2027, 12, 30), 2) == WorkdayResult(date(2028, 1, 3), estimated=True)


def test_admin_rows_are_loaded_once_per_year_per_calculation(db_session: Session) -> None:
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        add_workdays(date(2026, 12, 1), 40)  # spans 2026 and 2027
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(statements) == 2


def test_all_admin_rows_are_what_the_script_sandbox_is_sent(db_session: Session) -> None:
    add_admin_days(db_session, (date(2026, 11, 20), False), (date(2027, 2, 20), True))
    assert admin_overrides() == {date(2026, 11, 20): False, date(2027, 2, 20): True}
    assert admin_overrides(2027) == {date(2027, 2, 20): True}


# --- The pure rule over given overrides (what the script sandbox's worker uses) ---


def test_the_pure_calendar_follows_the_overrides_it_is_given() -> None:
    calendar = WorkdayCalendar.of({date(2026, 11, 20): False, date(2027, 1, 1): False})
    assert calendar.add_workdays(date(2026, 11, 19), 1) == WorkdayResult(date(2026, 11, 23), estimated=False)
    assert calendar.add_workdays(date(2026, 12, 31), 1) == WorkdayResult(date(2027, 1, 4), estimated=False)
    without = WorkdayCalendar.of({})
    assert without.add_workdays(date(2026, 12, 31), 1) == WorkdayResult(date(2027, 1, 1), estimated=True)


def test_adding_years_to_29_february_gives_28_february() -> None:
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert add_years(date(2026, 9, 30), 2) == date(2028, 9, 30)


# --- Beijing dates ---


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 9, 30, 15, 59, tzinfo=UTC), date(2026, 9, 30)),
        (datetime(2026, 9, 30, 16, 0, tzinfo=UTC), date(2026, 10, 1)),
    ],
)
def test_beijing_date_is_utc_plus_eight(moment: datetime, expected: date) -> None:
    assert to_beijing_date(moment) == expected


def test_beijing_date_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError):
        to_beijing_date(datetime(2026, 9, 30, 16, 0))
