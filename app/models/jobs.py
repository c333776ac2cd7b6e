"""Background jobs (issue 14): the record of every user-started job and of each item it has processed.

The item rows make a job idempotent per item: an item's work and its row commit in one transaction, so a job
run again after a worker died skips the items that have a row and redoes the one that was in flight.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

JOB_STATE_LABELS = {"queued": "排队中", "running": "运行中", "done": "已完成", "failed": "失败",
                    "cancelled": "已取消"}
FINISHED_STATES = ("done", "failed", "cancelled")
# "taken": 未处理 because another person completed the task first (counted with the refused).
ITEM_STATUS_LABELS = {"done": "已处理", "refused": "未处理", "taken": "已被他人处理"}


class Job(db.Model):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_started_by_created", "started_by_id", "created_at"),
                      Index("ix_job_state_heartbeat", "state", "heartbeat_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    state: Mapped[str] = mapped_column(String(12), default="queued")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    summary: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, object] | None] = mapped_column(JSON)
    result_sha256: Mapped[str | None] = mapped_column(String(64))
    result_filename: Mapped[str | None] = mapped_column(String(200))
    result_mimetype: Mapped[str | None] = mapped_column(String(100))
    worker: Mapped[str | None] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=datetime.now)
    started_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    @property
    def state_label(self) -> str:
        return JOB_STATE_LABELS.get(self.state, self.state)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def processed(self) -> int:
        return self.done + self.refused

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return min(100, int(100 * self.processed / self.total)) if self.total else 0


class JobItem(db.Model):
    __tablename__ = "job_item"
    __table_args__ = (UniqueConstraint("job_id", "key", name="uq_job_item_job_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"))  # the unique key leads with it
    key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))  # ITEM_STATUS_LABELS
    message: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=datetime.now)

    @property
    def status_label(self) -> str:
        return ITEM_STATUS_LABELS.get(self.status, self.status)
