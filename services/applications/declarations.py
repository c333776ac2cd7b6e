"""职称申报: an applicant's declaration against a published review activity (Hunan guide 二; FEATURES F1).

Rules owned here:
- An applicant declares against a 已发布 activity whose committee may take their unit (评审区域, unit nature:
  services.applications.review_paths decides); one declaration per person per activity; a blacklisted person (F7) cannot
  declare or submit and is told why.
- The declaration names 申报层级 (one of the activity's 开设级别), 申报专业 (one of its 评审专业 when it lists any)
  and 评价方式 (正常申报, or 破格申报 with a 破格条件 when the activity holds 破格评议). It holds 任职以来考核信息,
  the achievements of the activity's 业绩成果配置 in the fields of their templates, and the materials of its
  申报材料需求配置 (count, size and type checked by content).
- 暂存 at any time while the activity is open; 提交 from 申报开始时间 until 个人初次提交截止时间; after a 退回, 重新提交
  until 个人修改提交截止时间. Submission copies the profile into the declaration, resolves the 审核路径 (a broken
  path refuses with where and why) and starts bpmn/application_review.bpmn (services/applications/application_review.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defaultload, lazyload

from app.extensions import db
from app.models import (
    ActivityAchievement,
    ActivityExceptionalCondition,
    ActivityMaterialRequirement,
    Applicant,
    Committee,
    Declaration,
    DeclarationAchievement,
    HumanTask,
    ReviewActivity,
    TitleSeries,
)
from app.models.declaration import EVALUATION_METHOD_LABELS
from services.activities.activities import template_config
from services.applications import applicants, application_review, blacklist, eligibility, review_paths
from services.common import audit_log, file_store
from services.common.errors import Conflict, InvalidInput, NotFound
from services.org.registration import complete_applicant_task
from services.workflow import instances
from services.workflow.forms import FieldDefinition

EDITABLE_STATUSES = ("draft", "returned")
# A declaration against a committee goes the committee's 审核路径 of its grade (admin_config/review_methods.yaml).
METHOD_BY_GRADE = {"初级": "junior_committee", "中级": "intermediate_committee", "高级": "senior_committee"}
ASSESSMENT_RESULTS = ("优秀", "合格", "基本合格", "不合格")
MAX_ASSESSMENTS = 20
ACHIEVEMENT_FILE_TYPES = ("pdf", "jpg", "png")
ACHIEVEMENT_MAX_FILES = 5
ACHIEVEMENT_MAX_MB = 10


# --- the applicant's own records ------------------------------------------------------------------------------

def _record(applicant: Applicant, action: str, summary: str, declaration: Declaration) -> None:
    entry = audit_log.record(None, action, summary, "declaration", declaration.id, unit_id=applicant.unit_id)
    entry.actor_name = f"申报人 {applicant.name}"[:30]


def load_own(applicant: Applicant, declaration_id: int) -> Declaration:
    # The applicant is the signed-in one, loaded already: not joined (and its lists selected) again.
    declaration = db.session.get(Declaration, declaration_id, options=[lazyload(Declaration.applicant)])
    if declaration is None or declaration.applicant_id != applicant.id:
        raise NotFound("申报不存在")
    return declaration


def own_declarations(applicant: Applicant) -> list[Declaration]:
    return list(db.session.scalars(select(Declaration).where(Declaration.applicant_id == applicant.id)
                                   .order_by(Declaration.id.desc())))


# --- which activities are open to the applicant ------------------------------------------------------------------

@dataclass(frozen=True)
class OpenActivity:
    activity: ReviewActivity
    problem: str  # why the applicant cannot declare to it ("" when they can)
    declaration: Declaration | None  # theirs, when they already declared


def _request_for(activity: ReviewActivity, level_code: str) -> review_paths.Request:
    level = next(link.level for link in activity.levels if link.level_code == level_code)
    method = review_paths.methods()[METHOD_BY_GRADE.get(level.grade, "senior_committee")]
    return review_paths.Request(level, activity.committee.series, method, None)


def activity_problem(applicant: Applicant, activity: ReviewActivity, now: datetime) -> str:
    """Why the applicant may not declare to the activity now ("" when they may)."""
    if activity.status != "published":
        return "评审活动未发布"
    if now < activity.apply_start:
        return f"申报开始时间为 {activity.apply_start:%Y-%m-%d %H:%M}，尚未开始申报"
    if now > activity.first_submit_deadline:
        return f"个人初次提交截止时间（{activity.first_submit_deadline:%Y-%m-%d %H:%M}）已过"
    if not activity.levels:
        return "评审活动未开设级别"
    problems = [review_paths.committee_problem(activity.committee, _request_for(activity, code), applicant.unit,
                                               now.date()) for code in activity.level_codes]
    if all(p is not None for p in problems):
        return str(problems[0])
    # 申报资格: some opened level must be open to this applicant (破格 counted when the activity holds it).
    method = "exceptional" if activity.exceptional_review else "normal"
    refusals = [eligibility.problems(applicant, activity, eligibility.Declared(code, method), now.date())
                for code in activity.level_codes]
    return "" if any(not r for r in refusals) else refusals[0][0]


def open_activities(applicant: Applicant, now: datetime) -> list[OpenActivity]:
    """已发布 activities not past their 个人修改提交截止时间 (those not yet open too), with whether the applicant may
    declare now and why not."""
    activities = db.session.scalars(select(ReviewActivity).where(
        ReviewActivity.status == "published", ReviewActivity.revise_submit_deadline >= now)
        .order_by(ReviewActivity.first_submit_deadline, ReviewActivity.id))
    mine = {d.activity_id: d for d in own_declarations(applicant)}
    return [OpenActivity(a, activity_problem(applicant, a, now), mine.get(a.id)) for a in activities]


# --- 个人职称申报信息 (暂存) ----------------------------------------------------------------------------------------

def _clean_basic(activity: ReviewActivity, data: Mapping[str, Any]) -> dict[str, Any]:
    level_code = str(data.get("level_code") or "")
    if level_code not in activity.level_codes:
        raise InvalidInput("申报层级：请选择本次评审活动开设的级别", field="level_code")
    specialty_id: int | None = None
    if activity.specialties:
        try:
            specialty_id = int(data.get("specialty_id") or 0)
        except (TypeError, ValueError):
            specialty_id = 0
        if specialty_id not in activity.specialty_ids:
            raise InvalidInput("申报专业：请选择本次评审活动开设的评审专业", field="specialty_id")
    method = str(data.get("evaluation_method") or "normal")
    if method not in EVALUATION_METHOD_LABELS:
        raise InvalidInput("评价方式：请选择正常申报或破格申报", field="evaluation_method")
    condition_id: int | None = None
    if method == "exceptional":
        if not activity.exceptional_review:
            raise InvalidInput("评价方式：本次评审活动不进行破格评议，不能破格申报", field="evaluation_method")
        try:
            condition_id = int(data.get("exceptional_condition_id") or 0)
        except (TypeError, ValueError):
            condition_id = 0
        conditions = {c.id: c for c in activity.exceptional_conditions
                      if c.level_code in (None, level_code)}
        if condition_id not in conditions:
            raise InvalidInput("破格条件：请选择本次评审活动该级别的破格条件", field="exceptional_condition_id")
    return {"level_code": level_code, "specialty_id": specialty_id, "evaluation_method": method,
            "exceptional_condition_id": condition_id}


def start_declaration(applicant: Applicant, activity_id: int, data: Mapping[str, Any], now: datetime) -> Declaration:
    """暂存申报: a new declaration (status 暂存) against an open activity."""
    blacklist.ensure_not_blacklisted(applicant, now.date())
    activity = db.session.get(ReviewActivity, activity_id)
    if activity is None or activity.status != "published":
        raise NotFound("评审活动不存在或未发布")
    problem = activity_problem(applicant, activity, now)
    if problem:
        raise Conflict(f"不能申报「{activity.name}」：{problem}")
    existing = db.session.scalar(select(Declaration.id).where(Declaration.applicant_id == applicant.id,
                                                              Declaration.activity_id == activity.id))
    if existing is not None:
        raise Conflict(f"您已申报「{activity.name}」，每个评审活动只能申报一次，请在我的申报中继续办理")
    values = _clean_basic(activity, data)
    _require_eligible(applicant, activity, values, now.date())
    declaration = Declaration(applicant_id=applicant.id, activity_id=activity.id, committee_id=activity.committee_id,
                              unit_id=applicant.unit_id, year=activity.year,
                              series_code=activity.committee.series_code, method_code=_method(values["level_code"],
                                                                                              activity),
                              materials={}, assessments=[], snapshot={}, path=[], resume_steps=[], **values)
    db.session.add(declaration)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # the same applicant declaring twice at once
        raise Conflict(f"您已申报「{activity.name}」，每个评审活动只能申报一次") from exc
    _record(applicant, "declaration.create", f"申报人 {applicant.name} 暂存「{activity.name}」的申报", declaration)
    return declaration


def _declared(values: Mapping[str, Any]) -> eligibility.Declared:
    return eligibility.Declared(values["level_code"], values["evaluation_method"], values["specialty_id"])


def _require_eligible(applicant: Applicant, activity: ReviewActivity, values: Mapping[str, Any], today: date) -> None:
    """申报资格 (services/applications/eligibility.py): every broken rule named, nothing written."""
    problems = eligibility.problems(applicant, activity, _declared(values), today)
    if problems:
        raise InvalidInput(problems[0], field="level_code", errors={"level_code": problems})


def eligibility_warnings(declaration: Declaration) -> list[str]:
    """The warnings the applicant saw, for the applicant's page and every reviewing unit's."""
    return eligibility.warnings(declaration.applicant, declaration.activity, eligibility.Declared(
        declaration.level_code, declaration.evaluation_method, declaration.specialty_id))


def _method(level_code: str, activity: ReviewActivity) -> str:
    return _request_for(activity, level_code).method.code


def edit_problem(declaration: Declaration, now: datetime) -> str:
    """Why the applicant may not change the declaration now ("" when they may): its status, then the
    个人初次提交截止时间 (暂存) or 个人修改提交截止时间 (已退回)."""
    if declaration.status not in EDITABLE_STATUSES:
        return f"申报当前状态为{declaration.status_label}，不能修改"
    activity = declaration.activity
    deadline = activity.first_submit_deadline if declaration.status == "draft" else activity.revise_submit_deadline
    if now > deadline:
        label = "个人初次提交截止时间" if declaration.status == "draft" else "个人修改提交截止时间"
        return f"{label}（{deadline:%Y-%m-%d %H:%M}）已过，不能再修改申报"
    return ""


def _require_editable(declaration: Declaration, now: datetime) -> None:
    problem = edit_problem(declaration, now)
    if problem:
        raise Conflict(problem)


def update_declaration(applicant: Applicant, declaration: Declaration, data: Mapping[str, Any],
                       now: datetime) -> Declaration:
    _require_editable(declaration, now)
    values = _clean_basic(declaration.activity, data)
    _require_eligible(applicant, declaration.activity, values, now.date())
    for name, value in values.items():
        setattr(declaration, name, value)
    declaration.method_code = _method(values["level_code"], declaration.activity)
    _record(applicant, "declaration.update", f"申报人 {applicant.name} 修改申报信息", declaration)
    return declaration


def save_assessments(applicant: Applicant, declaration: Declaration, rows: Sequence[Mapping[str, Any]],
                     now: datetime) -> None:
    """任职以来考核信息: one row per year (考核年度, 考核结果, 考核单位)."""
    _require_editable(declaration, now)
    if len(rows) > MAX_ASSESSMENTS:
        raise InvalidInput(f"任职以来考核信息：最多 {MAX_ASSESSMENTS} 条", field="assessments")
    cleaned, years = [], set()
    for n, row in enumerate(rows, 1):
        where = f"任职以来考核信息第 {n} 条"
        try:
            year = int(str(row.get("year") or "").strip())
        except ValueError:
            year = 0
        if not 1950 <= year <= now.year:
            raise InvalidInput(f"{where}：考核年度须为 1950 至 {now.year} 之间的年份", field=f"assessments-{n}-year")
        if year in years:
            raise InvalidInput(f"{where}：考核年度 {year} 重复", field=f"assessments-{n}-year")
        result = str(row.get("result") or "")
        if result not in ASSESSMENT_RESULTS:
            raise InvalidInput(f"{where}：考核结果须为{'、'.join(ASSESSMENT_RESULTS)}之一", field=f"assessments-{n}-result")
        unit = str(row.get("unit") or "").strip()
        if len(unit) > 50:
            raise InvalidInput(f"{where}：考核单位不能超过 50 个字", field=f"assessments-{n}-unit")
        years.add(year)
        cleaned.append({"year": year, "result": result, "unit": unit})
    declaration.assessments = sorted(cleaned, key=lambda r: r["year"], reverse=True)


# --- 业绩成果 --------------------------------------------------------------------------------------------------

def template(code: str) -> dict[str, Any]:
    for candidate in template_config()["templates"]:
        if candidate["code"] == code:
            return dict(candidate)
    raise InvalidInput("模板类别：无效的模板", field="template_code")


def _clean_field(spec: Mapping[str, Any], raw: Any) -> Any:
    label, kind = spec["label"], spec.get("type", "text")
    value = str(raw if raw is not None else "").strip()
    if not value:
        if spec.get("required"):
            raise InvalidInput(f"{label}：必填", field=spec["name"])
        return ""
    if kind == "date":
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise InvalidInput(f"{label}：日期格式应为 YYYY-MM-DD", field=spec["name"]) from None
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            raise InvalidInput(f"{label}：请输入数字", field=spec["name"]) from None
        if number < 0 or number > 1_000_000:
            raise InvalidInput(f"{label}：应在 0 至 1000000 之间", field=spec["name"])
        return number
    if kind == "select" and value not in [str(c) for c in spec.get("choices", [])]:
        raise InvalidInput(f"{label}：请选择有效选项", field=spec["name"])
    limit = spec.get("max_length")
    if limit and len(value) > int(limit):
        raise InvalidInput(f"{label}：不能超过 {limit} 个字", field=spec["name"])
    return value


def achievement_file_field() -> FieldDefinition:
    return FieldDefinition("attachments", "附件信息", "file", max_size_mb=ACHIEVEMENT_MAX_MB,
                           accept=ACHIEVEMENT_FILE_TYPES)


def save_achievement(applicant: Applicant, declaration: Declaration, item_id: int, template_code: str,
                     values: Mapping[str, Any], uploads: Sequence[tuple[file_store.StoredFile, bytes]] = (),
                     achievement_id: int | None = None, now: datetime | None = None) -> DeclarationAchievement:
    """Add or edit one achievement of a 业绩成果配置 item, in one of the item's templates; uploads are checked."""
    now = now or datetime.now()
    _require_editable(declaration, now)
    item = db.session.get(ActivityAchievement, item_id)
    if item is None or item.activity_id != declaration.activity_id:
        raise NotFound("业绩成果项不存在")
    if template_code not in item.templates:
        raise InvalidInput(f"模板类别：「{item.title}」不使用该模板", field="template_code")
    spec = template(template_code)
    fields = {f["name"]: _clean_field(f, values.get(f["name"])) for f in spec["fields"]}
    unknown = set(values) - set(fields)
    if unknown:
        raise InvalidInput(f"未知字段：{'、'.join(sorted(unknown))}", field=sorted(unknown)[0])
    if achievement_id is None:
        count = sum(1 for a in declaration.achievements if a.item_id == item.id)
        if count >= item.max_count:
            raise InvalidInput(f"{item.title}：最多填写 {item.max_count} 条", field="item_id")
        row = DeclarationAchievement(declaration_id=declaration.id, item_id=item.id, template_code=template_code,
                                     fields=fields, attachments=[])
        declaration.achievements.append(row)
    else:
        found = next((a for a in declaration.achievements if a.id == achievement_id), None)
        if found is None:
            raise NotFound("业绩成果不存在")
        row = found
        row.template_code, row.fields = template_code, fields
    files = list(row.attachments or [])
    if len(files) + len(uploads) > ACHIEVEMENT_MAX_FILES:
        raise InvalidInput(f"附件信息：每条业绩成果最多 {ACHIEVEMENT_MAX_FILES} 个附件", field="attachments")
    row.attachments = files + [_file_record(checked) for checked, _ in uploads]
    db.session.flush()
    for checked, content in uploads:
        file_store.store(checked, content)
    return row


