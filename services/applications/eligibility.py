"""申报资格: who may declare what to an activity (《职称评审管理暂行规定》 第二十二条; Hunan guide 二; issue 13).

Checked when a declaration is created or changed (暂存) and again at 提交, from what the activity and its committee
define and the applicant's profile (现职称, 取得现职称时间, 专业, 单位):
- 申报系列: a current title of another series cannot be promoted in this one (转系列 goes through a same-level
  评审 of the new series first, which this activity is not).
- 申报层级: above the current title, one level at a time (逐级申报); skipping a level needs 破格申报 with one of the
  activity's 破格条件 (services/applications/declarations.py checks the condition itself).
- 任现职称年限: when the activity sets 任现职称年限要求, a 正常申报 needs that many whole years since the current title
  was obtained, counted to the day of the check; 破格申报 is the way around it.
- 申报单位: inside the committee's 评审区域 and of a 单位性质 it accepts (services/applications/review_paths decides).
Warnings do not refuse, but the applicant sees them and so does every unit reviewing the declaration:
no 现职称 on record, or a 申报专业 that differs from the profile's 专业.
Every message names its rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import Applicant, ReviewActivity, Specialty, Title, TitleLevel


@dataclass(frozen=True)
class Declared:
    """What the applicant declares: 申报层级, 评价方式 and 申报专业."""

    level_code: str
    evaluation_method: str
    specialty_id: int | None = None


def _current_title(applicant: Applicant) -> Title | None:
    """The applicant's 现职称 under today's name (an old name maps to the title that replaced it)."""
    title = applicant.title
    for _ in range(5):  # renamed at most a few times; never loop on bad data
        if title is None or title.current is None:
            break
        title = title.current
    return title


def _series_ranks(series_code: str) -> list[int]:
    """The ranks of the levels the series has titles at, highest level (rank 1) first."""
    ranks = db.session.scalars(select(TitleLevel.rank).join(Title, Title.level_code == TitleLevel.code)
                               .where(Title.series_code == series_code).distinct())
    return sorted(ranks)


def whole_years(since: date, until: date) -> int:
    """Whole years from `since` to `until` (a year is complete on its anniversary; integer arithmetic only)."""
    years = until.year - since.year
    if (until.month, until.day) < (since.month, since.day):
        years -= 1
    return max(years, 0)


def problems(applicant: Applicant, activity: ReviewActivity, declared: Declared, today: date) -> list[str]:
    """Why the applicant may not declare `declared` to the activity: one message per broken rule."""
    found: list[str] = []
    level = db.session.get(TitleLevel, declared.level_code)
    title = _current_title(applicant)
    series = activity.committee.series
    exceptional = declared.evaluation_method == "exceptional"
    if title is not None and level is not None:
        if title.series_code != series.code:
            found.append(f"申报系列：现职称「{title.name}」属{title.series.name}系列，不能申报{series.name}系列的"
                         f"{level.name}职称（跨系列须先转评本系列同级职称）")
        elif level.rank >= title.level.rank:
            found.append(f"申报层级：现职称「{title.name}」为{title.level.name}，申报层级须高于现职称")
        else:
            above = [rank for rank in _series_ranks(series.code) if rank < title.level.rank]
            next_rank = max(above) if above else None
            if next_rank is not None and level.rank < next_rank and not exceptional:
                next_level = db.session.scalar(select(TitleLevel.name).where(TitleLevel.rank == next_rank))
                found.append(f"申报层级：正常申报须逐级申报（现职称{title.level.name}，应申报{next_level}）；"
                             "越级申报须选择破格申报及破格条件")
    years = activity.min_title_years
    if years and title is not None and not exceptional and title.series_code == series.code:
        obtained = applicant.title_obtained_on
        if obtained is None:
            found.append(f"任现职称年限：本次评审活动要求取得现职称满 {years} 年，请在个人信息中填写取得现职称时间")
        elif whole_years(obtained, today) < years:
            found.append(f"任现职称年限：本次评审活动要求取得现职称满 {years} 年，现职称于 {obtained:%Y-%m-%d} 取得，"
                         f"至 {today:%Y-%m-%d} 满 {whole_years(obtained, today)} 年；不满年限须破格申报")
    return found


def warnings(applicant: Applicant, activity: ReviewActivity, declared: Declared) -> list[str]:
    """What the applicant is warned of and every reviewing unit sees (no refusal)."""
    found: list[str] = []
    if applicant.title is None:
        found.append("现职称：个人信息中未填写现职称，请申报单位核实申报层级")
    specialty = db.session.get(Specialty, declared.specialty_id) if declared.specialty_id else None
    own = (applicant.specialty or "").strip()
    if specialty is not None and own and own not in specialty.name and specialty.name not in own:
        found.append(f"申报专业：申报专业「{specialty.name}」与个人信息中的专业「{own}」不一致，请申报单位核实")
    return found
