"""The demo's declaration flow (admin_config/demo.yaml, after the organisation and the filed committee).

The demo committee's 审核路径 (主管部门配置 and the 中评会 chain, S 1.2.3.5), the units' 多岗审核 levels
(S 1.2.9.1.2), a 评审活动 published through its review (S 1.2.4.1–1.2.4.2) and declarations standing in
申报材料审核 (S 1.2.3.1). Everything goes through the services and diagrams the pages use, acted by the accounts
that would act there (a review task by its first candidate), so no status is ever written here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Applicant,
    Committee,
    Declaration,
    HumanTask,
    HumanTaskCandidate,
    ReviewActivity,
    Specialty,
    Unit,
    User,
)
from services.activities import activities, activity_publication
from services.applications import application_review, declarations, review_path_config
from services.applications.application_review import ReviewInput
from services.authz import audit_chain
from services.common import file_store
from services.reference import workdays
from services.workflow import instances

# Every demo upload: a one-page PDF (the upload checks read the content, not the name).
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
PASS_OPINION = "材料齐全，同意上报"
# The 申报单位's pass attaches these (本单位人员审核, S 1.2.3.1 图 2.3.5): kind → file name.
SCHOOL_ATTACHMENTS = {"publicity_proof": "申报公示证明.pdf", "recommendation": "单位综合推荐意见.pdf"}


def seed_declaration_flow(demo: dict[str, Any], now: datetime) -> None:
    for spec in demo.get("review_paths", []):
        configure_review_path(spec)
    for spec in demo.get("audit_levels", []):
        save_audit_levels(spec)
    published = {activity.name: activity for activity in
                 (publish_activity(spec, now) for spec in demo.get("activities", []))}
    for spec in demo.get("declarations", []):
        declare(spec, published, now)


def _unit(name: str) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.name == name))
    assert unit is not None, f"demo.yaml: {name} is not a demo unit"
    return unit


def _admin(unit: Unit) -> User:
    admin = db.session.scalar(select(User).where(User.unit_id == unit.id, User.is_unit_admin.is_(True)))
    assert admin is not None, unit.name
    return admin


def _committee(name: str) -> Committee:
    committee = db.session.scalar(select(Committee).where(Committee.name == name))
    assert committee is not None, f"demo.yaml: {name} is not a demo committee"
    return committee


def _specialty_id(series_code: str, code: str) -> int:
    found = db.session.scalar(select(Specialty.id).where(Specialty.series_code == series_code, Specialty.code == code))
    assert found is not None, f"demo.yaml: no specialty {code} in {series_code}"
    return found


def next_open_task(business_type: str, business_id: int) -> tuple[HumanTask, User] | None:
    """The record's oldest open task and its first candidate (the reviewer a demo lets act), or None."""
    task = db.session.scalar(select(HumanTask).where(
        HumanTask.business_type == business_type, HumanTask.business_id == business_id,
        HumanTask.status == "open").order_by(HumanTask.id).limit(1))
    if task is None:
        return None
    reviewer = db.session.scalar(select(User).join(HumanTaskCandidate, HumanTaskCandidate.user_id == User.id)
                                 .where(HumanTaskCandidate.task_id == task.id).order_by(User.id).limit(1))
    assert reviewer is not None, f"{task.name}: no candidate"
    return task, reviewer


# --- configuration -------------------------------------------------------------------------------------------

def configure_review_path(spec: dict[str, Any]) -> None:
    """主管部门配置 for the region, then each unit of the chain sends to the next and the last to the committee."""
    admin = _admin(_unit(spec["configured_by"]))
    committee = _committee(spec["committee"])
    competent = spec["competent"]
    review_path_config.create_assignment(admin, {
        "region_code": str(competent["region"]), "committee_id": str(committee.id),
        "competent_unit_id": str(_unit(competent["unit"]).id)})
    chain = [_unit(name) for name in spec["chain"]]
    for subordinate, superior in zip(chain, [*chain[1:], None], strict=True):
        target = ({"target_type": "unit", "superior_unit_id": str(superior.id)} if superior is not None
                  else {"target_type": "committee", "committee_id": str(committee.id)})
        review_path_config.create_link(admin, {"method_code": spec["method"], "level_code": spec["level"],
                                               "subordinate_unit_id": str(subordinate.id), **target})


