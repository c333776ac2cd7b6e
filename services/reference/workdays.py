"""工作日 (RULES.md "Publicity"): weekends and the configured public holidays are not working days.

admin_config/calendar.yaml lists the holidays and the 调休 weekend working days of each year it covers; the
publicity rules (申报公示, 结果公示) count working days with `working_days_between`. A year with no list is counted
Monday to Friday, and `uncovered_years` names it so the pages can say so (the State Council publishes the next
year's list each November; the platform administrator adds it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from flask import current_app


@dataclass(frozen=True)
class Calendar:
    publicity_working_days: int
    holidays: frozenset[date]
    extra_working_days: frozenset[date]
    years: frozenset[int]  # the years whose holidays are listed

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def working_days_between(self, start: date, end: date) -> int:
        """Working days from `start` to `end`, both included (0 when end is before start)."""
        count, day = 0, start
        while day <= end:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def uncovered_years(self, start: date, end: date) -> list[int]:
        """The years from `start` to `end` whose holidays the calendar does not list."""
        return [year for year in range(start.year, end.year + 1) if year not in self.years]

    def coverage_notice(self, start: date, end: date) -> str:
        """A warning for pages where working days are counted, when a year in the range has no holiday list."""
        missing = self.uncovered_years(start, end)
        if not missing:
            return ""
        years = "、".join(f"{year} 年" for year in missing)
        return (f"{years}的节假日安排尚未配置，工作日暂按周一至周五计算；"
                "请平台管理员在 admin_config/calendar.yaml 中补充当年的放假和调休日期。")


def _dates(raw: object, key: str) -> frozenset[date]:
    values = raw or []
    if not isinstance(values, list) or not all(isinstance(v, date) for v in values):
        raise ValueError(f"calendar.yaml: {key} must be a list of dates (YYYY-MM-DD)")
    return frozenset(values)


@lru_cache(maxsize=4)
def _calendar_from(config_dir: str) -> Calendar:
    raw = yaml.safe_load((Path(config_dir) / "calendar.yaml").read_text(encoding="utf-8")) or {}
    days = int(raw.get("publicity_working_days", 5))
    if days < 1:
        raise ValueError("calendar.yaml: publicity_working_days must be at least 1")
    holidays = _dates(raw.get("holidays"), "holidays")
    extra = _dates(raw.get("extra_working_days"), "extra_working_days")
    return Calendar(days, holidays, extra, frozenset(day.year for day in holidays | extra))


def calendar() -> Calendar:
    return _calendar_from(str(current_app.config["ADMIN_CONFIG_DIR"]))
