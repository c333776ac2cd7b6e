"""SQLAlchemy models. Models import nothing from services."""

from app.models.acceptance import AcceptanceAgency
from app.models.accounts import Permission, Role, RolePermission, User, UserRole
from app.models.activity import (
    ActivityAchievement,
    ActivityExceptionalCondition,
    ActivityLevel,
    ActivityMaterialRequirement,
    ActivitySpecialty,
    ReviewActivity,
)
from app.models.applicant import Applicant, ApplicantEducation, ApplicantWork
from app.models.audit import AuditLog
from app.models.blacklist import BlacklistEntry
from app.models.certificates import (
    Certificate,
    CertificateIssuer,
    CertificateReport,
    Issuance,
    IssuanceBatch,
    NumberPool,
)
from app.models.committee import (
    Committee,
    CommitteeExpert,
    CommitteeFee,
    CommitteeFiling,
    CommitteeFormingUnit,
    CommitteeLevel,
    CommitteeSpecialty,
    Expert,
    ExpertService,
)
from app.models.configuration import ConfigGeneration
from app.models.declaration import Declaration, DeclarationAchievement, DeclarationStep
from app.models.dictionary import Specialty, Title, TitleLevel, TitleSeries
from app.models.history import HistoricalBody, HistoricalBodyCollector, HistoryBatch, HistoryRecord
from app.models.jobs import Job, JobItem
from app.models.meeting import (
    Ballot,
    BallotSubmission,
    DrawGroup,
    ExpertAccount,
    ExpertDraw,
    MeetingApplicant,
    MeetingEvent,
    MeetingExpert,
    ReviewMeeting,
    RoundResult,
)
from app.models.messages import Message, MessageReceipt, Notice
from app.models.notifications import Notification, NotificationDelivery, NotificationPreference
from app.models.org import Region, Unit, UnitNature, UnitType, UnitTypeGrant
from app.models.quota import QuotaDeclaration, QuotaItem
from app.models.registration import SuperiorChangeRequest, UnitRegistration
from app.models.results import Complaint, ResultEntry, ResultFiling, ResultPublicity
from app.models.review_path import CompetentAssignment, ReviewPathLink
from app.models.review_plan import ReviewPlan
from app.models.talent import TalentRecord, TitleConfirmation
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
    "HistoricalBody",
    "HistoricalBodyCollector",
    "HistoryBatch",
    "HistoryRecord",
    "Complaint",
    "ResultEntry",
    "ResultFiling",
    "ResultPublicity",
    "Ballot",
    "BallotSubmission",
    "DrawGroup",
    "ExpertAccount",
    "ExpertDraw",
    "MeetingApplicant",
    "MeetingEvent",
    "MeetingExpert",
    "ReviewMeeting",
    "RoundResult",
    "ReviewPlan",
    "AcceptanceAgency",
    "TalentRecord",
    "TitleConfirmation",
    "Message",
    "MessageReceipt",
    "Notice",
    "Notification",
    "NotificationDelivery",
    "NotificationPreference",
    "Certificate",
    "CertificateIssuer",
    "CertificateReport",
    "Issuance",
    "IssuanceBatch",
    "NumberPool",
    "Job",
    "JobItem",
    "Declaration",
    "DeclarationAchievement",
    "DeclarationStep",
    "ActivityAchievement",
    "ActivityExceptionalCondition",
    "ActivityLevel",
    "ActivityMaterialRequirement",
    "ActivitySpecialty",
    "ReviewActivity",
    "Applicant",
    "ApplicantEducation",
    "ApplicantWork",
    "BlacklistEntry",
    "AuditLevel",
    "AuditLevelMember",
    "CommonOpinion",
    "CompetentAssignment",
    "ConfigGeneration",
    "Committee",
    "CommitteeExpert",
    "CommitteeFee",
    "CommitteeFiling",
    "CommitteeFormingUnit",
    "CommitteeLevel",
    "CommitteeSpecialty",
    "Expert",
    "ExpertService",
    "HumanTask",
    "HumanTaskCandidate",
    "ProcessDefinition",
    "ProcessInstance",
    "WorkflowEvent",
    "AuditLog",
    "Permission",
    "QuotaDeclaration",
    "QuotaItem",
    "Region",
    "ReviewPathLink",
    "Role",
    "RolePermission",
    "Specialty",
    "SuperiorChangeRequest",
    "Title",
    "TitleLevel",
    "TitleSeries",
    "Unit",
    "UnitNature",
    "UnitRegistration",
    "UnitType",
    "UnitTypeGrant",
    "User",
    "UserRole",
]
