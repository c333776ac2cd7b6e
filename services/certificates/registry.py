"""After issuance (H 1.18 证书报送人社部, 1.19 证书撤销, 1.20 证书查询; FEATURES I5, I7).

Rules owned here:
- 证书查询 lists the certificates of the units the person may see (`certificate.query`, subtree) with filters and
  paging; one query per page (the issuance is joined).
- 证书撤销 needs a reason; the certificate keeps its number (never reused) and its verification page says 已撤销
  at once (the page reads the row on every request).
- 证书报送人社部 exports the chosen certificates, or all not yet reported, as an xlsx in the format below, and records
  what was sent and when (`CertificateReport`; each certificate keeps the report it went in).
- The public verification page shows only what a reader needs to trust the paper: name, a masked ID number,
  资格名称, 级别, 系列 / 专业, number, 电子证照标识, 发证机关, 发证日期, and whether it is valid or 已撤销.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import contains_eager

from app.extensions import db
from app.models import Certificate, CertificateReport, Issuance, Unit, User
from services.authz import access
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.excel.export import write_table
from services.common.file_store import StoredFile, store
from services.reference.validation import mask_id_number

QUERY_PERMISSION, ISSUE_PERMISSION = "certificate.query", "certificate.issue"
# 证书报送人社部 file format (one row per certificate), documented in docs/architecture.md (Certificates).
REPORT_COLUMNS = ("证书编号", "姓名", "性别", "出生年月", "证件类型", "证件号码", "工作单位", "系列", "专业", "资格名称", "级别",
                  "取得资格时间", "评审委员会", "批准文号", "批准时间", "发证机关", "发证日期", "证书状态", "撤销原因", "核验码")


@dataclass(frozen=True)
class QueryFilters:
    name: str = ""
    id_number: str = ""
    number: str = ""
    approval_no: str = ""
    level_name: str = ""
    source: str = ""
    status: str = ""
    reported: str = ""  # "yes" / "no" / ""
    issued_from: date | None = None
    issued_to: date | None = None


def query(actor: User, filters: QueryFilters) -> Select[Any]:
    stmt = (select(Certificate).join(Certificate.issuance).options(contains_eager(Certificate.issuance))
            .where(Certificate.status != "draft"))
    stmt = access.scope_to_units(stmt, Certificate.issuer_unit_id, actor, QUERY_PERMISSION)
    if filters.name:
        stmt = stmt.where(Issuance.name.contains(filters.name))
    if filters.id_number:
        stmt = stmt.where(Issuance.id_number == filters.id_number.strip().upper())
    if filters.number:
        stmt = stmt.where(Certificate.number.startswith(filters.number.strip()))
    if filters.approval_no:
        stmt = stmt.where(Issuance.approval_no == filters.approval_no.strip())
    if filters.level_name:
        stmt = stmt.where(Issuance.level_name == filters.level_name)
    if filters.source:
        stmt = stmt.where(Issuance.source == filters.source)
    if filters.status in ("valid", "revoked"):
        stmt = stmt.where(Certificate.status == filters.status)
    if filters.reported == "yes":
        stmt = stmt.where(Certificate.report_id.is_not(None))
    elif filters.reported == "no":
        stmt = stmt.where(Certificate.report_id.is_(None))
    if filters.issued_from:
        stmt = stmt.where(Certificate.issued_on >= filters.issued_from)
    if filters.issued_to:
        stmt = stmt.where(Certificate.issued_on <= filters.issued_to)
    return stmt.order_by(Certificate.id.desc())


def load(actor: User, certificate_id: int) -> Certificate:
    """A certificate the person may see; another unit's answers 404."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.status == "draft":
        raise NotFound("证书不存在")
    unit = db.session.get(Unit, certificate.issuer_unit_id)
    if unit is None or not access.has_permission(actor, QUERY_PERMISSION, unit):
        raise NotFound("证书不存在")
    return certificate


