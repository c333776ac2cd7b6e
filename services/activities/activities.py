"""评审活动发布: the activity a committee opens and the configuration applicants obey (manual S 1.2.4.1; FEATURES E1–E4).

Rules owned here:
- Only a committee of the actor's unit that is 已备案 and within its validity may publish (下拉选择关联已完成组建并
  备案通过的评委会); other units' activities answer 404.
- The four times run in order: 申报开始时间 < 个人初次提交截止时间 ≤ 个人修改提交截止时间 ≤ 评委会接收申报截止时间.
- 开设级别 is a non-empty subset of the committee's filed levels; 评审专业 come from the committee's specialties
  (按专业创建) or its series (按系列创建); 专业组评审方式 is required when 是否设置专业组 is 是.
- 业绩成果配置 items have a 展示标题 of the manual's ten and one or more of its eight templates
  (admin_config/achievement_templates.yaml); a new activity starts from the committee's last activity or the
  default set; items may be imported from another activity of the same committee.
- An activity is edited while 未提交 or 已退回; the publication flow lives in services/activities/activity_publication.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Select, select

from app.extensions import db
from app.models import (
    ActivityAchievement,
    ActivityExceptionalCondition,
    ActivityLevel,
    ActivityMaterialRequirement,
    ActivitySpecialty,
    Committee,
    ReviewActivity,
    Specialty,
    User,
)
from app.models.activity import (
    CATEGORY_LABELS,
    GROUP_METHOD_LABELS,
    INTERVIEW_LABELS,
    REVIEW_METHOD_LABELS,
    WRITTEN_EXAM_LABELS,
)
from services.authz import access
from services.committees.committees import is_active_committee
from services.common import audit_log, file_store
from services.common.errors import Conflict, InvalidInput, NotFound
from services.workflow.forms import FieldDefinition

TEMPLATES_FILE = Path(__file__).resolve().parents[2] / "admin_config" / "achievement_templates.yaml"
PUBLISH_PERMISSION = "activity.publish"
EDITABLE_STATUSES = ("draft", "returned")
TIME_FIELDS = (("apply_start", "申报开始时间"), ("first_submit_deadline", "个人初次提交截止时间"),
               ("revise_submit_deadline", "个人修改提交截止时间"), ("committee_receive_deadline", "评委会接收申报截止时间"))
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
YES_NO_FIELDS = (("exceptional_review", "是否进行破格评议"), ("specialty_groups", "是否设置专业组"),
                 ("health_page", "是否显示卫生专用页面"), ("school_teacher_page", "是否显示中小学教师专用页面"),
                 ("vocational_teacher_page", "是否显示中职教师专用页面"), ("public", "是否对外公开"))
CHOICE_FIELDS = (("category", "评审活动类别", CATEGORY_LABELS), ("review_method", "评审方式", REVIEW_METHOD_LABELS),
                 ("written_exam", "评委会组织笔试", WRITTEN_EXAM_LABELS), ("interview", "是否组织面试答辩", INTERVIEW_LABELS))


@lru_cache(maxsize=1)
def template_config() -> dict[str, Any]:
    """admin_config/achievement_templates.yaml: 展示标题, 模板类别 with their fields, defaults, limits."""
    loaded: dict[str, Any] = yaml.safe_load(TEMPLATES_FILE.read_text(encoding="utf-8"))
    return loaded


def achievement_titles() -> list[str]:
    return list(template_config()["titles"])


def template_names() -> dict[str, str]:
    return {t["code"]: t["name"] for t in template_config()["templates"]}


def _limit(name: str) -> int:
    return int(template_config()["limits"][name])


# --- input ------------------------------------------------------------------------------------------------------

def _add(errors: dict[str, list[str]], name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _text(data: Mapping[str, Any], name: str, label: str, limit: int, errors: dict[str, list[str]],
          required: bool = True) -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        _add(errors, name, f"{label}：必填")
    elif len(value) > limit:
        _add(errors, name, f"{label}：不能超过 {limit} 个字")
    return value


def _yes_no(raw: Any) -> bool | None:
    value = str(raw or "").strip().lower()
    if value in ("true", "1", "是", "on"):
        return True
    if value in ("false", "0", "否"):
        return False
    return None


def _int(raw: Any) -> int | None:
    value = str(raw if raw is not None else "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def _list(raw: Any) -> list[str]:
    values = raw if isinstance(raw, list | tuple) else [raw] if raw not in (None, "") else []
    return [str(v).strip() for v in values if str(v).strip()]


def parse_time(raw: Any) -> datetime | None:
    value = str(raw or "").strip()
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def publishable_committees(actor: User) -> list[Committee]:
    """评委会名称 choices: the actor's unit's committees that are 已备案 and still valid."""
    stmt = access.scope_to_units(select(Committee), Committee.forming_unit_id, actor, PUBLISH_PERMISSION)
    return [c for c in db.session.scalars(stmt.where(Committee.status == "filed").order_by(Committee.name))
            if is_active_committee(c)]


def specialty_choices(committee: Committee) -> list[Specialty]:
    """评审专业: the committee's own specialties (按专业创建), else every enabled specialty of its series."""
    if committee.specialties:
        return [link.specialty for link in committee.specialties]
    return list(db.session.scalars(select(Specialty).where(
        Specialty.series_code == committee.series_code, Specialty.enabled.is_(True)).order_by(Specialty.code)))


