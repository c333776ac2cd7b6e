"""The demo organisation (admin_config/demo.yaml): a realistic Sichuan unit tree with staff and roles,
a few individual applicants with their profiles, and a committee (乐山市中小学教师中级职称评审委员会) filed through
the committee_filing diagram; then services.demo.declarations gives it its 审核路径, a published 评审活动 and
declarations standing in review, so a fresh `make run` shows the declaration flow end to end.

Subordinates are created through services.org.units.create_subordinate by their superior's administrator,
so the demo exercises the same rules as the 新增下级单位 pages.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Applicant,
    ApplicantEducation,
    ApplicantWork,
    Committee,
    Role,
    Specialty,
    Title,
    Unit,
    User,
)
from services.certificates import issuance as _certificate_issuance  # noqa: F401  (registers its completer)
from services.committees import committee_filing, committees
from services.demo.certificates import seed_certificates
from services.demo.declarations import DEMO_PDF, next_open_task, seed_declaration_flow
from services.experts import experts
from services.notices import notices
from services.org import accounts, units
from services.reference.reference_data import default_roles
from services.reference.validation import (
    id_number_birth_date,
    id_number_check_char,
    id_number_gender,
    normalize_id_number,
)
from services.workflow import instances


def seed_demo(config_dir: Path) -> list[tuple[str, str, str]] | None:
    """Create the demo organisation on an empty database; return (unit, username, role) rows, or None
    when units already exist (the command is then a no-op)."""
    if db.session.scalar(select(func.count()).select_from(Unit)):
        return None
    demo = yaml.safe_load((config_dir / "demo.yaml").read_text(encoding="utf-8"))
    roles = default_roles(config_dir)
    password_hash = accounts.hash_password(demo["password"])
    logins: list[tuple[str, str, str]] = []

    def finish_accounts(unit: Unit, admin: User, spec: dict[str, Any]) -> None:
        admin.password_hash = password_hash
        admin.must_change_password = False
        logins.append((unit.name, admin.username, "超级管理员"))
        unit_roles = {r.name: r for r in db.session.scalars(select(Role).where(Role.unit_id == unit.id))}
        for staff in spec.get("staff", []):
            user = User(username=staff["username"], password_hash=password_hash, name=staff["name"],
                        phone=str(staff["phone"]), unit_id=unit.id, session_token=secrets.token_hex(8))
            user.roles = [unit_roles[name] for name in staff["roles"]]
            db.session.add(user)
            logins.append((unit.name, user.username, "、".join(staff["roles"])))

    def basic(spec: dict[str, Any]) -> dict[str, Any]:
        return {"name": spec["name"], "credit_code": str(spec["credit_code"]), "unit_type_code": spec["unit_type"],
                "nature_code": spec["nature"], "region_code": str(spec["region"]), "phone": str(spec["phone"]),
                "address": spec.get("address", ""), "contact_name": spec["admin"]["name"]}

    def create_children(parent: Unit, parent_admin: User, children: list[dict[str, Any]]) -> None:
        for spec in children:
            legal = spec.get("legal")
            created = units.create_subordinate(
                parent_admin, parent, basic(spec),
                {"legal_person_name": legal["name"], "legal_person_id_number": str(legal["id_number"]),
                 "legal_person_phone": str(legal["phone"])} if legal else None,
                {k: str(v) for k, v in spec["admin"].items()}, roles,
            )
            finish_accounts(created.unit, created.admin, spec)
            create_children(created.unit, created.admin, spec.get("children", []))

    for spec in demo["units"]:
        root, admin = units.create_root_unit(basic(spec), {k: str(v) for k, v in spec["admin"].items()}, roles)
        finish_accounts(root, admin, spec)
        platform = demo["platform_admin"]
        db.session.add(User(username=platform["username"], password_hash=password_hash, name=platform["name"],
                            phone=str(platform["phone"]), unit_id=root.id, is_platform_admin=True,
                            session_token=secrets.token_hex(8)))
        logins.insert(0, (root.name, platform["username"], "平台管理员"))
        create_children(root, admin, spec.get("children", []))
    db.session.flush()
    for spec in demo.get("applicants", []):
        applicant = _demo_applicant(spec, password_hash)
        logins.append((applicant.unit.name, applicant.id_number, "申报人"))
    for spec in demo.get("committees", []):
        _demo_committee(spec)
    seed_declaration_flow(demo, datetime.now())
    _demo_notices(demo.get("notices", []))
    seed_certificates()
    return logins


def _demo_notices(specs: list[dict[str, Any]]) -> None:
    """通知公告 on the public home page, added and published by each unit's 超级管理员 through the real service."""
    for spec in specs:
        admin = db.session.scalar(select(User).join(Unit, Unit.id == User.unit_id).where(
            Unit.name == spec["unit"], User.is_unit_admin.is_(True)))
        assert admin is not None, spec["unit"]
        notice = notices.create_notice(admin, notices.NoticeInput(spec["type"], spec["title"], spec["body"]))
        notices.publish_notice(admin, notice)