def remove_achievement_attachment(applicant: Applicant, declaration: Declaration, achievement_id: int, sha256: str,
                                  now: datetime) -> None:
    """附件信息 操作: remove one attachment of an achievement."""
    _require_editable(declaration, now)
    row = next((a for a in declaration.achievements if a.id == achievement_id), None)
    if row is None:
        raise NotFound("业绩成果不存在")
    kept = [f for f in row.attachments or [] if f["sha256"] != sha256]
    if len(kept) == len(row.attachments or []):
        raise NotFound("附件不存在")
    row.attachments = kept


def delete_achievement(applicant: Applicant, declaration: Declaration, achievement_id: int, now: datetime) -> None:
    _require_editable(declaration, now)
    row = next((a for a in declaration.achievements if a.id == achievement_id), None)
    if row is None:
        raise NotFound("业绩成果不存在")
    declaration.achievements.remove(row)


def _file_record(checked: file_store.StoredFile) -> dict[str, Any]:
    return {"sha256": checked.sha256, "filename": checked.filename, "size": checked.size,
            "file_type": checked.file_type}


# --- 申报材料上传 ----------------------------------------------------------------------------------------------

def material_field(requirement: ActivityMaterialRequirement) -> FieldDefinition:
    return FieldDefinition(f"material-{requirement.id}", requirement.name, "file",
                           max_size_mb=requirement.max_size_mb, accept=tuple(requirement.file_types))