def _committee(actor: User, data: Mapping[str, Any], errors: dict[str, list[str]]) -> Committee | None:
    committee_id = _int(data.get("committee_id"))
    committee = db.session.get(Committee, committee_id) if committee_id else None
    if committee is None or not access.has_permission(actor, PUBLISH_PERMISSION, committee.forming_unit):
        _add(errors, "committee_id", "评委会名称：请选择本单位的评委会")
        return None
    if not is_active_committee(committee):
        _add(errors, "committee_id", f"评委会名称：评委会「{committee.name}」{committee.status_label}，"
                                     "只有已备案且在有效期内的评委会可以发布评审活动")
        return None
    return committee


def clean_basic(committee: Committee | None, data: Mapping[str, Any],
                errors: dict[str, list[str]]) -> dict[str, Any]:
    """评审活动信息 (对外公布信息 and 对内评审方案) and 开设级别 / 评审专业; problems go into `errors`."""
    values: dict[str, Any] = {
        "name": _text(data, "name", "评审活动名称", 50, errors),
        "scope": _text(data, "scope", "申报范围", 50, errors),
        "arrangement": _text(data, "arrangement", "评审活动安排", 500, errors, required=False),
        "document_number": _text(data, "document_number", "文号录入", 50, errors, required=False),
    }
    year = _int(data.get("year"))
    if year is None or not 2000 <= year <= date.today().year + 1:
        _add(errors, "year", f"评审归属年份：请填写 2000 至 {date.today().year + 1} 之间的年份")
    values["year"] = year
    for name, label, labels in CHOICE_FIELDS:
        value = str(data.get(name) or "")
        if value not in labels:
            _add(errors, name, f"{label}：请选择")
        values[name] = value
    for name, label in YES_NO_FIELDS:
        flag = _yes_no(data.get(name))
        if flag is None:
            _add(errors, name, f"{label}：请选择是或否")
        values[name] = bool(flag)
    group_method = str(data.get("group_method") or "")
    if values["specialty_groups"] and group_method not in GROUP_METHOD_LABELS:
        _add(errors, "group_method", "专业组评审方式：设置专业组时请选择专家投票或专家打分")
    values["group_method"] = group_method if values["specialty_groups"] else ""
    raw_years = str(data.get("min_title_years") or "").strip()
    years = _int(raw_years) if raw_years else None
    if raw_years and (years is None or not 0 < years <= 30):
        _add(errors, "min_title_years", "任现职称年限要求：请填写 1 至 30 之间的整数年，不要求时留空")
    values["min_title_years"] = years
    _clean_times(data, values, errors)
    if committee is not None:
        _clean_scope(committee, data, values, errors)
    return values