def save_audit_levels(spec: dict[str, Any]) -> None:
    unit = _unit(spec["unit"])
    users = {u.username: u.id for u in db.session.scalars(select(User).where(User.unit_id == unit.id))}
    levels = [{"name": level["name"], "user_ids": [users[name] for name in level["users"]]} for level in spec["levels"]]
    audit_chain.save_levels(_admin(unit), unit, spec["item"], levels)


# --- 评审活动 ---------------------------------------------------------------------------------------------------

def publish_activity(spec: dict[str, Any], now: datetime) -> ReviewActivity:
    """Created, configured and submitted by the forming unit's administrator; every review level passes it."""
    committee = _committee(spec["committee"])
    admin = _admin(committee.forming_unit)
    form: dict[str, Any] = {name: value.format(year=now.year) if isinstance(value, str) else value
                            for name, value in spec["form"].items()}
    form["committee_id"] = str(committee.id)
    form["specialty_ids"] = [str(_specialty_id(committee.series_code, code)) for code in spec["specialties"]]
    # Times count from the seeding day, so the activity takes declarations whenever the demo is seeded.
    for name, offset in spec["days"].items():
        moment = datetime.combine(now.date() + timedelta(days=offset), time(9) if name == "apply_start" else time(17, 30))
        form[name] = f"{moment:%Y-%m-%d %H:%M:%S}"
    activity = activities.create_activity(admin, form)
    activities.save_achievements(admin, activity, spec["achievements"])
    activities.save_material_requirements(admin, activity, spec["materials"])
    activity_publication.submit_activity(admin, activity)
    while (found := next_open_task(activity_publication.BUSINESS_TYPE, activity.id)) is not None:
        task, reviewer = found
        instances.complete_human_task(reviewer, task.id, {"decision": "pass", "opinion": "申报安排合理，同意发布"})
    return activity


# --- declarations ----------------------------------------------------------------------------------------------

def declare(spec: dict[str, Any], published: dict[str, ReviewActivity], now: datetime) -> Declaration:
    """The applicant fills in and submits a declaration; then `passes` review tasks pass it."""
    applicant = db.session.scalar(select(Applicant).where(Applicant.name == spec["applicant"]))
    assert applicant is not None, f"demo.yaml: {spec['applicant']} is not a demo applicant"
    activity = published[spec["activity"].format(year=now.year)]
    declaration = declarations.start_declaration(applicant, activity.id, {
        "level_code": activity.level_codes[0],
        "specialty_id": str(_specialty_id(activity.committee.series_code, spec["specialty"]))}, now)
    declarations.save_assessments(applicant, declaration, [
        {"year": now.year - n, "result": result, "unit": applicant.unit.name}
        for n, result in enumerate(spec["assessments"], 1)], now)
    items = {item.title: item.id for item in activity.achievements}
    for achievement in spec.get("achievements", []):
        declarations.save_achievement(applicant, declaration, items[achievement["item"]], achievement["template"],
                                      achievement["fields"], now=now)
    requirements = {requirement.name: requirement.id for requirement in activity.material_requirements}
    for name, filename in spec.get("materials", {}).items():
        declarations.add_material(applicant, declaration, requirements[name], filename, DEMO_PDF, now)
    declarations.submit(applicant, declaration, now)
    for n in range(spec.get("passes", 0)):
        found = next_open_task(application_review.BUSINESS_TYPE, declaration.id)
        assert found is not None, f"{applicant.name}: no open review task for pass {n + 1}"
        task, reviewer = found
        # The first pass is the 申报单位's first level: it adds the unit's 申报公示 and attachments (B6, F2).
        data = _school_pass(now.date()) if n == 0 else ReviewInput("pass", PASS_OPINION)
        application_review.review(reviewer, declaration, task.id, data)
    db.session.flush()
    return declaration


def _school_pass(today: date) -> ReviewInput:
    """本单位人员审核通过 after a 申报公示 of the configured working days that ended yesterday (RULES.md "Publicity")."""
    calendar = workdays.calendar()
    end = start = today - timedelta(days=1)
    while calendar.working_days_between(start, end) < calendar.publicity_working_days:
        start -= timedelta(days=1)
    uploads = {kind: (file_store.check(application_review.attachment_field(kind), filename, DEMO_PDF), DEMO_PDF)
               for kind, filename in SCHOOL_ATTACHMENTS.items()}
    return ReviewInput("pass", "经公示无异议，同意推荐", publicity_start=start, publicity_end=end, uploads=uploads)