def _requirement(declaration: Declaration, requirement_id: int) -> ActivityMaterialRequirement:
    requirement = db.session.get(ActivityMaterialRequirement, requirement_id)
    if requirement is None or requirement.activity_id != declaration.activity_id:
        raise NotFound("申报材料项不存在")
    return requirement


def add_material(applicant: Applicant, declaration: Declaration, requirement_id: int, filename: str,
                 content: bytes, now: datetime) -> None:
    _require_editable(declaration, now)
    requirement = _requirement(declaration, requirement_id)
    checked = file_store.check(material_field(requirement), filename, content)
    files = list((declaration.materials or {}).get(str(requirement.id), []))
    if len(files) >= requirement.max_files:
        raise InvalidInput(f"{requirement.name}：最多上传 {requirement.max_files} 份", field=f"material-{requirement.id}")
    if any(f["sha256"] == checked.sha256 for f in files):
        raise InvalidInput(f"{requirement.name}：该文件已上传", field=f"material-{requirement.id}")
    declaration.materials = {**(declaration.materials or {}), str(requirement.id): [*files, _file_record(checked)]}
    db.session.flush()
    file_store.store(checked, content)


def remove_material(applicant: Applicant, declaration: Declaration, requirement_id: int, sha256: str,
                    now: datetime) -> None:
    _require_editable(declaration, now)
    requirement = _requirement(declaration, requirement_id)
    files = list((declaration.materials or {}).get(str(requirement.id), []))
    kept = [f for f in files if f["sha256"] != sha256]
    if len(kept) == len(files):
        raise NotFound("文件不存在")
    declaration.materials = {**(declaration.materials or {}), str(requirement.id): kept}


