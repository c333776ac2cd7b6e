"""工作日 counting for the publicity rules (RULES.md "Publicity"; admin_config/calendar.yaml)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.workdays import _calendar_from


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