def _clean_times(data: Mapping[str, Any], values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    for name, label in TIME_FIELDS:
        moment = parse_time(data.get(name))
        if moment is None:
            _add(errors, name, f"{label}：请填写有效的时间（如 2024-02-26 14:45:00）")
        values[name] = moment
    # 申报开始 → 个人初次提交截止 → 个人修改提交截止 → 评委会接收申报截止 (S 1.2.4.1 填写说明).
    (start, start_label), *rest = TIME_FIELDS
    if values[start] is not None and values[rest[0][0]] is not None and values[rest[0][0]] <= values[start]:
        _add(errors, rest[0][0], f"{rest[0][1]}：须晚于{start_label}")
    for (earlier, earlier_label), (later, later_label) in zip(rest, rest[1:], strict=False):
        if values[earlier] is not None and values[later] is not None and values[later] < values[earlier]:
            _add(errors, later, f"{later_label}：不能早于{earlier_label}")


def _clean_scope(committee: Committee, data: Mapping[str, Any], values: dict[str, Any],
                 errors: dict[str, list[str]]) -> None:
    filed = committee.level_codes
    levels = sorted(set(_list(data.get("level_codes"))))
    if not levels:
        _add(errors, "level_codes", "开设级别：至少选择一个级别")
    elif set(levels) - set(filed):
        _add(errors, "level_codes", "开设级别：只能选择评委会备案通过的评审层级")
    allowed = {s.id for s in specialty_choices(committee)}
    specialty_ids = sorted({int(v) for v in _list(data.get("specialty_ids")) if v.isdigit() and len(v) < 10})
    if len(specialty_ids) != len(set(_list(data.get("specialty_ids")))) or set(specialty_ids) - allowed:
        _add(errors, "specialty_ids", "评审专业：只能选择评委会的评审专业")
    if committee.build_mode == "specialty" and not specialty_ids:
        _add(errors, "specialty_ids", "评审专业：至少选择一个评审专业")
    values["level_codes"], values["specialty_ids"] = levels, specialty_ids


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)


def _apply(activity: ReviewActivity, values: dict[str, Any]) -> None:
    values = dict(values)
    level_codes, specialty_ids = values.pop("level_codes"), values.pop("specialty_ids")
    for key, value in values.items():
        setattr(activity, key, value)
    activity.levels = [ActivityLevel(level_code=code) for code in level_codes]
    activity.specialties = [ActivitySpecialty(specialty_id=sid) for sid in specialty_ids]


# --- create / edit -----------------------------------------------------------------------------------------------

def create_activity(actor: User, data: Mapping[str, Any]) -> ReviewActivity:
    """新增评审活动: the committee is chosen once; the configuration starts from its last activity or the defaults."""
    access.require_permission(actor, PUBLISH_PERMISSION, actor.unit)
    errors: dict[str, list[str]] = {}
    committee = _committee(actor, data, errors)
    values = clean_basic(committee, data, errors)
    _raise(errors)
    assert committee is not None
    activity = ReviewActivity(committee_id=committee.id, unit_id=committee.forming_unit_id,
                              reviewing_unit_id=committee.authorizing_unit_id, status="draft",
                              created_by_id=actor.id)
    _apply(activity, values)
    db.session.add(activity)
    db.session.flush()
    _seed_configuration(activity)
    audit_log.record(actor, "activity.create", f"新增评审活动「{activity.name}」", "review_activity", activity.id)
    return activity


def _seed_configuration(activity: ReviewActivity) -> None:
    source = last_activity(activity.committee_id, exclude_id=activity.id)
    if source is not None:
        _copy_configuration(source, activity)
        return
    config = template_config()
    activity.achievements = [ActivityAchievement(position=n, **item)
                             for n, item in enumerate(config["default_items"], 1)]
    activity.material_requirements = [ActivityMaterialRequirement(position=n, **item)
                                      for n, item in enumerate(config["default_materials"], 1)]
    db.session.flush()


def last_activity(committee_id: int, exclude_id: int | None = None) -> ReviewActivity | None:
    stmt = select(ReviewActivity).where(ReviewActivity.committee_id == committee_id)
    if exclude_id is not None:
        stmt = stmt.where(ReviewActivity.id != exclude_id)
    return db.session.scalar(stmt.order_by(ReviewActivity.id.desc()).limit(1))


def _copy_achievements(source: ReviewActivity, target: ReviewActivity) -> None:
    target.achievements = [ActivityAchievement(
        position=a.position, title=a.title, templates=list(a.templates), description=a.description,
        required=a.required, min_count=a.min_count, max_count=a.max_count) for a in source.achievements]


def _copy_configuration(source: ReviewActivity, target: ReviewActivity) -> None:
    _copy_achievements(source, target)
    target.exceptional_conditions = [ActivityExceptionalCondition(
        position=c.position, level_code=c.level_code if c.level_code in target.level_codes else None,
        title=c.title, description=c.description, proof_required=c.proof_required)
        for c in source.exceptional_conditions]
    target.material_requirements = [ActivityMaterialRequirement(
        position=m.position, name=m.name, required=m.required, max_files=m.max_files, max_size_mb=m.max_size_mb,
        file_types=list(m.file_types)) for m in source.material_requirements]
    db.session.flush()


