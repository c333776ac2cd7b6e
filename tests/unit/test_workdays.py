"""工作日 counting for the publicity rules (RULES.md "Publicity"; admin_config/calendar.yaml)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.reference.workdays import _calendar_from


@pytest.fixture
def calendar():
    return _calendar_from(str(Path(__file__).resolve().parents[2] / "admin_config"))


def test_a_plain_week_has_five_working_days(calendar) -> None:
    assert calendar.working_days_between(date(2026, 11, 23), date(2026, 11, 29)) == 5  # Monday to Sunday


def test_public_holidays_are_skipped_and_makeup_weekends_count(calendar) -> None:
    # 国庆节 2026: 10-01 … 10-07 off, Saturday 10-10 worked.
    assert calendar.working_days_between(date(2026, 10, 1), date(2026, 10, 7)) == 0
    assert calendar.is_working_day(date(2026, 10, 10))
    # 9-28, 9-29, 9-30, 10-08, 10-09 and the worked Saturday 10-10
    assert calendar.working_days_between(date(2026, 9, 28), date(2026, 10, 10)) == 6


def test_end_before_start_counts_nothing(calendar) -> None:
    assert calendar.working_days_between(date(2026, 11, 27), date(2026, 11, 23)) == 0


def test_the_publicity_default_is_five_working_days(calendar) -> None:
    assert calendar.publicity_working_days == 5


def test_a_malformed_calendar_is_refused(tmp_path) -> None:
    (tmp_path / "calendar.yaml").write_text("publicity_working_days: 5\nholidays: [not-a-date]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="holidays"):
        _calendar_from(str(tmp_path))


def test_the_2026_list_matches_the_state_council_notice(calendar) -> None:
    # 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04): 春节 2-15 … 2-23 off, Saturdays 2-14 and 2-28 worked.
    assert [d.day for d in sorted(calendar.holidays) if d.month == 2] == [16, 17, 18, 19, 20, 23]
    assert calendar.is_working_day(date(2026, 2, 14)) and calendar.is_working_day(date(2026, 2, 28))
    assert calendar.working_days_between(date(2026, 2, 9), date(2026, 2, 27)) == 10  # 2-9…13, 2-14, 2-24…27


def test_a_year_without_a_list_is_named(calendar) -> None:
    assert calendar.coverage_notice(date(2026, 12, 20), date(2026, 12, 31)) == ""
    assert calendar.uncovered_years(date(2026, 12, 25), date(2027, 1, 8)) == [2027]
    assert "2027 年的节假日安排尚未配置" in calendar.coverage_notice(date(2026, 12, 25), date(2027, 1, 8))
    # Counted Monday to Friday meanwhile: 2027-01-01 is a Friday.
    assert calendar.working_days_between(date(2027, 1, 1), date(2027, 1, 8)) == 6