def declaration_file(declaration: Declaration, sha256: str, with_review: bool) -> dict[str, Any]:
    """The stored record {sha256, filename, size, file_type} of a file of the declaration, or NotFound.

    The applicant's own files are materials and achievement attachments; `with_review` adds what the reviewing
    units attached (公示证明附件, 单位综合推荐意见, 事业单位岗位情况表, 委托评审函), which only units see."""
    records = [f for files in (declaration.materials or {}).values() for f in files]
    records += [f for a in declaration.achievements for f in a.attachments or []]
    if with_review:
        records += [declaration.delegation_letter] if declaration.delegation_letter else []
        records += [f for step in declaration.steps for f in (step.attachments or {}).values()]
        records += [f for step in declaration.steps for f in (step.pending_attachments or {}).values()]
    found = next((f for f in records if f.get("sha256") == sha256), None)
    if found is None:
        raise NotFound("文件不存在")
    return dict(found)


# --- 提交 -----------------------------------------------------------------------------------------------------

def submission_problems(declaration: Declaration) -> list[str]:
    """What the declaration still lacks before it can be submitted (the applicant's page lists them)."""
    # 现职称 may stay empty: a first declaration (初级) has none.
    problems = [f"{section.label}：请完善（{section.hint}）" for section in applicants.completeness(declaration.applicant)
                if not section.done and section.label != "现职称"]
    if not declaration.assessments:
        problems.append("任职以来考核信息：至少填写一条")
    activity = declaration.activity
    for item in activity.achievements:
        count = sum(1 for a in declaration.achievements if a.item_id == item.id)
        needed = max(item.min_count, 1 if item.required else 0)
        if count < needed:
            problems.append(f"{item.title}：至少填写 {needed} 条（已填 {count} 条）")
    for requirement in activity.material_requirements:
        if requirement.required and not (declaration.materials or {}).get(str(requirement.id)):
            problems.append(f"{requirement.name}：必传")
    if declaration.evaluation_method == "exceptional":
        condition = db.session.get(ActivityExceptionalCondition, declaration.exceptional_condition_id or 0)
        if condition is None:
            problems.append("破格条件：请选择")
    today = date.today()
    # 申报资格 again at 提交: the profile (现职称, 单位) may have changed since the declaration was created.
    problems += eligibility.problems(declaration.applicant, activity, eligibility.Declared(
        declaration.level_code, declaration.evaluation_method, declaration.specialty_id), today)
    unit_problem = review_paths.cached_committee_problem(
        activity.committee, _request_for(activity, declaration.level_code), declaration.applicant.unit, today)
    if unit_problem:
        problems.append(f"申报单位：{unit_problem}")
    return problems


