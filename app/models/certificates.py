"""Electronic certificates (issue 17; S 1.2.8.1, H 1.9, 1.16–1.20, 1.29; RULES "Certificates").

- `CertificateIssuer` — 发证单位编码 (H 1.9): an issuing unit's code (by default the last four digits of its region
  code), its numbering pattern and the seal image its administrator uploaded.
- `NumberPool` — 证书编号库 (H 1.16): one per issuer, year and level; numbers are handed out from a generated block
  (`next_seq` … `end_seq`) that grows by itself; `next_seq` only ever increases, so no number is reused.
- `IssuanceBatch` — a 批次 (初定发证) or a 文号 group (评审 / 委托发证): 批准时间, 职称文件文号, the stamped 汇总表 PDF.
- `Issuance` — one person to certify, the business record of one `certificate_issuance` process instance; it
  carries every field the certificate prints (copied from its source: 初定, 评审, 委托 or 历史).
- `Certificate` — the issued certificate: number, unguessable verification code, PDF, 撤销, 报送人社部.
- `CertificateReport` — one 证书报送人社部 export (what was sent and when).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

SOURCE_LABELS = {"initial": "初定", "review": "评审", "delegated": "委托", "history": "历史"}
ISSUANCE_STATUS_LABELS = {"pending": "待处理", "queued": "待发放", "issued": "已发放", "cancelled": "已取消发证",
                          "returned": "已退回"}
CERTIFICATE_STATUS_LABELS = {"draft": "生成中", "valid": "有效", "revoked": "已撤销"}
DEFAULT_PATTERN = "{issuer}{year}{level}{seq:06d}"


class CertificateIssuer(db.Model):
    __tablename__ = "certificate_issuer"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), unique=True)
    code: Mapped[str] = mapped_column(String(12))
    pattern: Mapped[str] = mapped_column(String(60), default=DEFAULT_PATTERN)
    block_size: Mapped[int] = mapped_column(default=1000)
    seal_sha256: Mapped[str | None] = mapped_column(String(64))
    seal_filename: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="active")  # active / cancelled (注销, H 1.9)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=datetime.now)

    unit = relationship("Unit", lazy="joined")


class NumberPool(db.Model):
    __tablename__ = "certificate_number_pool"
    __table_args__ = (UniqueConstraint("issuer_id", "year", "level_rank", name="uq_certificate_number_pool_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("certificate_issuer.id"))
    year: Mapped[int] = mapped_column()
    level_rank: Mapped[int] = mapped_column()
    start_seq: Mapped[int] = mapped_column(default=1)
    end_seq: Mapped[int] = mapped_column()  # the generated block ends here; extended when used up
    next_seq: Mapped[int] = mapped_column(default=1)  # only increases: numbers are never reused
    created_at: Mapped[datetime] = mapped_column(default=datetime.now)


class IssuanceBatch(db.Model):
    __tablename__ = "issuance_batch"
    __table_args__ = (Index("ix_issuance_batch_unit_source", "issuer_unit_id", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    source: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(60))  # 批次号 or the 文号 it groups
    approval_no: Mapped[str] = mapped_column(String(60), default="")  # 职称文件文号 / 批准文号
    approved_on: Mapped[date | None] = mapped_column()  # 批准时间
    stamped_sha256: Mapped[str | None] = mapped_column(String(64))  # 线下盖章的汇总表 PDF
    stamped_filename: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=datetime.now)


class Issuance(db.Model):
    __tablename__ = "issuance"
    __table_args__ = (Index("ix_issuance_unit_status", "issuer_unit_id", "source", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(12))  # SOURCE_LABELS
    source_ref: Mapped[str] = mapped_column(String(60), default="")  # e.g. the declaration or result it came from
    issuer_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("issuance_batch.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # ISSUANCE_STATUS_LABELS
    reason: Mapped[str] = mapped_column(String(500), default="")  # 取消发证 / 退回 reason
    # The certificate's fields (RULES "Certificates").
    name: Mapped[str] = mapped_column(String(30))
    gender: Mapped[str] = mapped_column(String(4), default="")
    birth_month: Mapped[str] = mapped_column(String(7), default="")  # 出生年月 YYYY-MM
    id_type: Mapped[str] = mapped_column(String(20), default="居民身份证")
    id_number: Mapped[str] = mapped_column(String(30), index=True)
    work_unit: Mapped[str] = mapped_column(String(100), default="")
    series_name: Mapped[str] = mapped_column(String(30), default="")
    specialty_name: Mapped[str] = mapped_column(String(50), default="")
    title_name: Mapped[str] = mapped_column(String(30))  # 资格名称
    level_name: Mapped[str] = mapped_column(String(10))
    level_rank: Mapped[int] = mapped_column()
    qualified_on: Mapped[date | None] = mapped_column()  # 取得资格时间
    committee_name: Mapped[str] = mapped_column(String(100), default="")  # 评审委员会, or 初定 / 确认
    approval_no: Mapped[str] = mapped_column(String(60), default="")  # 批准文号
    approved_on: Mapped[date | None] = mapped_column()  # 批准时间
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=datetime.now)

    batch: Mapped[IssuanceBatch | None] = relationship()
    certificate: Mapped[Certificate | None] = relationship(back_populates="issuance", uselist=False)

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)

    @property
    def status_label(self) -> str:
        return ISSUANCE_STATUS_LABELS.get(self.status, self.status)


class CertificateReport(db.Model):
    __tablename__ = "certificate_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    count: Mapped[int] = mapped_column(default=0)
    file_sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=datetime.now)


class Certificate(db.Model):
    __tablename__ = "certificate"
    __table_args__ = (Index("ix_certificate_unit_status", "issuer_unit_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuance_id: Mapped[int] = mapped_column(ForeignKey("issuance.id"), unique=True)  # one per person to certify
    issuer_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 证书编号
    verify_code: Mapped[str] = mapped_column(String(40), unique=True)  # in the QR code: /verify/<code>
    license_id: Mapped[str | None] = mapped_column(String(120))  # 电子证照标识 (GB/T 36904), services.certificates
    issuer_name: Mapped[str] = mapped_column(String(100))  # 发证机关
    issued_on: Mapped[date] = mapped_column()  # 发证日期
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="draft")  # CERTIFICATE_STATUS_LABELS
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_report.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=datetime.now)

    issuance: Mapped[Issuance] = relationship(back_populates="certificate", lazy="joined")
    report: Mapped[CertificateReport | None] = relationship()

    @property
    def status_label(self) -> str:
        return CERTIFICATE_STATUS_LABELS.get(self.status, self.status)