def load_issued_by(actor: User, certificate_id: int) -> Certificate:
    """A certificate of the actor's own unit (the issuing unit acts on it); any other answers 404."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.status == "draft" or certificate.issuer_unit_id != actor.unit_id:
        raise NotFound("证书不存在")
    return certificate


def revoke(actor: User, certificate: Certificate, reason: str) -> None:
    """证书撤销 (H 1.19) by the issuing unit, with a reason; the number stays taken."""
    if actor.unit_id != certificate.issuer_unit_id:  # only the issuing unit revokes; others cannot probe ids
        raise NotFound("证书不存在")
    access.require_permission(actor, ISSUE_PERMISSION, db.session.get(Unit, certificate.issuer_unit_id))
    reason = reason.strip()
    if not reason:
        raise InvalidInput("撤销原因：必填", field="reason")
    if len(reason) > 500:
        raise InvalidInput("撤销原因：不能超过 500 个字", field="reason")
    if certificate.status != "valid":
        raise Conflict("该证书已撤销")
    certificate.status, certificate.revoke_reason = "revoked", reason
    certificate.revoked_at, certificate.revoked_by_id = datetime.now(), actor.id
    db.session.flush()
    audit_log.record(actor, "certificate.revoke", f"撤销证书 {certificate.number}（{certificate.issuance.name}）：{reason}",
                     "certificate", certificate.id)


def report_row(certificate: Certificate) -> list[Any]:
    i = certificate.issuance
    return [certificate.number, i.name, i.gender, i.birth_month, i.id_type, i.id_number, i.work_unit, i.series_name,
            i.specialty_name, i.title_name, i.level_name, i.qualified_on.isoformat() if i.qualified_on else "",
            i.committee_name, i.approval_no, i.approved_on.isoformat() if i.approved_on else "", certificate.issuer_name,
            certificate.issued_on.isoformat(), certificate.status_label, certificate.revoke_reason,
            certificate.verify_code]


def report(actor: User, certificate_ids: Sequence[int] | None) -> CertificateReport:
    """证书报送人社部 (H 1.18): 批量上报 the chosen certificates, or 全部上报 (None) every one not yet reported."""
    access.require_permission(actor, ISSUE_PERMISSION, actor.unit)
    stmt = (select(Certificate).join(Certificate.issuance).options(contains_eager(Certificate.issuance))
            .where(Certificate.issuer_unit_id == actor.unit_id, Certificate.status != "draft",
                   Certificate.report_id.is_(None)).order_by(Certificate.id))
    if certificate_ids is not None:
        if not certificate_ids:
            raise InvalidInput("请至少选择一张证书", field="certificate_ids")
        stmt = stmt.where(Certificate.id.in_(list(certificate_ids)))
    certificates = list(db.session.scalars(stmt))
    if not certificates:
        raise Conflict("没有待上报的证书")
    content = write_table("证书报送", REPORT_COLUMNS, (report_row(c) for c in certificates))
    sha256 = hashlib.sha256(content).hexdigest()
    filename = f"证书报送人社部_{datetime.now():%Y%m%d%H%M%S}.xlsx"
    store(StoredFile(sha256, filename, len(content), "xlsx"), content)
    record = CertificateReport(unit_id=actor.unit_id, count=len(certificates), file_sha256=sha256, filename=filename,
                               created_by_id=actor.id)
    db.session.add(record)
    db.session.flush()
    for certificate in certificates:
        certificate.report_id = record.id
    db.session.flush()
    audit_log.record(actor, "certificate.report", f"证书报送人社部 {len(certificates)} 张", "certificate_report",
                     record.id)
    return record


@dataclass(frozen=True)
class Verification:
    """What the public verification page shows (nothing more)."""

    valid: bool
    status_label: str
    name: str
    id_number_masked: str
    title_name: str
    level_name: str
    series_name: str
    specialty_name: str
    number: str
    issuer_name: str
    issued_on: date
    revoked_on: date | None
    license_id: str = ""  # 电子证照标识


def verify(code: str) -> Verification:
    if not code or len(code) > 40:
        raise NotFound("证书不存在或核验码无效")
    certificate = db.session.scalar(select(Certificate).where(Certificate.verify_code == code,
                                                              Certificate.status != "draft"))
    if certificate is None:
        raise NotFound("证书不存在或核验码无效")
    i = certificate.issuance
    return Verification(valid=certificate.status == "valid", status_label="有效" if certificate.status == "valid" else "已撤销",
                        name=i.name, id_number_masked=mask_id_number(i.id_number), title_name=i.title_name,
                        level_name=i.level_name, series_name=i.series_name, specialty_name=i.specialty_name,
                        number=certificate.number, issuer_name=certificate.issuer_name,
                        issued_on=certificate.issued_on,
                        revoked_on=certificate.revoked_at.date() if certificate.revoked_at else None,
                        license_id=certificate.license_id or "")
