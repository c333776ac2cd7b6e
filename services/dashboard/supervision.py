"""评审工作监督 on the home page (S 1.2.1 item 4): 本单位组建的评委会 and those it supervises (as 授权管理单位 or
备案批复单位), their 评审活动 with 评委会名称, 所在地区, 申报起止时间 and 当前工作进度.

Rules:
- Progress buckets per activity: 已申报 (submitted at least once), 单位审核中 (under review below the committee),
  评委会审核中 (at the committee), 资格审核通过 (accepted), 已退回 / 不通过. 评审会议 / 评审通过 / 已发证 are
  shown once those stages exist (meetings, results and certificates are later issues): they read 0 until then.
- Counts stop at COUNT_CAP (DESIGN §6: an exact count of a 33,000-row bucket costs milliseconds every page view);
  all of a page's activity buckets are one UNION ALL statement of capped counts.
- Committee counts: total, 已备案, 未备案 (every other status but 已注销), and 即将到期 (已备案 and ending within the
  configured expiry_notice_days). Deregistered committees are not counted.
- At most ACTIVITY_LIMIT activities are shown, newest first; running = published with 评委会接收申报截止时间 ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select, union_all

from app.extensions import db
from app.models import Committee, Declaration, DeclarationStep, Region, ReviewActivity
from services.applications.review_paths import ROLE_COMMITTEE
from services.committees.committees import rules

COUNT_CAP = 10_000
ACTIVITY_LIMIT = 8
BUCKETS = {"declared": "已申报", "at_units": "单位审核中", "at_committee": "评委会审核中", "accepted": "资格审核通过",
           "returned": "已退回", "rejected": "不通过", "in_meeting": "评审会议", "passed": "评审通过",
           "certified": "已发证"}
LATER_STAGES = ("in_meeting", "passed", "certified")


@dataclass(frozen=True)
class ActivityProgress:
    id: int
    name: str
    committee_name: str
    region_name: str
    apply_start: datetime
    receive_deadline: datetime
    status_label: str
    running: bool
    counts: dict[str, int]


@dataclass(frozen=True)
class CommitteeCounts:
    total: int
    filed: int
    unfiled: int
    expiring: int


def _supervised(unit_id: int) -> Select[tuple[int]]:
    return select(Committee.id).where(
        or_(Committee.forming_unit_id == unit_id, Committee.authorizing_unit_id == unit_id,
            Committee.filing_unit_id == unit_id), Committee.status != "deregistered")


def committee_counts(unit_id: int, today: date | None = None) -> CommitteeCounts:
    today = today or date.today()
    horizon = today + timedelta(days=int(rules()["expiry_notice_days"]))
    filed = Committee.status == "filed"
    row = db.session.execute(select(
        func.count(), func.count().filter(filed), func.count().filter(Committee.status != "filed"),
        func.count().filter(and_(filed, Committee.valid_until.is_not(None), Committee.valid_until <= horizon)),
    ).where(Committee.id.in_(_supervised(unit_id)))).one()
    return CommitteeCounts(*(int(v) for v in row))


def _bucket_condition(bucket: str) -> ColumnElement[bool]:
    # At the committee: its latest pending step is the 评委会 row (参评资格审核); below it: any other unit's.
    at_committee = exists().where(DeclarationStep.declaration_id == Declaration.id, DeclarationStep.latest.is_(True),
                                  DeclarationStep.status == "pending", DeclarationStep.role == ROLE_COMMITTEE)
    reviewing = Declaration.status == "reviewing"
    conditions: dict[str, ColumnElement[bool]] = {
        "declared": Declaration.first_submitted_at.is_not(None),
        "at_units": and_(reviewing, ~at_committee),
        "at_committee": and_(reviewing, at_committee),
        "accepted": Declaration.status == "accepted",
        "returned": Declaration.status == "returned",
        "rejected": Declaration.status == "rejected",
    }
    return conditions[bucket]


def _capped_counts(activity_ids: list[int]) -> dict[int, dict[str, int]]:
    """(activity, bucket) → count, each capped at COUNT_CAP + 1, in one statement."""
    counts = {a: dict.fromkeys(BUCKETS, 0) for a in activity_ids}
    if not activity_ids:
        return counts
    parts = []
    for activity_id in activity_ids:
        for bucket in BUCKETS:
            if bucket in LATER_STAGES:
                continue
            capped = (select(Declaration.id).where(Declaration.activity_id == activity_id,
                                                   _bucket_condition(bucket))
                      .limit(COUNT_CAP + 1).subquery())
            parts.append(select(literal(activity_id).label("a"), literal(bucket).label("b"),
                                select(func.count()).select_from(capped).scalar_subquery().label("n")))
    for activity_id, bucket, n in db.session.execute(union_all(*parts)):
        counts[int(activity_id)][str(bucket)] = int(n)
    return counts


def activity_progress(unit_id: int, now: datetime | None = None) -> list[ActivityProgress]:
    now = now or datetime.now()
    rows = db.session.execute(
        select(ReviewActivity, Committee.name, Region.name)
        .join(Committee, Committee.id == ReviewActivity.committee_id)
        .join(Region, Region.id == Committee.region_id)
        .where(ReviewActivity.committee_id.in_(_supervised(unit_id)))
        .order_by(ReviewActivity.apply_start.desc(), ReviewActivity.id.desc()).limit(ACTIVITY_LIMIT)).all()
    counts = _capped_counts([a.id for a, _, _ in rows])
    return [ActivityProgress(a.id, a.name, committee_name, region_name, a.apply_start, a.committee_receive_deadline,
                             a.status_label, a.status == "published" and a.committee_receive_deadline > now,
                             counts[a.id])
            for a, committee_name, region_name in rows]


def running_activity_count(unit_id: int, now: datetime | None = None) -> int:
    now = now or datetime.now()
    return int(db.session.scalar(select(func.count()).where(
        ReviewActivity.committee_id.in_(_supervised(unit_id)), ReviewActivity.status == "published",
        ReviewActivity.committee_receive_deadline > now)) or 0)