def is_editable(activity: ReviewActivity) -> bool:
    return activity.status in EDITABLE_STATUSES


def _require_editable(activity: ReviewActivity) -> None:
    if not is_editable(activity):
        raise Conflict(f"评审活动「{activity.name}」{activity.status_label}，当前不能修改")


def update_activity(actor: User, activity: ReviewActivity, data: Mapping[str, Any]) -> ReviewActivity:
    """Edit 评审活动信息, 开设级别 and 评审专业; the committee stays the one chosen at creation."""
    _require_editable(activity)
    errors: dict[str, list[str]] = {}
    values = clean_basic(activity.committee, data, errors)
    _raise(errors)
    _apply(activity, values)
    # 破格条件 of a level no longer opened apply to every opened level instead of none.
    for condition in activity.exceptional_conditions:
        if condition.level_code and condition.level_code not in values["level_codes"]:
            condition.level_code = None
    db.session.flush()
    audit_log.record(actor, "activity.update", f"编辑评审活动「{activity.name}」", "review_activity", activity.id)
    return activity


# --- 业绩成果配置, 破格条件配置, 申报材料需求配置 -----------------------------------------------------------------

def _rows_limit(rows: Sequence[Mapping[str, Any]], field: str, label: str) -> None:
    if len(rows) > _limit("max_items"):
        raise InvalidInput(f"{label}：最多 {_limit('max_items')} 项", field=field)


def _count(raw: Any, name: str, label: str, errors: dict[str, list[str]], default: int, minimum: int = 0) -> int:
    if str(raw if raw is not None else "").strip() == "":
        return default
    value = _int(raw)
    if value is None or not minimum <= value <= _limit("max_count"):
        _add(errors, name, f"{label}：请填写 {minimum} 至 {_limit('max_count')} 之间的整数")
        return default
    return value


def save_achievements(actor: User, activity: ReviewActivity, rows: Sequence[Mapping[str, Any]]) -> None:
    """业绩成果配置: 序号 order, 展示标题 of the ten, one or more of the eight templates, 业绩要求描述."""
    _require_editable(activity)
    _rows_limit(rows, "achievements", "业绩成果配置")
    titles, names = achievement_titles(), template_names()
    errors: dict[str, list[str]] = {}
    items = []
    for n, row in enumerate(rows, 1):
        where = f"业绩成果配置第 {n} 项"
        title = str(row.get("title") or "")
        if title not in titles:
            _add(errors, f"achievements-{n}-title", f"{where}：展示标题请从下拉选项中选择")
        templates = list(dict.fromkeys(_list(row.get("templates"))))
        if not templates or set(templates) - set(names):
            _add(errors, f"achievements-{n}-templates", f"{where}：模板类别至少选择一个")
        description = str(row.get("description") or "").strip()
        if len(description) > _limit("description_length"):
            _add(errors, f"achievements-{n}-description",
                 f"{where}：业绩要求描述不能超过 {_limit('description_length')} 个字")
        position = _count(row.get("position"), f"achievements-{n}-position", f"{where}：序号", errors, n, 1)
        required = bool(_yes_no(row.get("required")))
        min_count = _count(row.get("min_count"), f"achievements-{n}-min_count", f"{where}：最少条数", errors,
                           1 if required else 0)
        max_count = _count(row.get("max_count"), f"achievements-{n}-max_count", f"{where}：最多条数", errors, 10, 1)
        if max_count < min_count:
            _add(errors, f"achievements-{n}-max_count", f"{where}：最多条数不能少于最少条数")
        if required and min_count < 1:
            _add(errors, f"achievements-{n}-min_count", f"{where}：必填项的最少条数至少为 1")
        items.append(ActivityAchievement(position=position, title=title, templates=templates,
                                         description=description, required=required, min_count=min_count,
                                         max_count=max_count))
    _raise(errors)
    items.sort(key=lambda item: item.position)
    activity.achievements = items
    db.session.flush()
    audit_log.record(actor, "activity.achievements", f"评审活动「{activity.name}」保存业绩成果配置（{len(items)} 项）",
                     "review_activity", activity.id)


