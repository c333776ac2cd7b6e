"""历史职称数据 (manual S 1.2.8.2; FEATURES J1–J6): titles granted before the platform, collected by units.

A HistoryBatch is one upload: one 取得方式, one 职称文件文号, one file. Its rows are HistoryRecords, each either
检验成功 (ok) or 检验失败 (failed, with the reasons per field); failed rows are corrected or deleted before the batch is
submitted. A submitted batch runs bpmn/historical_upload.bpmn: up the review path to the 发证机构 for 职称评审
data, or the 发证机构's own review for 初定 / 确认 / 委托评审. HistoricalBody is a 历史评审机构 (J6): a body that
no longer exists as a committee, whose titles designated units may collect.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User
from app.models.org import Unit

METHOD_LABELS = {"review": "职称评审", "initial": "初定", "confirm": "确认", "delegated": "委托评审"}
BATCH_STATUS_LABELS = {
    "checking": "检验中", "draft": "待提交", "reviewing": "审核中", "returned": "已退回", "approved": "待发证",
    "rejected": "审核不通过", "failed": "检验失败", "issuing": "转入发证中", "issued": "已转发证",
}
RECORD_STATUS_LABELS = {"ok": "检验成功", "failed": "检验失败"}


class HistoricalBody(db.Model):
    """历史评审机构 (J6): its name, the series and levels it may collect, and the designated collecting units."""

    __tablename__ = "historical_body"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # the 人社部门 that maintains it
    series_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    level_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    unit: Mapped[Unit] = relationship()
    collectors: Mapped[list[HistoricalBodyCollector]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class HistoricalBodyCollector(db.Model):
    __tablename__ = "historical_body_collector"

    body_id: Mapped[int] = mapped_column(ForeignKey("historical_body.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True, index=True)

    unit: Mapped[Unit] = relationship(lazy="joined")


class HistoryBatch(db.Model):
    __tablename__ = "history_batch"
    __table_args__ = (Index("ix_history_batch_collector_status", "collector_unit_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(String(12))  # METHOD_LABELS
    doc_no: Mapped[str] = mapped_column(String(60), index=True)  # 职称文件文号
    collector_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))  # 采集单位
    collected_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))  # 采集人
    issuer_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)  # 发证机构
    path: Mapped[list[int]] = mapped_column(JSON, default=list)  # the reviewing units, in order
    step: Mapped[int] = mapped_column(default=0)  # index into path of the unit reviewing now
    current_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)  # path[step] while 审核中
    status: Mapped[str] = mapped_column(String(12), default="checking", index=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    qualification_file: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # 任职资格文件 {sha256, filename}
    ok_count: Mapped[int] = mapped_column(default=0)
    failed_count: Mapped[int] = mapped_column(default=0)
    risk_count: Mapped[int] = mapped_column(default=0)
    opinion: Mapped[str] = mapped_column(String(500), default="")  # the last 退回 / 不通过 opinion
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    submitted_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    collector: Mapped[Unit] = relationship(foreign_keys=[collector_unit_id], lazy="joined")
    issuer: Mapped[Unit | None] = relationship(foreign_keys=[issuer_unit_id])
    current_unit: Mapped[Unit | None] = relationship(foreign_keys=[current_unit_id])
    collected_by: Mapped[User | None] = relationship()

    @property
    def method_label(self) -> str:
        return METHOD_LABELS.get(self.method, self.method)

    @property
    def status_label(self) -> str:
        return BATCH_STATUS_LABELS.get(self.status, self.status)


class HistoryRecord(db.Model):
    """One row of an upload as the collector typed it, with what validation found."""

    __tablename__ = "history_record"
    __table_args__ = (
        Index("ix_history_record_batch_status", "batch_id", "status", "row_no"),
        Index("ix_history_record_person_title", "id_number", "title_name"),
        UniqueConstraint("batch_id", "row_no", name="uq_history_record_batch_row"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("history_batch.id", ondelete="CASCADE"))
    row_no: Mapped[int] = mapped_column()  # the Excel row number
    status: Mapped[str] = mapped_column(String(8))  # ok / failed
    errors: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # column header → the rule it breaks
    high_risk: Mapped[str] = mapped_column(String(200), default="")  # the social-insurance check's warning
    name: Mapped[str] = mapped_column(String(50), default="")
    gender: Mapped[str] = mapped_column(String(4), default="")
    id_type: Mapped[str] = mapped_column(String(30), default="")
    id_number: Mapped[str] = mapped_column(String(30), default="")
    work_unit: Mapped[str] = mapped_column(String(100), default="")
    series_name: Mapped[str] = mapped_column(String(50), default="")
    specialty_name: Mapped[str] = mapped_column(String(50), default="")
    level_name: Mapped[str] = mapped_column(String(20), default="")
    title_name: Mapped[str] = mapped_column(String(50), default="")
    review_body: Mapped[str] = mapped_column(String(100), default="")
    review_date: Mapped[str] = mapped_column(String(20), default="")  # as typed, YYYY-MM-DD once valid
    approval_date: Mapped[str] = mapped_column(String(20), default="")
    doc_no: Mapped[str] = mapped_column(String(60), default="")
    certificate_no: Mapped[str] = mapped_column(String(50), default="")
    title_id: Mapped[int | None] = mapped_column(ForeignKey("title.id"))
    approved_on: Mapped[date | None] = mapped_column()

    batch: Mapped[HistoryBatch] = relationship()

    @property
    def status_label(self) -> str:
        return RECORD_STATUS_LABELS.get(self.status, self.status)
