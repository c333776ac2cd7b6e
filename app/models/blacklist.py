"""黑名单 (H 1.21; FEATURES F7): people barred from declaring for a period, e.g. after fraud (RULES.md)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User
from app.models.org import Unit


class BlacklistEntry(db.Model):
    """A ban of one person (by 证件号码, registered or not) from start_date to end_date inclusive.

    Status is derived, never stored: 已解除 when lifted, 已到期 after end_date, 未生效 before start_date,
    else 生效中. Entries are never deleted: the record of a ban is part of the person's history.
    """

    __tablename__ = "blacklist_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(20))
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("applicant.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    basis: Mapped[str | None] = mapped_column(String(100))
    start_date: Mapped[date] = mapped_column()
    end_date: Mapped[date] = mapped_column(index=True)
    # The unit that added it: scoping follows it (a unit sees what it or its subtree added).
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    lifted_at: Mapped[datetime | None] = mapped_column()
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    lift_reason: Mapped[str | None] = mapped_column(String(500))

    unit: Mapped[Unit] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="joined")
    lifted_by: Mapped[User | None] = relationship(foreign_keys=[lifted_by_id])

    STATUS_LABELS = {"active": "生效中", "pending": "未生效", "expired": "已到期", "lifted": "已解除"}

    def status_on(self, on: date) -> str:
        if self.lifted_at is not None:
            return "lifted"
        if on > self.end_date:
            return "expired"
        if on < self.start_date:
            return "pending"
        return "active"

    @property
    def status(self) -> str:
        return self.status_on(date.today())

    @property
    def status_label(self) -> str:
        return self.STATUS_LABELS[self.status]
