"""Individual applicants (申报人, H 一; FEATURES A8) and the profile they keep across years.

The profile (basic info, education, work history, current title) is the person's own record; a declaration
(F1) copies what it needs at submission, so that later edits never change what a committee reviewed.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.dictionary import Title
from app.models.org import Unit


class Applicant(UserMixin, db.Model):
    """An individual's account. 姓名 and 证件号码 are the real-name identity: fixed after registration."""

    __tablename__ = "applicant"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    id_type: Mapped[str] = mapped_column(String(20), default="居民身份证")
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    # Derived from the ID number at registration (GB 11643-1999), never typed.
    gender: Mapped[str] = mapped_column(String(2))
    birth_date: Mapped[date] = mapped_column()
    phone: Mapped[str] = mapped_column(String(11), unique=True)
    email: Mapped[str | None] = mapped_column(String(60))
    ethnicity: Mapped[str | None] = mapped_column(String(20))
    political_status: Mapped[str | None] = mapped_column(String(20))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    work_start_date: Mapped[date | None] = mapped_column()
    specialty: Mapped[str | None] = mapped_column(String(30))
    # Current title (现职称): a title of the dictionary, how and when it was obtained.
    title_id: Mapped[int | None] = mapped_column(ForeignKey("title.id"))
    title_obtained_on: Mapped[date | None] = mapped_column()
    title_method: Mapped[str | None] = mapped_column(String(20))
    title_certificate_no: Mapped[str | None] = mapped_column(String(50))

    password_hash: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    # Changing it invalidates every existing session of the account (sign-out everywhere).
    session_token: Mapped[str] = mapped_column(String(32), default="")
    last_login_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    unit: Mapped[Unit] = relationship(lazy="joined")
    title: Mapped[Title | None] = relationship(lazy="joined")
    educations: Mapped[list[ApplicantEducation]] = relationship(
        cascade="all, delete-orphan", order_by="ApplicantEducation.start_date", lazy="selectin")
    work_history: Mapped[list[ApplicantWork]] = relationship(
        cascade="all, delete-orphan", order_by="ApplicantWork.start_date", lazy="selectin")

    # Applicants share Flask-Login with staff; these say which kind of account is signed in.
    is_applicant = True
    must_change_password = False

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts
        return self.enabled

    def get_id(self) -> str:
        return f"a:{self.id}:{self.session_token}"


class ApplicantEducation(db.Model):
    """学历学位: one row per course of study."""

    __tablename__ = "applicant_education"

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicant.id", ondelete="CASCADE"), index=True)
    education: Mapped[str] = mapped_column(String(20))
    degree: Mapped[str] = mapped_column(String(20), default="无")
    school: Mapped[str] = mapped_column(String(50))
    major: Mapped[str] = mapped_column(String(50))
    start_date: Mapped[date] = mapped_column()
    end_date: Mapped[date | None] = mapped_column()  # None: 在读
    certificate_no: Mapped[str | None] = mapped_column(String(50))


class ApplicantWork(db.Model):
    """工作经历: one row per post held."""

    __tablename__ = "applicant_work"

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicant.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[date] = mapped_column()
    end_date: Mapped[date | None] = mapped_column()  # None: 至今
    unit_name: Mapped[str] = mapped_column(String(50))
    position: Mapped[str] = mapped_column(String(30))
