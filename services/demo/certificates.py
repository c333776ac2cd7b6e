"""Demo certificates for `make run`: 乐山市人社局 (`ls_rsj`) finds people in each of its 发证 queues — 评审发证 待处理
and 待发放 (by 文号), 初定发证 未发放 with a batch ready — and two certificates already issued, so 证书查询, 证书详情
and the public verification page have something to show."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, User
from services.certificates import bulk, issuance
from services.reference.validation import id_number_check_char

NAMES = ("王晓燕", "陈志强", "刘芳", "杨帆", "赵敏", "黄磊", "周婷", "吴昊", "徐静", "孙浩")


def _person(n: int, approval_no: str, approved_on: str) -> dict[str, Any]:
    body = f"51110219{80 + n % 10:02d}0{n % 9 + 1}1{n % 9}{n:03d}"
    return {"name": NAMES[n % len(NAMES)], "id_number": body + id_number_check_char(body), "work_unit": "乐山第一中学校",
            "series_name": "中小学教师", "specialty_name": "数学", "title_name": "一级教师", "level_name": "中级",
            "qualified_on": f"{date.today().year}-01-15", "committee_name": "乐山市中小学教师中级职称评审委员会",
            "approval_no": approval_no, "approved_on": approved_on}


def seed_certificates(username: str = "ls_rsj") -> None:
    issuer = db.session.scalar(select(User).where(User.username == username))
    if issuer is None:
        return
    year = date.today().year
    approved_on = date(year, 1, 20).isoformat() if date.today() >= date(year, 1, 20) else date.today().isoformat()
    reviewed = issuance.queue(issuer, "review", [_person(n, f"乐人社〔{year}〕12号", approved_on) for n in range(6)])
    tasks = {t.business_id: t.id for t in db.session.scalars(select(HumanTask).where(
        HumanTask.business_type == issuance.BUSINESS_TYPE, HumanTask.business_id.in_([i.id for i in reviewed]),
        HumanTask.status == "open"))}
    for person in reviewed[:4]:
        issuance.complete_task(issuer, tasks[person.id], "pass")
    issue_tasks = [t.id for t in db.session.scalars(select(HumanTask).where(
        HumanTask.business_type == issuance.BUSINESS_TYPE, HumanTask.business_id.in_([i.id for i in reviewed[:2]]),
        HumanTask.status == "open"))]
    try:
        bulk.generate_for_tasks(issue_tasks)
    except OSError:  # wkhtmltopdf is not installed: the demo keeps them in 待发放
        db.session.rollback()
        return
    for task_id in issue_tasks:
        issuance.complete_task(issuer, task_id, "issue")
    issuance.queue(issuer, "initial", [_person(n, "", "") for n in range(6, 10)])
    issuance.create_batch(issuer, "initial", f"{year}年第一批")
