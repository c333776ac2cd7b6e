"""The configuration generation: one row whose value changes whenever configuration that hot paths cache changes.

Database triggers (migration 7c1e5a9d3f20) replace the value on every INSERT, UPDATE or DELETE of the tables in
CONFIG_TABLES, in the writing transaction — so no service, import or hand-written SQL can forget it, and a
process that reads the value knows whether its cache (services/common/config_cache.py) still holds. The new
value never repeats (PostgreSQL: a sequence, which a rollback does not rewind; SQLite: a 64-bit random()), so
an entry cached under a value an uncommitted transaction saw can never be taken for a later configuration.
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

# The tables whose rows cached structures are built from: 审核路径 (units, their types and natures, regions,
# committees with their levels and specialties, the dictionary, 主管部门配置, 审核路径配置), 多岗审核 (levels, members,
# and the staff's enabled flag and unit), and the deployed process versions. app_user only for those columns.
CONFIG_TABLES = (
    "unit", "unit_type", "unit_nature", "region", "committee", "committee_level", "committee_specialty",
    "specialty", "title_level", "title_series", "competent_assignment", "review_path_link", "audit_level",
    "audit_level_member", "process_definition",
)
CONFIG_COLUMNS = {"app_user": ("enabled", "unit_id")}  # only UPDATEs of these columns (and DELETEs) count


class ConfigGeneration(db.Model):
    __tablename__ = "config_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
