"""Process definitions, instances, the inbox projection and the workflow trail (DESIGN §2).

An instance row stores only its own serialized state and the definition version it runs on; the parsed spec
is serialized once per version. READY user tasks are copied into human_task (+ candidates) in the same
transaction that saves the instance, so inbox pages and counts never deserialize a workflow.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class ProcessDefinition(db.Model):
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_process_definition_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(100), default="")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    xml: Mapped[str] = mapped_column(Text, deferred=True)
    # The parsed spec (with its call-activity library) serialized once for this version.
    spec_blob: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    source: Mapped[str] = mapped_column(String(20), default="file")  # file / editor
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    deployed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ProcessInstance(db.Model):
    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_process_instance_business", "business_type", "business_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    business_type: Mapped[str] = mapped_column(String(40))
    business_id: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)  # running/completed/suspended/terminated
    state: Mapped[bytes] = mapped_column(LargeBinary)
    # Optimistic lock: every save bumps it; a save that finds another value lost a race (HTTP 409).
    lock_version: Mapped[int] = mapped_column(default=1)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)

    definition: Mapped[ProcessDefinition] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(db.Model):
    """One READY (open) or completed user task, with the business columns that inbox lists filter on."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_inbox", "unit_id", "status", "business_type", "created_at"),
        Index("ix_human_task_instance_status", "instance_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    task_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    bpmn_id: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(100))
    form_key: Mapped[str] = mapped_column(String(100))
    post: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open / done / cancelled
    business_type: Mapped[str] = mapped_column(String(40))
    business_id: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    level_no: Mapped[int | None] = mapped_column()
    applicant_name: Mapped[str] = mapped_column(String(30), default="")
    series_code: Mapped[str] = mapped_column(String(50), default="")
    level_code: Mapped[str] = mapped_column(String(20), default="")
    committee_id: Mapped[int | None] = mapped_column()
    activity_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    due_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20), default="")

    instance: Mapped[ProcessInstance] = relationship()


class HumanTaskCandidate(db.Model):
    __tablename__ = "human_task_candidate"
    # The inbox asks "which tasks may this user work": (user_id, task_id) answers from the index alone.
    __table_args__ = (Index("ix_human_task_candidate_user_task", "user_id", "task_id"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)


class WorkflowEvent(db.Model):
    """The trail of an instance: who did what, in which unit, when, on which task, with which opinion."""

    __tablename__ = "workflow_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    bpmn_id: Mapped[str] = mapped_column(String(80), default="")
    task_name: Mapped[str] = mapped_column(String(100), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_name: Mapped[str] = mapped_column(String(30), default="系统")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    unit_name: Mapped[str] = mapped_column(String(50), default="")
    action: Mapped[str] = mapped_column(String(30))
    opinion: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(server_default=func.now())


class AuditLevel(db.Model):
    """多岗审核配置 (S 1.2.9.1.2): ordered review levels of a unit for one audit item type."""

    __tablename__ = "audit_level"
    __table_args__ = (UniqueConstraint("unit_id", "item_type", "level_no", name="uq_audit_level_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    item_type: Mapped[str] = mapped_column(String(40))
    level_no: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(30), default="")

    members: Mapped[list[AuditLevelMember]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class AuditLevelMember(db.Model):
    __tablename__ = "audit_level_member"

    level_id: Mapped[int] = mapped_column(ForeignKey("audit_level.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)


class CommonOpinion(db.Model):
    """常用意见 of one user (S 1.2.3.1 常用意见设置)."""

    __tablename__ = "common_opinion"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    sort_order: Mapped[int] = mapped_column(default=0)