def _demo_committee(spec: dict[str, Any]) -> Committee:
    """A committee formed, given its experts and filed through the real services and the committee_filing
    diagram: every open review task is passed by its first candidate, as the reviewers would in 待办事项."""
    unit = db.session.scalar(select(Unit).where(Unit.name == spec["forming_unit"]))
    assert unit is not None, spec["forming_unit"]
    admin = db.session.scalar(select(User).where(User.unit_id == unit.id, User.is_unit_admin.is_(True)))
    assert admin is not None, unit.name
    form = dict(spec["form"])
    series = form["series_code"]
    form["specialty_ids"] = [str(i) for i in db.session.scalars(select(Specialty.id).where(
        Specialty.series_code == series, Specialty.code.in_(form.pop("specialties"))))]
    form["authorizing_unit_id"] = form["filing_unit_id"] = str(unit.id)
    committee = committees.create_committee(admin, form)
    titles = {t.name: t.id for t in db.session.scalars(select(Title).where(Title.series_code == series))}
    for expert in spec["experts"]:
        body = f"{unit.region.code[:6]}{expert['birth']}{expert['sequence']:03d}"
        id_number = body + id_number_check_char(body)
        experts.add_expert(admin, committee, {
            "country": "中国", "name": expert["name"], "id_type": "居民身份证", "id_number": id_number,
            "gender": id_number_gender(id_number), "birth_month": expert["birth"][:6], "retired": "否",
            "work_unit": expert["work_unit"], "competent_unit": "", "admin_post": expert.get("admin_post", "无"), "admin_post_level": "无",
            "phone1": f"139{expert['sequence']:08d}", "phone2": "", "honors": expert.get("honors", "无"), "series_code": series,
            "specialty": expert["specialty"], "title_id": str(titles[expert["title"]]), "role": expert["role"]})
    db.session.flush()
    filing = committee_filing.submit_filing(admin, committee, spec["request_file"], DEMO_PDF)
    while (found := next_open_task(committee_filing.BUSINESS_TYPE, filing.id)) is not None:
        task, reviewer = found
        instances.complete_human_task(reviewer, task.id, {"decision": "pass", "opinion": "材料齐全，同意备案"})
    return committee


def _demo_applicant(spec: dict[str, Any], password_hash: str) -> Applicant:
    """A registered applicant with a filled-in profile (H 一 个人信息)."""
    id_number = normalize_id_number(str(spec["id_number"]))
    unit = db.session.scalar(select(Unit).where(Unit.name == spec["unit"]))
    assert unit is not None, f"demo.yaml: applicant unit {spec['unit']} is not a demo unit"
    applicant = Applicant(
        name=spec["name"], id_number=id_number, gender=id_number_gender(id_number),
        birth_date=id_number_birth_date(id_number), phone=str(spec["phone"]), unit_id=unit.id, unit=unit,
        ethnicity=spec.get("ethnicity"), political_status=spec.get("political_status"),
        work_start_date=spec.get("work_start_date"), specialty=spec.get("specialty"),
        password_hash=password_hash, session_token=secrets.token_hex(8),
    )
    if title := spec.get("title"):
        applicant.title_id = db.session.scalar(
            select(Title.id).where(Title.series_code == title["series"], Title.name == title["name"]))
        applicant.title_obtained_on = title["obtained_on"]
        applicant.title_method = title["method"]
        applicant.title_certificate_no = title.get("certificate_no")
    applicant.educations = [ApplicantEducation(**{k: str(v) if k == "certificate_no" else v for k, v in e.items()})
                            for e in spec.get("educations", [])]
    applicant.work_history = [ApplicantWork(**w) for w in spec.get("work", [])]
    db.session.add(applicant)
    db.session.flush()
    return applicant


def demo_password(config_dir: Path) -> str:
    password: str = yaml.safe_load((config_dir / "demo.yaml").read_text(encoding="utf-8"))["password"]
    return password
