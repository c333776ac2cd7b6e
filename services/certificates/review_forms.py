"""下载评审表 (S 1.2.8.1.1–3 已发放: 证书详情、下载评审表; FEATURES I1): the 专业技术职务任职资格评审表 of a certificate.

Rules owned here:
- The 评审表 is the record behind a certificate, in one document: the certificate's fields; what the person
  declared (基本信息、学历、工作经历、任职以来考核、业绩成果, from the declaration's snapshot taken at 提交); every
  level of the review chain with its 审核意见, who and when (the application_review instance's 经办流程, named by
  step as 查看经办流程 names them); the committee's count per round (应到 / 实到, 同意 / 不同意 / 弃权, 评审结果); the
  评审结果确认 (unit, result, opinion, 文号); and the issuance's own steps (审核发证信息, 发放证书).
- A certificate with no declaration behind it (初定, an imported list, 历史) has a 评审表 with the certificate's
  fields and its issuance steps only, and says so.
- Who may download: whoever may see the certificate (`registry.load`: 证书查询 over the issuing unit, which the
  issuers' 已发放 queue links to). The ID number is masked (510106********7209) as on every staff page: the 评审表
  circulates as a paper, and the full number is on the certificate itself.
- Rendering: the same wkhtmltopdf restrictions as the certificates (services.certificates.documents), A4
  portrait; many forms are one document in one process per documents.CHUNK forms, merged in order. More than
  INLINE_LIMIT forms are rendered as a background job whose result file is the merged PDF.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import jinja2
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Certificate,
    Declaration,
    Issuance,
    MeetingApplicant,
    ResultEntry,
    ReviewMeeting,
    RoundResult,
    Unit,
    User,
)
from services.applications import application_review
from services.applications.application_queries import AchievementGroup, achievement_views
from services.certificates import documents, registry
from services.certificates.issuance import BUSINESS_TYPE as ISSUANCE_BUSINESS_TYPE
from services.common import audit_log
from services.common.errors import InvalidInput
from services.jobs import JobContext, job_kind, start_job
from services.meetings.tally import Tally
from services.reference.validation import mask_id_number
from services.workflow import instances

INLINE_LIMIT = 5  # up to this many forms are rendered in the request; more go to a background job
MAX_SELECTION = 500
PDF_MIMETYPE = "application/pdf"
CONFIRMATION_BUSINESS_TYPE = "result_confirmation"  # services.results.confirmation (which imports this package)
GENDERLESS = "—"


@dataclass(frozen=True)
class ChainStep:
    """One step of a 经办流程 as the 评审表 prints it."""

    stage: str
    unit_name: str
    actor_name: str
    action: str
    opinion: str
    at: str


@dataclass(frozen=True)
class RoundCount:
    """One round's count of the person at the committee's meeting (同意 / 不同意 / 弃权 of those present)."""

    round_no: int
    group: str
    count: Tally
    result_label: str


@dataclass(frozen=True)
class ReviewForm:
    certificate: list[tuple[str, str]]
    number: str
    name: str
    title_name: str
    has_declaration: bool = False
    basics: list[tuple[str, str]] = field(default_factory=list)
    educations: list[dict[str, str]] = field(default_factory=list)
    work_history: list[dict[str, str]] = field(default_factory=list)
    assessments: list[tuple[str, str]] = field(default_factory=list)
    achievements: list[AchievementGroup] = field(default_factory=list)
    review_chain: list[ChainStep] = field(default_factory=list)
    meeting_name: str = ""
    rounds: list[RoundCount] = field(default_factory=list)
    confirmation: list[tuple[str, str]] = field(default_factory=list)
    confirmation_chain: list[ChainStep] = field(default_factory=list)
    issuance_chain: list[ChainStep] = field(default_factory=list)


def _day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat()


# The issuance's own decisions (services.certificates.bulk.ACTIONS) beside the engine's review actions.
ACTION_LABELS = {**instances.ACTION_LABELS, "issue": "发放证书", "cancel": "取消发证"}


def _chain(business_type: str, business_id: int, stage_names: Any = None) -> list[ChainStep]:
    instance = instances.instance_for(business_type, business_id)
    if instance is None:
        return []
    trail = instances.trail(instance.id)
    names: dict[int, str] = stage_names(trail) if stage_names else {}
    return [ChainStep(names.get(e.id, e.task_name or ""), e.unit_name, e.actor_name,
                      ACTION_LABELS.get(e.action, e.action), e.opinion, _day(e.at))
            for e in trail if e.human_task_id is not None]


def _certificate_fields(certificate: Certificate, issuance: Issuance) -> list[tuple[str, str]]:
    return [
        ("证书编号", certificate.number), ("电子证照标识", certificate.license_id or ""),
        ("证书状态", certificate.status_label), ("姓名", issuance.name),
        ("性别", issuance.gender or GENDERLESS), ("出生年月", issuance.birth_month),
        ("证件类型", issuance.id_type), ("证件号码", mask_id_number(issuance.id_number)),
        ("工作单位", issuance.work_unit), ("系列", issuance.series_name), ("专业", issuance.specialty_name),
        ("资格名称", issuance.title_name), ("级别", issuance.level_name), ("取得资格时间", _day(issuance.qualified_on)),
        ("评审委员会", issuance.committee_name), ("批准文号", issuance.approval_no),
        ("批准时间", _day(issuance.approved_on)), ("发证机关", certificate.issuer_name),
        ("发证日期", _day(certificate.issued_on)), ("来源", issuance.source_label),
    ]


def _result_entry(issuance: Issuance) -> ResultEntry | None:
    kind, _, ref = issuance.source_ref.partition(":")
    if kind != "result" or not ref.isdigit():
        return None
    return db.session.get(ResultEntry, int(ref))


def _basics(declaration: Declaration) -> list[tuple[str, str]]:
    snapshot = declaration.snapshot or {}
    return [
        ("姓名", snapshot.get("name", "")), ("性别", snapshot.get("gender", "")),
        ("出生日期", snapshot.get("birth_date", "")), ("民族", snapshot.get("ethnicity", "")),
        ("政治面貌", snapshot.get("political_status", "")), ("工作单位", snapshot.get("unit_name", "")),
        ("参加工作时间", snapshot.get("work_start_date", "")), ("从事专业", snapshot.get("specialty", "")),
        ("现任职称", snapshot.get("title", "")), ("取得时间", snapshot.get("title_obtained_on", "")),
        ("申报层级", declaration.level.name if declaration.level else declaration.level_code),
        ("申报专业", declaration.specialty.name if declaration.specialty else ""),
        ("评价方式", declaration.evaluation_method_label), ("提交时间", _day(declaration.submitted_at)),
    ]


def _rounds(declaration: Declaration) -> tuple[str, list[RoundCount]]:
    rows = db.session.execute(
        select(RoundResult, ReviewMeeting.name)
        .join(MeetingApplicant, MeetingApplicant.id == RoundResult.meeting_applicant_id)
        .join(ReviewMeeting, ReviewMeeting.id == RoundResult.meeting_id)
        .where(MeetingApplicant.declaration_id == declaration.id)
        .order_by(RoundResult.meeting_id, RoundResult.round_no)).all()
    counts = [RoundCount(r.round_no, r.specialty_group, Tally(r.members, r.present, r.votes_pass, r.votes_fail,
                                                              r.votes_abstain, r.result), r.result_label)
              for r, _ in rows]
    return (rows[-1][1] if rows else ""), counts


def _with_declaration(form: ReviewForm, entry: ResultEntry) -> ReviewForm:
    declaration = entry.declaration
    meeting_name, rounds = _rounds(declaration)
    snapshot = declaration.snapshot or {}
    confirming = db.session.get(Unit, entry.confirming_unit_id)
    return ReviewForm(
        certificate=form.certificate, number=form.number, name=form.name, title_name=form.title_name,
        has_declaration=True, basics=_basics(declaration),
        educations=list(snapshot.get("educations", [])), work_history=list(snapshot.get("work_history", [])),
        assessments=[(str(a.get("year", "")), str(a.get("result", ""))) for a in declaration.assessments or []],
        achievements=achievement_views(declaration),
        review_chain=_chain(application_review.BUSINESS_TYPE, declaration.id,
                            lambda trail: application_review.trail_step_names(declaration, trail)),
        meeting_name=meeting_name, rounds=rounds,
        confirmation=[("确认单位", confirming.name if confirming else ""), ("确认结果", entry.status_label),
                      ("确认意见", entry.opinion), ("确认时间", _day(entry.decided_at)),
                      ("职称文件文号", entry.doc_no), ("批准时间", _day(entry.approved_on))],
        confirmation_chain=_chain(CONFIRMATION_BUSINESS_TYPE, entry.id),
        issuance_chain=form.issuance_chain)


def review_form(certificate: Certificate) -> ReviewForm:
    """The 评审表 of one certificate (the caller has checked that the person may see it)."""
    issuance = certificate.issuance
    form = ReviewForm(certificate=_certificate_fields(certificate, issuance), number=certificate.number,
                      name=issuance.name, title_name=issuance.title_name,
                      issuance_chain=_chain(ISSUANCE_BUSINESS_TYPE, issuance.id))
    entry = _result_entry(issuance)
    return _with_declaration(form, entry) if entry is not None else form


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(documents.TEMPLATE_DIR), autoescape=True)
    return environment.get_template("review_form.html")


def render(forms: Sequence[ReviewForm]) -> bytes:
    """One PDF of every form in order: a wkhtmltopdf process per documents.CHUNK forms, merged."""
    parts = [documents.render_portrait(_template().render(forms=forms[start:start + documents.CHUNK]))
             for start in range(0, len(forms), documents.CHUNK)]
    if len(parts) == 1:
        return parts[0]
    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def visible_certificates(actor: User, certificate_ids: Sequence[int]) -> list[Certificate]:
    """The chosen certificates the person may see, in the order chosen; any other id is refused (404)."""
    for certificate_id in certificate_ids:
        registry.load(actor, certificate_id)
    rows = db.session.scalars(select(Certificate).where(Certificate.id.in_(certificate_ids))
                              .options(selectinload(Certificate.issuance)))
    by_id = {c.id: c for c in rows}
    return [by_id[i] for i in certificate_ids]


def review_forms_pdf(actor: User, certificate_ids: Sequence[int]) -> bytes:
    """下载评审表 of the chosen certificates as one PDF; the download is logged (DESIGN §4: every export is)."""
    if not certificate_ids:
        raise InvalidInput("请至少选择一张证书", field="certificate_ids")
    if len(certificate_ids) > MAX_SELECTION:
        raise InvalidInput(f"一次最多下载 {MAX_SELECTION} 份评审表", field="certificate_ids")
    certificates = visible_certificates(actor, certificate_ids)
    content = render([review_form(c) for c in certificates])
    numbers = "、".join(c.number for c in certificates[:3]) + ("等" if len(certificates) > 3 else "")
    audit_log.record(actor, "certificate.review_form", f"下载评审表 {len(certificates)} 份：{numbers}",
                     "certificate", certificates[0].id, {"certificate_ids": list(certificate_ids)})
    return content


def start_review_forms(actor: User, certificate_ids: Sequence[int]) -> Any:
    """Many 评审表 as a background job (its merged PDF is the job's result file); the ids are checked now."""
    if not certificate_ids:
        raise InvalidInput("请至少选择一张证书", field="certificate_ids")
    if len(certificate_ids) > MAX_SELECTION:
        raise InvalidInput(f"一次最多下载 {MAX_SELECTION} 份评审表", field="certificate_ids")
    visible_certificates(actor, certificate_ids)
    return start_job(actor, "certificates.review_forms", f"下载评审表（{len(certificate_ids)} 份）",
                     {"certificate_ids": [int(i) for i in certificate_ids]})


@job_kind("certificates.review_forms", "下载评审表", cancellable=False)
def _review_forms_job(ctx: JobContext, params: dict[str, Any]) -> None:
    actor = ctx.actor
    ids = [int(i) for i in params["certificate_ids"]]
    ctx.report_progress(0, len(ids))
    if actor is None:
        raise InvalidInput("启动任务的用户不存在")
    content = review_forms_pdf(actor, ids)  # the actor's access is checked again: it may have changed since
    db.session.commit()
    ctx.report_progress(len(ids), len(ids))
    ctx.attach_file(f"评审表（{len(ids)}份）.pdf", content, PDF_MIMETYPE)
    ctx.summary = f"已生成评审表 {len(ids)} 份（一个 PDF 文件）"

