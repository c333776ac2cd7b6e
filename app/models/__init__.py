"""SQLAlchemy models. Models import nothing from services."""

from app.models.accounts import Permission, Role, RolePermission, User, UserRole
from app.models.audit import AuditLog
from app.models.dictionary import Specialty, Title, TitleLevel, TitleSeries
from app.models.org import Region, Unit, UnitNature, UnitType, UnitTypeGrant
from app.models.workflow import (
    AuditLevel,
    AuditLevelMember,
    CommonOpinion,
    HumanTask,
    HumanTaskCandidate,
    ProcessDefinition,
    ProcessInstance,
    WorkflowEvent,
)

__all__ = [
    "AuditLevel",
    "AuditLevelMember",
    "CommonOpinion",
    "HumanTask",
    "HumanTaskCandidate",
    "ProcessDefinition",
    "ProcessInstance",
    "WorkflowEvent",
    "AuditLog",
    "Permission",
    "Region",
    "Role",
    "RolePermission",
    "Specialty",
    "Title",
    "TitleLevel",
    "TitleSeries",
    "Unit",
    "UnitNature",
    "UnitType",
    "UnitTypeGrant",
    "User",
    "UserRole",
]