def import_achievements(actor: User, activity: ReviewActivity, source_id: int) -> int:
    """导入业绩成果要求 from another activity of the same committee."""
    _require_editable(activity)
    source = db.session.get(ReviewActivity, source_id)
    if source is None or source.committee_id != activity.committee_id or source.id == activity.id:
        raise InvalidInput("导入来源：只能从同一评委会的其他评审活动导入", field="source_id")
    _copy_achievements(source, activity)
    db.session.flush()
    audit_log.record(actor, "activity.achievements", f"评审活动「{activity.name}」从「{source.name}」导入业绩成果配置",
                     "review_activity", activity.id)
    return len(source.achievements)


def save_exceptional_conditions(actor: User, activity: ReviewActivity, rows: Sequence[Mapping[str, Any]]) -> None:
    """破格条件配置: the conditions 破格 applicants choose from, for one opened level or every one."""
    _require_editable(activity)
    _rows_limit(rows, "exceptional", "破格条件配置")
    errors: dict[str, list[str]] = {}
    items = []
    for n, row in enumerate(rows, 1):
        where = f"破格条件配置第 {n} 项"
        title = _text(row, "title", f"{where}：破格条件名称", 50, errors)
        description = _text(row, "description", f"{where}：条件说明", 500, errors, required=False)
        level_code = str(row.get("level_code") or "") or None
        if level_code is not None and level_code not in activity.level_codes:
            _add(errors, f"exceptional-{n}-level_code", f"{where}：适用级别只能是本次开设的级别")
        items.append(ActivityExceptionalCondition(position=n, level_code=level_code, title=title,
                                                  description=description,
                                                  proof_required=_yes_no(row.get("proof_required")) is not False))
    errors = {(k if k.startswith("exceptional") else "exceptional"): v for k, v in errors.items()}
    _raise(errors)
    activity.exceptional_conditions = items
    db.session.flush()
    audit_log.record(actor, "activity.exceptional", f"评审活动「{activity.name}」保存破格条件配置（{len(items)} 项）",
                     "review_activity", activity.id)


def save_material_requirements(actor: User, activity: ReviewActivity, rows: Sequence[Mapping[str, Any]]) -> None:
    """申报材料需求配置: which materials applicants upload, whether required, how many files, how large."""
    _require_editable(activity)
    _rows_limit(rows, "materials", "申报材料需求配置")
    allowed_types = set(template_config()["file_types"])
    errors: dict[str, list[str]] = {}
    items = []
    for n, row in enumerate(rows, 1):
        where = f"申报材料需求配置第 {n} 项"
        name = _text(row, "name", f"{where}：材料名称", 50, errors)
        max_files = _count(row.get("max_files"), f"materials-{n}-max_files", f"{where}：最多份数", errors, 1, 1)
        size = _count(row.get("max_size_mb"), f"materials-{n}-max_size_mb", f"{where}：单个文件大小上限（MB）",
                      errors, 10, 1)
        if size > _limit("max_size_mb"):
            _add(errors, f"materials-{n}-max_size_mb", f"{where}：单个文件大小上限不能超过 {_limit('max_size_mb')} MB")
        types = list(dict.fromkeys(_list(row.get("file_types"))))
        if not types or set(types) - allowed_types:
            _add(errors, f"materials-{n}-file_types", f"{where}：文件类型至少选择一种（{'、'.join(sorted(allowed_types))}）")
        items.append(ActivityMaterialRequirement(position=n, name=name, required=_yes_no(row.get("required")) is not
                                                 False, max_files=max_files, max_size_mb=size, file_types=types))
    if len({item.name for item in items}) != len(items):
        _add(errors, "materials", "申报材料需求配置：材料名称不能重复")
    errors = {(k if k.startswith("materials") else "materials"): v for k, v in errors.items()}
    _raise(errors)
    activity.material_requirements = items
    db.session.flush()
    audit_log.record(actor, "activity.materials", f"评审活动「{activity.name}」保存申报材料需求配置（{len(items)} 项）",
                     "review_activity", activity.id)


# --- 评审政策文件 and 评审工作方案 (S 1.2.4.1 上传附件) ---------------------------------------------------------------

# kind → (label, attribute). 评审政策文件 is for publication (public once the activity is 已发布); 评审工作方案 is for
# the review inside the units (the publishing unit and its 授权管理单位's reviewers).
FILE_KINDS = {"policy": ("评审政策文件(对外发布使用)", "policy_files"), "plan": ("评审工作方案(对内审核使用)", "plan_files")}
FILE_TYPES = ("pdf", "docx", "jpg", "png")
MAX_FILES_PER_KIND = 10


def _kind(kind: str) -> tuple[str, str]:
    if kind not in FILE_KINDS:
        raise NotFound("附件类别不存在")
    return FILE_KINDS[kind]


