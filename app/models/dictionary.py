"""The title dictionary (职称树, H 1.2) and the specialty tree (职称专业, H 1.1)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class TitleLevel(db.Model):
    """正高级 / 副高级 / 中级 / 助理级 / 员级; grade groups them into 高级 / 中级 / 初级."""

    __tablename__ = "title_level"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(10), unique=True)
    rank: Mapped[int] = mapped_column()
    grade: Mapped[str] = mapped_column(String(10))


class TitleSeries(db.Model):
    __tablename__ = "title_series"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)
    category: Mapped[str] = mapped_column(String(20), default="其他")
    enabled: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    titles: Mapped[list[Title]] = relationship(
        back_populates="series", order_by="Title.sort_order", lazy="selectin"
    )


class Title(db.Model):
    """A title name of a series at a level. Historical names point at today's title through current_id."""

    __tablename__ = "title"
    __table_args__ = (UniqueConstraint("series_code", "name", name="uq_title_series_code_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_code: Mapped[str] = mapped_column(ForeignKey("title_series.code"), index=True)
    level_code: Mapped[str] = mapped_column(ForeignKey("title_level.code"))
    name: Mapped[str] = mapped_column(String(30))
    line: Mapped[str] = mapped_column(String(10), default="")
    valid_from: Mapped[date | None] = mapped_column()
    valid_to: Mapped[date | None] = mapped_column()
    current_id: Mapped[int | None] = mapped_column(ForeignKey("title.id"))
    sort_order: Mapped[int] = mapped_column(default=0)

    series: Mapped[TitleSeries] = relationship(back_populates="titles")
    level: Mapped[TitleLevel] = relationship(lazy="joined")
    current: Mapped[Title | None] = relationship(remote_side=[id])

    @property
    def is_historical(self) -> bool:
        return self.current_id is not None


class Specialty(db.Model):
    """A node of a series' specialty tree."""

    __tablename__ = "specialty"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    series_code: Mapped[str] = mapped_column(ForeignKey("title_series.code"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("specialty.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    enabled: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Specialty | None] = relationship(remote_side=[id])