def path_of(declaration: Declaration, today: date) -> review_paths.ResolvedPath:
    return review_paths.resolve_path(declaration.applicant.unit, declaration.level_code, declaration.series_code,
                                     declaration.method_code, declaration.specialty.code if declaration.specialty
                                     else "", today, committee_id=declaration.activity.committee_id)


def _snapshot(applicant: Applicant) -> dict[str, Any]:
    def day(value: date | None) -> str:
        return value.isoformat() if value else ""
    return {
        "name": applicant.name, "id_type": applicant.id_type, "id_number": applicant.id_number,
        "gender": applicant.gender, "birth_date": day(applicant.birth_date), "phone": applicant.phone,
        "email": applicant.email or "", "ethnicity": applicant.ethnicity or "",
        "political_status": applicant.political_status or "", "unit_id": applicant.unit_id,
        "unit_name": applicant.unit.name, "work_start_date": day(applicant.work_start_date),
        "specialty": applicant.specialty or "",
        "title": applicant.title.name if applicant.title else "", "title_obtained_on": day(applicant.title_obtained_on),
        "title_method": applicant.title_method or "", "title_certificate_no": applicant.title_certificate_no or "",
        "educations": [{"education": e.education, "degree": e.degree, "school": e.school, "major": e.major,
                        "start_date": day(e.start_date), "end_date": day(e.end_date)} for e in applicant.educations],
        "work_history": [{"start_date": day(w.start_date), "end_date": day(w.end_date), "unit_name": w.unit_name,
                          "position": w.position} for w in applicant.work_history],
    }