def activity_file_field(kind: str) -> FieldDefinition:
    label, _attribute = _kind(kind)
    return FieldDefinition(kind, label, "file", max_size_mb=_limit("max_size_mb"), accept=FILE_TYPES)


def add_activity_file(actor: User, activity: ReviewActivity, kind: str, filename: str, content: bytes) -> None:
    """上传附件 while the activity may be edited; the same file twice or more than ten are refused."""
    access.require_permission(actor, PUBLISH_PERMISSION, activity.unit)
    _require_editable(activity)
    label, attribute = _kind(kind)
    checked = file_store.check(activity_file_field(kind), filename, content)
    files = list(getattr(activity, attribute) or [])
    if len(files) >= MAX_FILES_PER_KIND:
        raise InvalidInput(f"{label}：最多上传 {MAX_FILES_PER_KIND} 个附件", field=kind)
    if any(f["sha256"] == checked.sha256 for f in files):
        raise InvalidInput(f"{label}：该文件已上传", field=kind)
    setattr(activity, attribute, [*files, {"sha256": checked.sha256, "filename": checked.filename,
                                           "size": checked.size, "file_type": checked.file_type}])
    db.session.flush()
    file_store.store(checked, content)
    audit_log.record(actor, "activity.file", f"评审活动「{activity.name}」上传{label}：{checked.filename}",
                     "review_activity", activity.id)


def remove_activity_file(actor: User, activity: ReviewActivity, kind: str, sha256: str) -> None:
    access.require_permission(actor, PUBLISH_PERMISSION, activity.unit)
    _require_editable(activity)
    label, attribute = _kind(kind)
    files = list(getattr(activity, attribute) or [])
    kept = [f for f in files if f["sha256"] != sha256]
    if len(kept) == len(files):
        raise NotFound("附件不存在")
    setattr(activity, attribute, kept)
    audit_log.record(actor, "activity.file.delete", f"评审活动「{activity.name}」删除{label}", "review_activity",
                     activity.id)


def activity_file(activity: ReviewActivity, kind: str, sha256: str) -> dict[str, Any]:
    _label, attribute = _kind(kind)
    for record in getattr(activity, attribute) or []:
        if record["sha256"] == sha256:
            return dict(record)
    raise NotFound("附件不存在")


# --- lists and loading -----------------------------------------------------------------------------------------

def own_activities(actor: User, keyword: str = "", status: str = "", year: int | None = None,
                   committee_id: int | None = None) -> Select[tuple[ReviewActivity]]:
    """评审活动发布 list: the activities of the actor's unit (scope unit)."""
    stmt = access.scope_to_units(select(ReviewActivity), ReviewActivity.unit_id, actor, PUBLISH_PERMISSION)
    if keyword:
        stmt = stmt.where(ReviewActivity.name.icontains(keyword[:50], autoescape=True))
    if status:
        stmt = stmt.where(ReviewActivity.status == status)
    if year:
        stmt = stmt.where(ReviewActivity.year == year)
    if committee_id:
        stmt = stmt.where(ReviewActivity.committee_id == committee_id)
    return stmt.order_by(ReviewActivity.id.desc())


def load_own_activity(actor: User, activity_id: int) -> ReviewActivity:
    """An activity of the actor's unit; other units' ids answer 404 so they cannot be probed."""
    activity = db.session.get(ReviewActivity, activity_id)
    if activity is None or not access.has_permission(actor, PUBLISH_PERMISSION, activity.unit):
        raise NotFound("评审活动不存在或无权查看")
    return activity


def import_sources(activity: ReviewActivity) -> list[ReviewActivity]:
    return list(db.session.scalars(select(ReviewActivity).where(
        ReviewActivity.committee_id == activity.committee_id, ReviewActivity.id != activity.id)
        .order_by(ReviewActivity.id.desc())))


def public_activities(keyword: str = "") -> Select[tuple[ReviewActivity]]:
    """首页公开的评审活动: 已发布 and 对外公开 only (S 1.2.4.1 【是否对外公开】)."""
    stmt = select(ReviewActivity).where(ReviewActivity.status == "published", ReviewActivity.public.is_(True))
    if keyword:
        stmt = stmt.where(ReviewActivity.name.icontains(keyword[:50], autoescape=True))
    return stmt.order_by(ReviewActivity.published_at.desc(), ReviewActivity.id.desc())
