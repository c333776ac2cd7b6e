"""Process definitions, instances, the inbox projection and the workflow trail (DESIGN §2).

An instance row stores only its own serialized state and the definition version it runs on; the parsed spec
is serialized once per version. READY user tasks are copied into human_task (+ candidates) in the same
transaction that saves the instance, so inbox pages and counts never deserialize a workflow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, event, func, update
from sqlalchemy.orm import Mapped, Session, attributes, mapped_column, relationship

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
        # 已办: a user's completed tasks, newest handled first, read in index order.
        Index("ix_human_task_done", "completed_by_id", "completed_at", "id"),
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
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decision: Mapped[str] = mapped_column(String(20), default="")

    instance: Mapped[ProcessInstance] = relationship()


class HumanTaskCandidate(db.Model):
    """Who may work a task. is_open, business_type and created_at copy the task's own (kept equal by
    services.workflow.instances), so a user's 待办 page and counts are index range scans of this table alone:
    human_task's indexes start with the unit, which a per-user bucket never names (issue #3)."""

    __tablename__ = "human_task_candidate"
    __table_args__ = (
        # "which tasks may this user work": (user_id, task_id) answers from the index alone.
        Index("ix_human_task_candidate_user_task", "user_id", "task_id"),
        # 待办, newest received first (the page), and per business type (the filter and the tab counts).
        Index("ix_human_task_candidate_inbox", "user_id", "is_open", "created_at", "task_id"),
        Index("ix_human_task_candidate_inbox_type", "user_id", "is_open", "business_type", "created_at", "task_id"),
    )

    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    is_open: Mapped[bool] = mapped_column(default=True)
    business_type: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column()


# The columns of human_task its candidate rows copy (candidate column ← value of the task's attribute).
_CANDIDATE_COPIES = {"is_open": ("status", lambda status: status == "open"),
                     "business_type": ("business_type", lambda value: value),
                     "created_at": ("created_at", lambda value: value)}


@event.listens_for(Session, "after_flush")
def _copy_task_changes_to_candidates(session: Session, _context: Any) -> None:
    """Whatever changes a task's status, type or creation time through the ORM (completion, cancellation,
    termination, migration, tests) changes its candidates' copies in the same flush; new candidate rows take
    the copies when inserted (services.workflow.instances.assign_candidates). Core UPDATEs of human_task
    bypass this: the one writer that uses them for speed (services.workflow.instances, completing a task and
    projecting) updates the candidate rows itself in the same statement sequence; nothing else may."""
    for task in session.dirty:
        if not isinstance(task, HumanTask) or task.id is None:
            continue
        values = {column: convert(getattr(task, name)) for column, (name, convert) in _CANDIDATE_COPIES.items()
                  if attributes.get_history(task, name).has_changes()}
        if values:
            session.connection().execute(update(HumanTaskCandidate.__table__)
                                         .where(HumanTaskCandidate.__table__.c.task_id == task.id).values(values))


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
