"""Shared pieces of the committee and expert-library tests: a unit tree, committee and expert forms, fast setup.

The tree (乐山): 四川省人社厅 → 乐山市人社局 (备案单位 of 中级) → 乐山市教育局 (主管部门, 授权管理单位) →
乐山师范学院 (自主评审单位, the forming unit) → 附属中学 (a subordinate that recommends experts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g
from helpers import serial, valid_id_number
from sqlalchemy import select

from app.extensions import db
from app.models import Committee, Specialty, Title, Unit, User
from services.authz import audit_chain
from services.committees import committees
from services.experts import experts

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
SERIES = "engineering_technician"


@dataclass
class Tree:
    province: Unit
    city: Unit
    competent: Unit
    forming: Unit
    child: Unit
    other_city: Unit
    forming_admin: User
    child_admin: User
    authorizing_reviewers: list[User]
    filing_reviewer: User


def build_tree(make_unit: Any, make_user: Any, levels_at_authorizing: int = 2) -> Tree:
    province = make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")
    city = make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    competent = make_unit(parent=city, unit_type="competent", region="511100B", name="乐山市教育局")
    forming = make_unit(parent=competent, unit_type="self_review", region="511102", name="乐山师范学院")
    child = make_unit(parent=forming, region="511102", name="乐山师范学院附属中学")
    other_city = make_unit(parent=province, unit_type="hr", region="510100B", name="成都市人力资源和社会保障局")
    competent_admin = make_user(competent, admin=True, name="教育局管理员")
    reviewers = [make_user(competent, permissions=["committee_filing.review", "inbox.view"], name=f"教育局审核{n}")
                 for n in range(1, levels_at_authorizing + 1)]
    if levels_at_authorizing > 1:
        audit_chain.save_levels(competent_admin, competent, "committee_filing",
                                [{"name": f"第{n}级", "user_ids": [u.id]} for n, u in enumerate(reviewers, 1)])
    filing_reviewer = make_user(city, permissions=["committee_filing.review", "expert.review", "inbox.view"],
                                name="人社局审核")
    db.session.flush()
    return Tree(province, city, competent, forming, child, other_city,
                make_user(forming, admin=True, name="学院管理员"), make_user(child, admin=True, name="附中管理员"),
                reviewers, filing_reviewer)


def specialty_ids(count: int = 1) -> list[int]:
    return list(db.session.scalars(select(Specialty.id).where(Specialty.series_code == SERIES)
                                   .order_by(Specialty.code).limit(count)))


def committee_form(tree: Tree, **changes: Any) -> dict[str, Any]:
    """A 中级 committee 按专业创建 (7 experts at least), authorized by 教育局, filed with 乐山市人社局."""
    form: dict[str, Any] = {
        "name": f"乐山师范学院工程技术系列中级职称评审委员会{serial()}", "agency": "学院人事处", "office": "职称办公室",
        "review_type": "self_review", "level_codes": ["intermediate", "assistant"],
        "authorizing_unit_id": str(tree.competent.id), "filing_unit_id": str(tree.city.id),
        "contact_name": "周联系", "contact_phone": "0833-2276000", "address": "乐山市市中区滨河路 778 号",
        "internal_only": "true", "applicant_natures": ["institution"], "build_mode": "specialty",
        "series_code": SERIES, "specialty_ids": [str(s) for s in specialty_ids(2)], "region_code": "511102",
        "funded": "false",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def title_id(name: str = "工程师") -> int:
    found = db.session.scalar(select(Title.id).where(Title.series_code == SERIES, Title.name == name))
    assert found is not None
    return found


def expert_form(role: str = "member", birth: str = "19730728", **changes: Any) -> dict[str, Any]:
    number = valid_id_number(birth=birth, region="511102", sequence=(serial() % 500) * 2 + 1)  # odd: 男
    form: dict[str, Any] = {
        "country": "中国", "name": f"专家{serial() % 10000}", "id_type": "居民身份证", "id_number": number,
        "gender": "男", "birth_month": birth[:6], "retired": "否", "work_unit": "乐山市第一建筑公司",
        "competent_unit": "", "admin_post": "总工程师", "admin_post_level": "无", "phone1": "13912345678",
        "phone2": "", "honors": "四川省技术能手", "series_code": SERIES, "specialty": "建筑施工",
        "title_id": str(title_id()), "role": role,
    }
    form.update(changes)
    return form


def create_committee(tree: Tree, **changes: Any) -> Committee:
    return committees.create_committee(tree.forming_admin, committee_form(tree, **changes))


def add_experts(tree: Tree, committee: Committee, count: int = 7) -> None:
    for n in range(count):
        experts.add_expert(tree.forming_admin, committee, expert_form("chair" if n == 0 else "member"))
    db.session.flush()


def fresh_request() -> None:
    """Each request starts as a real one does (the database fixture keeps one app context for the test)."""
    vars(g).clear()
    db.session.flush()
    db.session.expire_all()


def file_committee(tree: Tree) -> Committee:
    """A committee filed through the real flow (services, no HTTP): 7 experts, every review passed."""
    from app.models import HumanTask, HumanTaskCandidate
    from services.committees import committee_filing
    from services.workflow import instances

    committee = create_committee(tree)
    add_experts(tree, committee)
    filing = committee_filing.submit_filing(tree.forming_admin, committee, "请示.pdf", PDF)
    for reviewer in (*tree.authorizing_reviewers, tree.filing_reviewer):
        task = db.session.scalar(select(HumanTask).join(HumanTaskCandidate).where(
            HumanTask.business_id == filing.id, HumanTask.business_type == "committee_filing",
            HumanTask.status == "open", HumanTaskCandidate.user_id == reviewer.id))
        assert task is not None, reviewer.name
        instances.complete_human_task(reviewer, task.id, {"decision": "pass", "opinion": "同意"})
    assert committee.status == "filed"
    return committee