def correction_task(declaration: Declaration) -> HumanTask | None:
    return instances.open_task_for(application_review.BUSINESS_TYPE, declaration.id, "applicant")


def _task_columns(declaration: Declaration) -> dict[str, Any]:
    return {"committee_id": declaration.committee_id, "activity_id": declaration.activity_id,
            "series_code": declaration.series_code, "level_code": declaration.level_code,
            "applicant_name": declaration.applicant.name[:30]}


def submit(applicant: Applicant, declaration: Declaration, now: datetime, note: str = "") -> Declaration:
    """提交 (first time) or 重新提交 after a 退回 to the applicant; nothing is written when refused."""
    blacklist.ensure_not_blacklisted(applicant, now.date())
    if declaration.status not in EDITABLE_STATUSES:
        raise Conflict(f"申报当前状态为{declaration.status_label}，不能提交")
    # The activity with its committee and the committee's series, without every title of the series.
    activity = db.session.get(ReviewActivity, declaration.activity_id, options=[
        defaultload(ReviewActivity.committee).defaultload(Committee.series).lazyload(TitleSeries.titles),
        # its levels and specialties only when the committee's checks are not cached (review_paths.cached_*)
        defaultload(ReviewActivity.committee).lazyload(Committee.levels),
        defaultload(ReviewActivity.committee).lazyload(Committee.specialties)])
    assert activity is not None
    if now < activity.apply_start:
        raise Conflict(f"申报开始时间为 {activity.apply_start:%Y-%m-%d %H:%M}，尚未开始申报")
    _require_editable(declaration, now)
    problems = submission_problems(declaration)
    if problems:
        raise InvalidInput(problems[0], errors={"submit": problems})
    if declaration.status == "returned":
        return _resubmit(applicant, declaration, note, now)
    # The path as the configuration stands (cached per configuration generation: one small read when unchanged).
    path = review_paths.cached_path(declaration.applicant.unit, declaration.level_code, declaration.series_code,
                                    declaration.method_code, declaration.specialty.code if declaration.specialty
                                    else "", now.date(), committee_id=activity.committee_id)
    if not path.complete:
        raise InvalidInput(f"审核路径：{path.broken or '审核路径不完整'}", field="path")
    if declaration.first_submitted_at is None:  # never submitted: it has arrived nowhere yet
        application_review.latest_arrivals_known(declaration, {})
    declaration.snapshot, declaration.submitted_at = _snapshot(applicant), now
    declaration.path = [_path_entry(step) for step in path.steps]
    declaration.step, declaration.resume_steps = 0, []
    declaration.status, declaration.first_submitted_at = "reviewing", now
    instances.start_process(
        application_review.PROCESS_ID, application_review.BUSINESS_TYPE, declaration.id,
        f"职称申报：{applicant.name}（{activity.name}）", declaration.unit_id, {"declaration_id": declaration.id}, None,
        columns=_task_columns(declaration), started_by=f"申报人 {applicant.name}")  # applicants have no staff account
    _record(applicant, "declaration.submit", f"申报人 {applicant.name} 提交「{activity.name}」的申报", declaration)
    return declaration


def _path_entry(step: review_paths.StepSummary) -> dict[str, Any]:
    if step.committee_id is not None:
        return {"committee_id": step.committee_id, "role": step.role, "name": step.name}
    assert step.unit_id is not None
    return {"unit_id": step.unit_id, "role": step.role, "name": step.name}


def _resubmit(applicant: Applicant, declaration: Declaration, note: str, now: datetime) -> Declaration:
    task = correction_task(declaration)
    if task is None:
        raise Conflict("该申报当前不是“已退回”状态，不能重新提交")
    if not str(note or "").strip():
        raise InvalidInput("修改说明：必填", field="note")
    if not declaration.resume_steps:
        raise Conflict("该申报没有等待它的审核单位，请联系审核单位")
    declaration.snapshot, declaration.submitted_at = _snapshot(applicant), now
    declaration.status, declaration.step = "reviewing", declaration.resume_steps[-1]
    complete_applicant_task(task.id, {"note": str(note).strip()[:500]}, applicant.name)
    _record(applicant, "declaration.resubmit", f"申报人 {applicant.name} 修改申报后重新提交", declaration)
    return declaration
