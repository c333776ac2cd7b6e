"""The permission matrix: every route × every kind of actor (STYLE: "a permission matrix per blueprint").

Actors stand around one target unit (a 申报单位 under 乐山市人社局):
- signed_out;
- member_with / member_without: staff of the target unit holding / lacking the route's permission;
- superior_admin: 超级管理员 of the target's superior (逐级管理: sees and manages its subordinates' units,
  but staff and roles stay each unit's own business);
- unrelated_admin: 超级管理员 of another city's tree;
- platform_admin: the province's platform administrator;
- applicant: an individual applicant (申报人) working at the target unit. Applicants are kept out of every staff
  page (app.auth): a GET goes to /applicant/ ("away"), anything else is 403; staff are 403 on applicant pages.
Routes carrying <int:unit_id> / <int:user_id> / <int:role_id> are called with a record of the target unit.
Signed-out requests go to /login; refusals are 403 (permission missing) or 404 (record outside one's scope,
so that ids of other units cannot be probed); nothing answers 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import valid_credit_code, valid_id_number
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Applicant,
    ApplicantEducation,
    ApplicantWork,
    BlacklistEntry,
    CommonOpinion,
    HumanTask,
    Role,
    RolePermission,
    Specialty,
    SuperiorChangeRequest,
    Title,
    Unit,
    User,
)
from services.authz import access
from services.common import audit_log
from services.org.registration import Application, Submitted, Upload, submit_registration
from services.workflow import instances

ACTORS = ("signed_out", "member_with", "member_without", "superior_admin", "unrelated_admin", "platform_admin",
          "applicant")
OK, LOGIN, FORBIDDEN, NOT_FOUND = "ok", "login", "403", "404"
AWAY = "away"  # sent to the applicant's home
STAFF_ONLY = "staff only"  # for the applicant: AWAY on GET, FORBIDDEN otherwise
SERIES = "higher_education_teacher"


def expect(**outcomes: str) -> dict[str, str]:
    outcomes.setdefault("applicant", STAFF_ONLY)
    assert set(outcomes) == set(ACTORS)
    return outcomes


# Who gets through, by the kind of check a route makes.
PUBLIC = expect(signed_out=OK, member_with=OK, member_without=OK, superior_admin=OK, unrelated_admin=OK,
                platform_admin=OK)
SIGNED_IN = expect(signed_out=LOGIN, member_with=OK, member_without=OK, superior_admin=OK, unrelated_admin=OK,
                   platform_admin=OK)
# The permission alone decides: each holder acts on its own unit.
HOLDER = expect(signed_out=LOGIN, member_with=OK, member_without=FORBIDDEN, superior_admin=OK, unrelated_admin=OK,
                platform_admin=OK)
# scope subtree on the target unit: its own staff and its superiors, nobody beside it.
SUBTREE = expect(signed_out=LOGIN, member_with=OK, member_without=FORBIDDEN, superior_admin=OK,
                 unrelated_admin=NOT_FOUND, platform_admin=OK)
# scope unit on a record of the target unit: not even the superior.
OWN_UNIT = expect(signed_out=LOGIN, member_with=OK, member_without=FORBIDDEN, superior_admin=NOT_FOUND,
                  unrelated_admin=NOT_FOUND, platform_admin=OK)
# scope platform: a unit role naming the code grants nothing.
PLATFORM = expect(signed_out=LOGIN, member_with=FORBIDDEN, member_without=FORBIDDEN, superior_admin=FORBIDDEN,
                  unrelated_admin=FORBIDDEN, platform_admin=OK)
# A permission only 人社部门 hold (黑名单管理): the target, a 申报单位, holds it for nobody, its superior 人社局 does.
HR_UNITS = expect(signed_out=LOGIN, member_with=FORBIDDEN, member_without=FORBIDDEN, superior_admin=OK,
                  unrelated_admin=OK, platform_admin=OK)
# …on a record the superior 人社局 added (scope subtree): another city's 人社局 cannot see it.
HR_SUBTREE = expect(signed_out=LOGIN, member_with=FORBIDDEN, member_without=FORBIDDEN, superior_admin=OK,
                    unrelated_admin=NOT_FOUND, platform_admin=OK)
# The applicant's own pages: every staff account is refused.
APPLICANT_ONLY = expect(signed_out=LOGIN, member_with=FORBIDDEN, member_without=FORBIDDEN, superior_admin=FORBIDDEN,
                        unrelated_admin=FORBIDDEN, platform_admin=FORBIDDEN, applicant=OK)
# Applicant sign-in and registration: open to visitors; a signed-in account is sent to its own home.
# A registration submitted to the target (下级单位注册审核): its reviewers only; others cannot probe its id.
REGISTRATION_REVIEWERS = expect(signed_out=LOGIN, member_with=OK, member_without=NOT_FOUND, superior_admin=NOT_FOUND,
                                unrelated_admin=NOT_FOUND, platform_admin=OK)
APPLICANT_ENTRY = expect(signed_out=OK, member_with=OK, member_without=OK, superior_admin=OK, unrelated_admin=OK,
                         platform_admin=OK, applicant=AWAY)


# A task of the target unit under review by its superior (World.inbox_records): its candidates act on it, a
# platform administrator may look but not act, anyone else is refused (403; an unknown id is 404).
TASK_CANDIDATES = expect(signed_out=LOGIN, member_with=FORBIDDEN, member_without=FORBIDDEN, superior_admin=OK,
                         unrelated_admin=FORBIDDEN, platform_admin=OK)
TASK_ACTORS = {**TASK_CANDIDATES, "platform_admin": FORBIDDEN}
# 常用意见 belong to one user (the superior's administrator here); anyone else's id is 404.
OWN_OPINION = expect(signed_out=LOGIN, member_with=NOT_FOUND, member_without=FORBIDDEN, superior_admin=OK,
                     unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND)


# A background job the superior's administrator started (World.job_records): its starter and the platform
# administrator see it; anyone else's id is 404. Cancel / retry of a finished job answer 409 past the check.
OWN_JOB = expect(signed_out=LOGIN, member_with=NOT_FOUND, member_without=NOT_FOUND, superior_admin=OK,
                 unrelated_admin=NOT_FOUND, platform_admin=OK)
# …a 待办批量办理 job, whose result page also needs 待办事项 (inbox.view).
OWN_INBOX_JOB = {**OWN_JOB, "member_without": FORBIDDEN}


# Notifications (K4): every signed-in account has its own list, applicants too; one of the superior's
# administrator is found by nobody else.
ANY_ACCOUNT = expect(signed_out=LOGIN, member_with=OK, member_without=OK, superior_admin=OK, unrelated_admin=OK,
                     platform_admin=OK, applicant=OK)
OWN_NOTIFICATION = expect(signed_out=LOGIN, member_with=NOT_FOUND, member_without=NOT_FOUND, superior_admin=OK,
                          unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND, applicant=NOT_FOUND)


# 通知公告 (K3): managed by 人社部门 only (the target, a 申报单位, holds notice.manage for nobody); a notice of the
# superior 人社局 is its own (scope unit); published ones are public, applicants included.
OPEN_TO_ALL = {**PUBLIC, "applicant": OK}


# 消息推送 (K1, K2): a message the superior sent to the target (World.message_records). The sender's unit sees it
# and who read it; the receiving unit's staff holding message.receive read and confirm it, nobody else.
SENT_BY_SUPERIOR = expect(signed_out=LOGIN, member_with=NOT_FOUND, member_without=FORBIDDEN, superior_admin=OK,
                          unrelated_admin=NOT_FOUND, platform_admin=OK)
RECEIVING_UNIT = expect(signed_out=LOGIN, member_with=OK, member_without=FORBIDDEN, superior_admin=NOT_FOUND,
                        unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND)


# 专技人才 / 职称确认 (L1–L3): a record of the target's applicant, reviewed up [target, superior 人社局]: the units on
# its path see it, nobody else.
ON_PATH = expect(signed_out=LOGIN, member_with=OK, member_without=FORBIDDEN, superior_admin=OK,
                 unrelated_admin=NOT_FOUND, platform_admin=OK)


# 评审方案 (E6): an approved plan of the target's committee, reviewed by its 备案批复单位 (the superior). Its unit's
# submitters, the reviewing unit and 呈报方案查询 over either unit's subtree read it (member_without holds plan.query).
PLAN_READERS = expect(signed_out=LOGIN, member_with=OK, member_without=OK, superior_admin=OK,
                      unrelated_admin=NOT_FOUND, platform_admin=OK)


# A committee formed by the target, authorized and filed by its superior (World.committee_records):
# the forming unit's record (OWN_UNIT); the superior reviews it; nobody else may probe its ids.
FILING_REVIEWERS = expect(signed_out=LOGIN, member_with=NOT_FOUND, member_without=FORBIDDEN, superior_admin=OK,
                          unrelated_admin=NOT_FOUND, platform_admin=OK)
FORMING_OR_REVIEWING = expect(signed_out=LOGIN, member_with=OK, member_without=NOT_FOUND, superior_admin=OK,
                              unrelated_admin=NOT_FOUND, platform_admin=OK)


# 历史职称数据 (World.history_records): a batch the target collected is its own (not even the platform's
# administrator opens it: a collector's working data); its review pages also open to the units on its path (the
# superior); a 历史评审机构 is the business of the 人社部门 that keeps it.
OWN_BATCH = expect(signed_out=LOGIN, member_with=OK, member_without=FORBIDDEN, superior_admin=NOT_FOUND,
                   unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND)
BATCH_ON_PATH = expect(signed_out=LOGIN, member_with=OK, member_without=NOT_FOUND, superior_admin=OK,
                       unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND)
# 评审结果 (World.result_records): the publicity of the target's committee is its own (OWN_BATCH); its notice is
# public (applicants read it too); a supplement file opens to the committee and the confirming unit (the superior).
PUBLIC_NOTICE = {**PUBLIC, "applicant": OK}
CONFIRMING_UNIT = expect(signed_out=LOGIN, member_with=NOT_FOUND, member_without=FORBIDDEN, superior_admin=OK,
                         unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND)
# A result filing of the target's committee with the superior (its 授权管理单位): both units' staff open it.
FILING_PARTIES = expect(signed_out=LOGIN, member_with=OK, member_without=OK, superior_admin=OK,
                        unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND)
SIGNED_IN_NOTICE = {**SIGNED_IN, "applicant": OK}
HR_OWN = expect(signed_out=LOGIN, member_with=FORBIDDEN, member_without=FORBIDDEN, superior_admin=OK,
                unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND)


# A meeting of a committee the target formed (World.meeting_records): the forming unit's staff holding 评审会议管理
# only; anyone else (the platform administrator included) gets 404. It has no process instance, so a holder's step
# actions answer 409 past the check.
MEETING = {**OWN_UNIT, "platform_admin": NOT_FOUND}
# 专家端: experts only; every staff account is refused, an applicant is kept on their side.
EXPERT_ONLY = expect(signed_out=LOGIN, member_with=FORBIDDEN, member_without=FORBIDDEN, superior_admin=FORBIDDEN,
                     unrelated_admin=FORBIDDEN, platform_admin=FORBIDDEN)


# A certificate record of the target as issuing unit (batch, certificate, report): its own staff only.
ISSUING_UNIT = expect(signed_out=LOGIN, member_with=OK, member_without=FORBIDDEN, superior_admin=NOT_FOUND,
                      unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND)


@dataclass(frozen=True)
class Entry:
    code: str  # the permission member_with holds (and member_without lacks)
    outcomes: dict[str, str]
    query: str = ""


def both(code: str, outcomes: dict[str, str], query: str = "") -> dict[str, Entry]:
    return {"GET": Entry(code, outcomes, query), "POST": Entry(code, outcomes, query)}


ROUTES: dict[str, dict[str, Entry]] = {
    "/login": both("home.view", PUBLIC),
    "/logout": {"POST": Entry("home.view", SIGNED_IN)},
    "/password": both("home.view", SIGNED_IN),
    "/": {"GET": Entry("home.view", PUBLIC)},  # signed out: the public home page with the notices (K3)
    "/units/regions.json": {"GET": Entry("home.view", SIGNED_IN)},
    "/units/own": both("unit.self.edit", HOLDER),
    "/units/subordinates": {"GET": Entry("unit.sub.view", HOLDER)},
    "/units/subordinates/export": {"GET": Entry("unit.sub.view", HOLDER)},
    "/units/subordinates/<int:unit_id>": {"GET": Entry("unit.sub.view", SUBTREE)},
    "/units/subordinates/new": both("unit.sub.manage", SUBTREE, "parent_id={unit_id}"),
    "/units/subordinates/new/<step>": both("unit.sub.manage", SUBTREE, "parent_id={unit_id}"),
    "/units/subordinates/<int:unit_id>/edit": both("unit.sub.manage", SUBTREE),
    "/staff/": {"GET": Entry("staff.manage", HOLDER)},
    "/staff/new": both("staff.manage", HOLDER),
    "/staff/<int:user_id>/edit": both("staff.manage", OWN_UNIT),
    "/staff/<int:user_id>/<any(enable, disable):action>": {"POST": Entry("staff.manage", OWN_UNIT)},
    "/staff/<int:user_id>/reset-password": {"POST": Entry("staff.manage", OWN_UNIT)},
    "/roles/": {"GET": Entry("role.manage", HOLDER)},
    "/roles/new": both("role.manage", HOLDER),
    "/roles/<int:role_id>/edit": both("role.manage", OWN_UNIT),
    "/roles/<int:role_id>/delete": {"POST": Entry("role.manage", OWN_UNIT)},
    "/audit-log/": {"GET": Entry("audit_log.view", HOLDER)},
    "/inbox/": {"GET": Entry("inbox.view", HOLDER)},
    "/inbox/batch": {"POST": Entry("inbox.view", HOLDER)},
    "/inbox/batch/<int:inbox_job_id>": {"GET": Entry("inbox.view", OWN_INBOX_JOB)},
    "/inbox/tasks/<int:task_id>": {"GET": Entry("inbox.view", TASK_CANDIDATES), "POST": Entry("inbox.view", TASK_ACTORS)},
    "/inbox/tasks/<int:task_id>/diagram.xml": {"GET": Entry("inbox.view", TASK_CANDIDATES)},
    "/inbox/instances/<int:instance_id>/trail": {"GET": Entry("inbox.view", SUBTREE)},
    "/inbox/opinions": both("inbox.view", HOLDER),
    "/history/": {"GET": Entry("history.collect", HOLDER)},
    "/history/template": {"GET": Entry("history.collect", HOLDER, "method=review")},
    "/history/upload": both("history.collect", HOLDER),
    "/history/batches/<int:batch_id>": {"GET": Entry("history.collect", OWN_BATCH)},
    "/history/batches/<int:batch_id>/failures.xlsx": {"GET": Entry("history.collect", OWN_BATCH)},
    "/history/batches/<int:batch_id>/delete-failed": {"POST": Entry("history.collect", OWN_BATCH)},
    "/history/batches/<int:batch_id>/records/<int:record_id>": both("history.collect", OWN_BATCH),
    "/history/batches/<int:batch_id>/submit": {"POST": Entry("history.collect", OWN_BATCH)},
    "/history/batches/<int:batch_id>/delete": {"POST": Entry("history.collect", OWN_BATCH)},
    "/history/batches/<int:batch_id>/qualification-file": {"GET": Entry("history.collect", BATCH_ON_PATH)},
    "/history/review": {"GET": Entry("history.review", HOLDER)},
    "/history/review/<int:batch_id>": both("history.collect", BATCH_ON_PATH),
    "/history/review/<int:batch_id>/export.xlsx": {"GET": Entry("history.collect", BATCH_ON_PATH)},
    "/history/issue": {"GET": Entry("certificate.issue", HOLDER)},
    # The world's batch is a draft with no 发证机构 yet: every holder is told it is not theirs to issue.
    "/history/issue/<int:batch_id>": {"POST": Entry("certificate.issue", expect(
        signed_out=LOGIN, member_with=NOT_FOUND, member_without=FORBIDDEN, superior_admin=NOT_FOUND,
        unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND))},
    "/history/bodies": {"GET": Entry("history.bodies", HR_UNITS)},
    "/history/bodies/new": both("history.bodies", HR_UNITS),
    "/history/bodies/<int:body_id>/edit": both("history.bodies", HR_OWN),
    "/history/bodies/<int:body_id>/toggle": {"POST": Entry("history.bodies", HR_OWN)},
    "/history/bodies/<int:body_id>/delete": {"POST": Entry("history.bodies", HR_OWN)},
    "/application-review/transfer": both("application.transfer", HR_UNITS),
    # 回退: the world's declaration is a draft (no path, nothing to undo): every holder is told it is not found;
    # the forming unit's own case is tests/web/test_rollback.py.
    "/application-review/qualification/<int:declaration_id>/rollback": both("application.qualify", expect(
        signed_out=LOGIN, member_with=NOT_FOUND, member_without=FORBIDDEN, superior_admin=NOT_FOUND,
        unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND)),
    "/results/": {"GET": Entry("result.publicize", HOLDER)},
    "/results/meetings/<int:meeting_id>/publish": both("result.publicize", OWN_BATCH),
    "/results/end-date": {"GET": Entry("result.publicize", HOLDER, "start_on=2026-12-07&working_days=5")},
    "/results/publicity/<int:publicity_id>": {"GET": Entry("result.publicize", OWN_BATCH)},
    "/results/publicity/<int:publicity_id>/withdraw": {"POST": Entry("result.publicize", OWN_BATCH)},
    "/results/publicity/<int:publicity_id>/offline": {"POST": Entry("result.publicize", OWN_BATCH)},
    "/results/publicity/<int:publicity_id>/close": {"POST": Entry("result.publicize", OWN_BATCH)},
    "/results/complaints/<int:complaint_id>/settle": {"POST": Entry("result.publicize", OWN_BATCH)},
    "/results/complaints/<int:complaint_id>/evidence/<int:index>": {"GET": Entry("result.publicize", OWN_BATCH)},
    "/results/committee": {"GET": Entry("result.publicize", HOLDER)},
    "/results/committee/doc-no": {"POST": Entry("result.publicize", HOLDER)},
    "/results/committee/certificate-info": {"POST": Entry("result.publicize", HOLDER)},
    "/results/entries/<int:result_entry_id>/supplement": {"POST": Entry("result.publicize", OWN_BATCH)},
    "/results/entries/<int:result_entry_id>/files/<int:index>": {"GET": Entry("result.publicize", BATCH_ON_PATH)},
    # Either result.publicize or result.file_review opens 职称评审结果备案: member_without holds the other one.
    "/results/filings": {"GET": Entry("result.publicize", SIGNED_IN)},
    "/results/filings/review": {"GET": Entry("result.file_review", SIGNED_IN)},
    "/results/meetings/<int:meeting_id>/filing": {"POST": Entry("result.publicize", OWN_BATCH)},
    "/results/filings/<int:result_filing_id>": both("result.publicize", FILING_PARTIES),
    "/results/filings/<int:result_filing_id>/report": {"GET": Entry("result.publicize", FILING_PARTIES)},
    "/results/confirm": {"GET": Entry("result.confirm", HOLDER)},
    "/results/confirm/pass-all": {"POST": Entry("result.confirm", HOLDER)},
    # 材料审阅: the world's result is 未确认 at the superior (its 授权管理单位): only that unit reads the declaration.
    "/results/entries/<int:result_entry_id>/declaration": {"GET": Entry("result.confirm", CONFIRMING_UNIT)},
    "/results/entries/<int:result_entry_id>/declaration/files/<reviewed_sha256>": {
        "GET": Entry("result.confirm", CONFIRMING_UNIT)},
    "/public/results/<int:publicity_id>": {"GET": Entry("home.view", PUBLIC_NOTICE)},
    "/public/results/<int:publicity_id>/notice.pdf": {"GET": Entry("home.view", PUBLIC_NOTICE)},
    "/public/results/<int:publicity_id>/feedback": both("home.view", SIGNED_IN_NOTICE),
    "/jobs/": {"GET": Entry("home.view", SIGNED_IN)},
    "/jobs/<int:job_id>": {"GET": Entry("home.view", OWN_JOB)},
    "/jobs/<int:job_id>/panel": {"GET": Entry("home.view", OWN_JOB)},
    "/jobs/<int:job_id>/file": {"GET": Entry("home.view", OWN_JOB)},
    "/jobs/<int:job_id>/cancel": {"POST": Entry("home.view", OWN_JOB)},
    "/jobs/<int:job_id>/retry": {"POST": Entry("home.view", OWN_JOB)},
    "/notices/": {"GET": Entry("notice.manage", HR_UNITS)},
    "/notices/new": both("notice.manage", HR_UNITS),
    "/notices/<int:notice_id>/edit": both("notice.manage", HR_SUBTREE),
    "/notices/<int:notice_id>/preview": {"GET": Entry("notice.manage", HR_SUBTREE)},
    "/notices/<int:notice_id>/publish": {"POST": Entry("notice.manage", HR_SUBTREE)},
    "/notices/<int:notice_id>/withdraw": {"POST": Entry("notice.manage", HR_SUBTREE)},
    "/notices/<int:notice_id>/delete": {"POST": Entry("notice.manage", HR_SUBTREE)},
    "/public/notices/<int:notice_id>": {"GET": Entry("home.view", OPEN_TO_ALL)},
    "/public/notices/<int:notice_id>/file": {"GET": Entry("home.view", OPEN_TO_ALL)},
    "/messages/new": both("message.send", HOLDER),
    "/messages/sent": {"GET": Entry("message.send", HOLDER)},
    "/messages/sent/<int:message_id>": {"GET": Entry("message.send", SENT_BY_SUPERIOR)},
    "/messages/sent/<int:message_id>/file": {"GET": Entry("message.send", SENT_BY_SUPERIOR)},
    "/messages/received": {"GET": Entry("message.receive", HOLDER)},
    "/messages/received/<int:receipt_id>": {"GET": Entry("message.receive", RECEIVING_UNIT)},
    "/messages/received/<int:receipt_id>/confirm": {"POST": Entry("message.receive", RECEIVING_UNIT)},
    "/messages/received/<int:receipt_id>/file": {"GET": Entry("message.receive", RECEIVING_UNIT)},
    "/my-messages/": {"GET": Entry("home.view", APPLICANT_ONLY)},
    "/my-messages/<int:applicant_receipt_id>": {"GET": Entry("home.view", APPLICANT_ONLY)},
    "/my-messages/<int:applicant_receipt_id>/confirm": {"POST": Entry("home.view", APPLICANT_ONLY)},
    "/my-messages/<int:applicant_receipt_id>/file": {"GET": Entry("home.view", APPLICANT_ONLY)},
    "/talent/reviews": {"GET": Entry("talent.review", HOLDER)},
    "/talent/records/<int:talent_record_id>": {"GET": Entry("talent.review", ON_PATH)},
    "/talent/statistics": {"GET": Entry("talent.stats", HOLDER)},
    "/talent/confirmations": {"GET": Entry("title_confirmation.review", HOLDER)},
    "/talent/confirmations/<int:confirmation_id>": {"GET": Entry("title_confirmation.review", ON_PATH)},
    "/talent/confirmations/<int:confirmation_id>/file": {"GET": Entry("title_confirmation.review", ON_PATH)},
    "/my-talent/": both("home.view", APPLICANT_ONLY),
    "/my-talent/confirmations": both("home.view", APPLICANT_ONLY),
    "/my-talent/confirmations/<int:own_confirmation_id>": both("home.view", APPLICANT_ONLY),
    "/my-talent/confirmations/<int:own_confirmation_id>/file": {"GET": Entry("home.view", APPLICANT_ONLY)},
    "/acceptance-agencies/": {"GET": Entry("acceptance.manage", PLATFORM)},
    "/acceptance-agencies/new": both("acceptance.manage", PLATFORM),
    "/acceptance-agencies/<int:agency_id>/edit": both("acceptance.manage", PLATFORM),
    "/acceptance-agencies/<int:agency_id>/deregister": {"POST": Entry("acceptance.manage", PLATFORM)},
    "/acceptance-agencies/template": {"GET": Entry("acceptance.manage", PLATFORM)},
    "/acceptance-agencies/import": both("acceptance.manage", PLATFORM),
    "/review-plans/": {"GET": Entry("plan.submit", HOLDER)},
    "/review-plans/new": both("plan.submit", HOLDER),
    "/review-plans/<int:plan_id>/edit": both("plan.submit", OWN_UNIT),
    "/review-plans/<int:plan_id>/submit": {"POST": Entry("plan.submit", OWN_UNIT)},
    "/review-plans/<int:plan_id>": {"GET": Entry("plan.submit", PLAN_READERS)},
    "/review-plans/<int:plan_id>/file": {"GET": Entry("plan.submit", PLAN_READERS)},
    "/review-plans/reviews": {"GET": Entry("plan.review", HOLDER)},
    "/review-plans/reviews/special": {"GET": Entry("plan.review_special", HOLDER)},
    "/review-plans/query": {"GET": Entry("plan.query", HOLDER)},
    "/notifications/": {"GET": Entry("home.view", ANY_ACCOUNT)},
    "/notifications/<int:notification_id>": {"GET": Entry("home.view", OWN_NOTIFICATION)},
    "/notifications/read": {"POST": Entry("home.view", ANY_ACCOUNT)},
    "/notifications/settings": both("home.view", ANY_ACCOUNT),
    "/inbox/opinions/<int:opinion_id>/edit": {"POST": Entry("inbox.view", OWN_OPINION)},
    "/inbox/opinions/<int:opinion_id>/delete": {"POST": Entry("inbox.view", OWN_OPINION)},
    "/inbox/opinions/<int:opinion_id>/move": {"POST": Entry("inbox.view", OWN_OPINION)},
    "/dictionary/series": {"GET": Entry("dict.manage", PLATFORM)},
    "/dictionary/series/new": both("dict.manage", PLATFORM),
    "/dictionary/series/<code>": {"GET": Entry("dict.manage", PLATFORM)},
    "/dictionary/series/<code>/edit": both("dict.manage", PLATFORM),
    "/dictionary/series/<code>/<any(enable, disable):action>": {"POST": Entry("dict.manage", PLATFORM)},
    "/dictionary/series/<code>/titles/new": both("dict.manage", PLATFORM),
    "/dictionary/series/<code>/titles/<int:title_id>/edit": both("dict.manage", PLATFORM),
    "/dictionary/specialties": {"GET": Entry("dict.manage", PLATFORM)},
    "/dictionary/specialties/new": both("dict.manage", PLATFORM, "series={code}"),
    "/dictionary/specialties/export": {"GET": Entry("dict.manage", PLATFORM, "series={code}")},
    "/dictionary/specialties/<int:specialty_id>/edit": both("dict.manage", PLATFORM),
    "/dictionary/specialties/<int:specialty_id>/<any(enable, disable):action>": {
        "POST": Entry("dict.manage", PLATFORM)},
    "/applicant/register": both("home.view", APPLICANT_ENTRY),
    "/applicant/login": both("home.view", APPLICANT_ENTRY),
    "/applicant/units": {"GET": Entry("home.view", expect(**{**PUBLIC, "applicant": OK}), "q=医院")},
    "/applicant/logout": {"POST": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/password": both("home.view", APPLICANT_ONLY),
    "/applicant/": {"GET": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/profile": {"GET": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/profile/basic": both("home.view", APPLICANT_ONLY),
    "/applicant/profile/title": both("home.view", APPLICANT_ONLY),
    "/applicant/educations/new": both("home.view", APPLICANT_ONLY),
    "/applicant/educations/<int:education_id>/edit": both("home.view", APPLICANT_ONLY),
    "/applicant/educations/<int:education_id>/delete": {"POST": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/work/new": both("home.view", APPLICANT_ONLY),
    "/applicant/work/<int:work_id>/edit": both("home.view", APPLICANT_ONLY),
    "/applicant/work/<int:work_id>/delete": {"POST": Entry("home.view", APPLICANT_ONLY)},
    "/blacklist/": {"GET": Entry("blacklist.manage", HR_UNITS)},
    "/blacklist/new": both("blacklist.manage", HR_UNITS),
    "/blacklist/people": {"GET": Entry("blacklist.manage", HR_UNITS, "q=张")},
    "/blacklist/export": {"GET": Entry("blacklist.manage", HR_UNITS)},
    "/blacklist/<int:entry_id>": {"GET": Entry("blacklist.manage", HR_SUBTREE)},
    "/blacklist/<int:entry_id>/edit": both("blacklist.manage", HR_SUBTREE),
    "/blacklist/<int:entry_id>/lift": both("blacklist.manage", HR_SUBTREE),
    "/register": both("home.view", PUBLIC),
    "/register/superiors": {"GET": Entry("home.view", PUBLIC, "q=乐山")},
    "/register/regions.json": {"GET": Entry("home.view", PUBLIC)},
    "/register/status": both("home.view", PUBLIC, "token={registration_token}"),
    "/register/licence": {"GET": Entry("home.view", PUBLIC, "token={registration_token}")},
    "/registrations/<int:registration_id>/licence": {"GET": Entry("registration.review", REGISTRATION_REVIEWERS)},
    "/audit-config/": {"GET": Entry("audit.config", HOLDER, "item={item_type}")},
    "/audit-config/<item_type>": {"POST": Entry("audit.config", HOLDER)},
    "/audit-config/<item_type>/clear": {"POST": Entry("audit.config", HOLDER)},
    "/units/own/superior-change": {"POST": Entry("unit.self.edit", HOLDER)},
    "/units/own/superior-change/resubmit": {"POST": Entry("unit.self.edit", HOLDER)},
    "/process-admin/": {"GET": Entry("process.admin", PLATFORM)},
    "/process-admin/upload": {"POST": Entry("process.admin", PLATFORM)},
    "/process-admin/<process_id>/v<int:version>.bpmn": {"GET": Entry("process.admin", PLATFORM)},
    "/process-admin/<process_id>/compare": {"GET": Entry("process.admin", PLATFORM)},
    "/process-admin/<process_id>/v<int:version>/edit": {"GET": Entry("process.admin", PLATFORM)},
    "/process-admin/<process_id>/deploy": {"POST": Entry("process.admin", PLATFORM)},
    "/process-admin/<process_id>/v<int:version>/migrate": {"POST": Entry("process.admin", PLATFORM)},
    "/process-admin/instances": {"GET": Entry("process.admin", PLATFORM, "process_id={process_id}&status=running")},
    "/process-admin/instances/<int:instance_id>": {"GET": Entry("process.admin", PLATFORM)},
    "/process-admin/instances/<int:instance_id>/<any(suspend, resume, terminate):operation>": {
        "POST": Entry("process.admin", PLATFORM)},
    "/process-admin/instances/<int:instance_id>/migrate": {"POST": Entry("process.admin", PLATFORM)},
    "/committees/": {"GET": Entry("committee.filing", HOLDER)},
    "/committees/new": both("committee.filing", HOLDER),
    "/committees/<int:committee_id>": {"GET": Entry("committee.filing", OWN_UNIT)},
    "/committees/<int:committee_id>/edit": both("committee.filing", OWN_UNIT),
    "/committees/<int:committee_id>/library": {"POST": Entry("committee.filing", OWN_UNIT)},
    "/committees/<int:committee_id>/file": {"POST": Entry("committee.filing", OWN_UNIT)},
    "/committees/filings/<int:filing_id>/request": {"GET": Entry("committee.filing", FORMING_OR_REVIEWING)},
    "/committees/reviews": {"GET": Entry("committee_filing.review", HOLDER)},
    "/committees/reviews/<int:filing_id>": {"GET": Entry("committee_filing.review", FILING_REVIEWERS)},
    "/activities/": {"GET": Entry("activity.publish", HOLDER)},
    "/activities/new": both("activity.publish", HOLDER),
    "/activities/<int:activity_id>": {"GET": Entry("activity.publish", OWN_UNIT)},
    "/activities/<int:activity_id>/edit": both("activity.publish", OWN_UNIT),
    "/activities/<int:activity_id>/achievements": {"POST": Entry("activity.publish", OWN_UNIT)},
    "/activities/<int:activity_id>/achievements/import": {"POST": Entry("activity.publish", OWN_UNIT)},
    "/activities/<int:activity_id>/exceptional": {"POST": Entry("activity.publish", OWN_UNIT)},
    "/activities/<int:activity_id>/materials": {"POST": Entry("activity.publish", OWN_UNIT)},
    "/activities/<int:activity_id>/submit": {"POST": Entry("activity.publish", OWN_UNIT)},
    "/activities/<int:activity_id>/files/<kind>": {"POST": Entry("activity.publish", OWN_UNIT)},
    "/activities/<int:activity_id>/files/<kind>/<sha256>/delete": {"POST": Entry("activity.publish", OWN_UNIT)},
    "/activities/<int:activity_id>/files/<kind>/<sha256>": {"GET": Entry("activity.publish", FORMING_OR_REVIEWING)},
    "/activities/public/<int:public_activity_id>/policy/<sha256>": {"GET": Entry("home.view", {**PUBLIC,
                                                                                               "applicant": AWAY})},
    "/activities/reviews": {"GET": Entry("activity_publication.review", HOLDER)},
    "/activities/public": {"GET": Entry("home.view", PUBLIC)},
    "/experts/": {"GET": Entry("expert.manage", HOLDER)},
    "/experts/<int:committee_id>": {"GET": Entry("expert.manage", OWN_UNIT)},
    "/experts/<int:committee_id>/export": {"GET": Entry("expert.manage", OWN_UNIT)},
    "/experts/<int:committee_id>/new": both("expert.manage", OWN_UNIT),
    "/experts/<int:committee_id>/<int:membership_id>": {"GET": Entry("expert.manage", OWN_UNIT)},
    "/experts/<int:committee_id>/<int:membership_id>/edit": both("expert.manage", OWN_UNIT),
    "/experts/<int:committee_id>/<int:membership_id>/delete": {"POST": Entry("expert.manage", OWN_UNIT)},
    "/experts/<int:committee_id>/<int:membership_id>/recommendation": {"POST": Entry("expert.manage", OWN_UNIT)},
    "/experts/<int:committee_id>/submit": {"POST": Entry("expert.manage", OWN_UNIT)},
    "/experts/<int:committee_id>/import/template": {"GET": Entry("expert.manage", OWN_UNIT)},
    "/experts/<int:committee_id>/import": both("expert.manage", OWN_UNIT),
    "/experts/<int:committee_id>/import/confirm": {"POST": Entry("expert.manage", OWN_UNIT)},
    "/experts/reviews": {"GET": Entry("expert.review", HOLDER)},
    "/experts/reviews/<int:committee_id>": {"GET": Entry("expert.review", FILING_REVIEWERS)},
    "/experts/reviews/<int:committee_id>/decide": {"POST": Entry("expert.review", FILING_REVIEWERS)},
    "/committee-admin/": {"GET": Entry("committee.manage", PLATFORM)},
    "/committee-admin/export": {"GET": Entry("committee.manage", PLATFORM)},
    "/committee-admin/new": both("committee.manage", PLATFORM),
    "/committee-admin/<int:committee_id>/edit": both("committee.manage", PLATFORM),
    "/committee-admin/<int:committee_id>/others": both("committee.manage", PLATFORM),
    "/committee-admin/<int:committee_id>/deregister": {"POST": Entry("committee.manage", PLATFORM)},
    "/committee-admin/import": both("committee.manage", PLATFORM),
    "/committee-admin/import/confirm": {"POST": Entry("committee.manage", PLATFORM)},
    "/committee-admin/query": {"GET": Entry("committee.query", HOLDER)},
    "/committee-admin/query/export": {"GET": Entry("committee.query", HOLDER)},
    "/committee-admin/query/<int:committee_id>": {"GET": Entry("committee.query", SUBTREE)},
    "/review-paths/competent": {"GET": Entry("path.config", HR_UNITS)},
    "/review-paths/competent/new": both("path.config", HR_UNITS),
    "/review-paths/competent/<int:assignment_id>/edit": both("path.config", HR_SUBTREE),
    "/review-paths/competent/<int:assignment_id>/delete": {"POST": Entry("path.config", HR_SUBTREE)},
    "/review-paths/links": {"GET": Entry("path.config", HR_UNITS)},
    "/review-paths/links/new": both("path.config", HR_UNITS),
    "/review-paths/links/<int:link_id>/edit": both("path.config", HR_SUBTREE),
    "/review-paths/links/<int:link_id>/delete": {"POST": Entry("path.config", HR_SUBTREE)},
    # 审核路径配置查询 of the target unit: any unit may ask about itself; its superiors about it; nobody else.
    "/review-paths/query": {"GET": Entry("path.query", SUBTREE, "unit_id={unit_id}")},
    "/review-paths/simulate": {"GET": Entry("path.query", SUBTREE, "unit_id={unit_id}&level=intermediate&series="
                                            "engineering_technician&method=intermediate_committee")},
    # 职数申报 (H 1.5, 1.22), called with a draft of the target (World.quota_records): a draft is the target's own
    # business, so the superior's and the platform's 职数申报查询 answer 404 for it.
    "/quotas/": {"GET": Entry("quota.declare", HOLDER)},
    "/quotas/new": both("quota.declare", HOLDER),
    "/quotas/<int:declaration_id>": {"GET": Entry("quota.declare", OWN_UNIT)},
    "/quotas/<int:declaration_id>/edit": both("quota.declare", OWN_UNIT),
    "/quotas/<int:declaration_id>/submit": {"POST": Entry("quota.declare", OWN_UNIT)},
    "/quotas/reviews": {"GET": Entry("quota.review", HOLDER)},
    "/quotas/query": {"GET": Entry("quota.query", HOLDER)},
    "/quotas/query/export": {"GET": Entry("quota.query", HOLDER)},
    "/quotas/query/<int:declaration_id>": {"GET": Entry("quota.query", {**OWN_UNIT, "platform_admin": NOT_FOUND})},
    # 职称申报 (F1), the applicant's own (World.applicant_declaration_records): staff accounts are refused.
    "/applicant/declarations/": {"GET": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/declarations/new": both("home.view", APPLICANT_ONLY, "activity_id={open_activity_id}"),
    "/applicant/declarations/<int:own_declaration_id>": {"GET": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/declarations/<int:own_declaration_id>/info": {"POST": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/declarations/<int:own_declaration_id>/assessments": {"POST": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/declarations/<int:own_declaration_id>/items/<int:item_id>/achievements/new": both(
        "home.view", APPLICANT_ONLY),
    "/applicant/declarations/<int:own_declaration_id>/achievements/<int:achievement_id>/edit": both(
        "home.view", APPLICANT_ONLY),
    "/applicant/declarations/<int:own_declaration_id>/achievements/<int:achievement_id>/delete": {
        "POST": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/declarations/<int:own_declaration_id>/materials/<int:requirement_id>": {
        "POST": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/declarations/<int:own_declaration_id>/materials/<int:requirement_id>/<file_sha256>/delete": {
        "POST": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/declarations/<int:own_declaration_id>/files/<file_sha256>": {"GET": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/declarations/<int:own_declaration_id>/achievements/<int:achievement_id>/files/<file_sha256>/delete": {
        "POST": Entry("home.view", APPLICANT_ONLY)},
    "/applicant/declarations/<int:own_declaration_id>/submit": {"POST": Entry("home.view", APPLICANT_ONLY)},
    # 申报审核 (S 1.2.3, 1.2.5.1; H 1.1.4, 1.24), called with a declaration of the target that the target passed up
    # to the committee it formed (World.application_review_records). Its 审核 pages open only for units it reached;
    # nobody holds an open task on it here, so a POST by a holder is refused as "not its reviewer" (403).
    "/application-review/own": {"GET": Entry("application.review", HOLDER)},
    "/application-review/own/export": {"GET": Entry("application.review", HOLDER)},
    "/application-review/subordinates": {"GET": Entry("application.review", HOLDER)},
    "/application-review/subordinates/export": {"GET": Entry("application.review", HOLDER)},
    "/application-review/batch": {"POST": Entry("application.review", HOLDER)},
    "/application-review/qualification": {"GET": Entry("application.qualify", HOLDER)},
    "/application-review/applications/<int:reviewed_id>": {
        "GET": Entry("application.review", {**OWN_UNIT, "platform_admin": NOT_FOUND}),
        "POST": Entry("application.review", {**OWN_UNIT, "member_with": FORBIDDEN, "platform_admin": NOT_FOUND})},
    "/application-review/qualification/<int:reviewed_id>": {
        "GET": Entry("application.qualify", {**OWN_UNIT, "platform_admin": NOT_FOUND}),
        "POST": Entry("application.qualify", {**OWN_UNIT, "member_with": FORBIDDEN, "platform_admin": NOT_FOUND})},
    # The world's declaration was written without a process instance, so even its units get 404 (no diagram);
    # what matters here is that nobody outside is let through and nothing answers 500.
    "/application-review/applications/<int:reviewed_id>/diagram.xml": {"GET": Entry("home.view", expect(
        signed_out=LOGIN, member_with=NOT_FOUND, member_without=NOT_FOUND, superior_admin=NOT_FOUND,
        unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND))},
    "/application-review/applications/<int:reviewed_id>/files/<reviewed_sha256>": {"GET": Entry("home.view", expect(
        signed_out=LOGIN, member_with=OK, member_without=OK, superior_admin=NOT_FOUND, unrelated_admin=NOT_FOUND,
        platform_admin=NOT_FOUND))},
    "/application-review/stats": {"GET": Entry("application.stats", HOLDER)},
    "/application-review/personnel": {"GET": Entry("application.stats", HOLDER)},
    "/application-review/personnel/<int:reviewed_id>/edit": both("application.stats",
                                                                {**OWN_UNIT, "platform_admin": NOT_FOUND}),
    "/application-review/query": {"GET": Entry("application.query", HOLDER)},
    "/application-review/query/export": {"GET": Entry("application.query", HOLDER)},
    "/application-review/query/<int:reviewed_id>": {"GET": Entry("application.query", SUBTREE)},
    # 电子证书管理 (issue 17), on records of the target unit (World.certificate_records).
    "/certificates/queue": {"GET": Entry("certificate.issue", HOLDER)},
    "/certificates/queue/clear": {"POST": Entry("certificate.issue", HOLDER)},
    "/certificates/batches": {"POST": Entry("certificate.issue", HOLDER)},
    "/certificates/batches/<int:issuance_batch_id>/approval": {"POST": Entry("certificate.issue", ISSUING_UNIT)},
    "/certificates/batches/<int:issuance_batch_id>/summary.xlsx": {"GET": Entry("certificate.issue", ISSUING_UNIT)},
    "/certificates/batches/<int:issuance_batch_id>/stamped": {"POST": Entry("certificate.issue", ISSUING_UNIT)},
    "/certificates/batches/<int:issuance_batch_id>/stamped.pdf": {"GET": Entry("certificate.issue", ISSUING_UNIT)},
    "/certificates/": {"GET": Entry("certificate.query", HOLDER)},
    "/certificates/<int:certificate_id>": {"GET": Entry("certificate.query", SUBTREE)},
    "/certificates/<int:certificate_id>/pdf": {"GET": Entry("certificate.query", SUBTREE)},
    "/certificates/<int:certificate_id>/review-form.pdf": {"GET": Entry("certificate.query", SUBTREE)},
    "/certificates/review-forms": {"POST": Entry("certificate.query", HOLDER)},
    "/certificates/<int:certificate_id>/revoke": {"POST": Entry("certificate.issue", ISSUING_UNIT)},
    "/certificates/reports": both("certificate.issue", HOLDER),
    "/certificates/reports/<int:report_id>/file": {"GET": Entry("certificate.issue", ISSUING_UNIT)},
    "/certificates/issuer": both("certificate.issue", HOLDER),
    "/certificates/issuer/seal": {"POST": Entry("certificate.issue", HOLDER)},
    "/certificates/issuer/pools": {"POST": Entry("certificate.issue", HOLDER)},
    "/certificates/import": both("certificate.issue", HOLDER),
    "/certificates/import/template.xlsx": {"GET": Entry("certificate.issue", HOLDER)},
    # Public: anyone holding a QR code; the world's <code> is no certificate's, so everybody gets 404.
    "/verify/<code>": {"GET": Entry("home.view", expect(
        signed_out=NOT_FOUND, member_with=NOT_FOUND, member_without=NOT_FOUND, superior_admin=NOT_FOUND,
        unrelated_admin=NOT_FOUND, platform_admin=NOT_FOUND, applicant=NOT_FOUND))},
    # 评审会议管理 (S 1.2.5.2–1.2.6), called with a meeting of the target's committee (World.meeting_records).
    "/meetings/": {"GET": Entry("meeting.manage", HOLDER)},
    "/meetings/new": {"POST": Entry("meeting.manage", HOLDER)},
    "/meetings/<int:meeting_id>": {"GET": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/steps/<meeting_step>": {"POST": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/diagram.xml": {"GET": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/record": {"GET": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/prepare": both("meeting.manage", MEETING),
    "/meetings/<int:meeting_id>/sync": {"POST": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/<any(interviews, exam):sheet>/template": {"GET": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/<any(interviews, exam):sheet>/import": {"POST": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/draw": both("meeting.manage", MEETING),
    "/meetings/<int:meeting_id>/groups": {"POST": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/groups/<int:group_id>/delete": {"POST": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/draws/<int:draw_id>": both("meeting.manage", MEETING),
    "/meetings/<int:meeting_id>/draws/<int:draw_id>/export": {"GET": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/experts": {"GET": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/experts/<int:member_id>/<any(confirm, cancel):attendance>": {
        "POST": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/experts/<int:member_id>/executive": {"POST": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/experts/<int:member_id>/password": {"POST": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/replacement": {"POST": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/expert-groups": both("meeting.manage", MEETING),
    "/meetings/<int:meeting_id>/assign": {"GET": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/applicants/<int:row_id>/assign": {"POST": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/reorder/template": {"GET": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/reorder": {"POST": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/exports/<export_kind>": {"GET": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/voting": both("meeting.manage", MEETING),
    "/meetings/<int:meeting_id>/count": {"GET": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/materials": {"POST": Entry("meeting.manage", MEETING)},
    # The matrix meeting has no 评议材料: its holders get 404 for the file, as anyone else.
    "/meetings/<int:meeting_id>/materials/<int:file_index>": {"GET": Entry("meeting.manage", {
        **MEETING, "member_with": NOT_FOUND})},
    "/meetings/<int:meeting_id>/experts/<int:member_id>/return": {"POST": Entry("meeting.manage", MEETING)},
    "/meetings/<int:meeting_id>/experts/<int:member_id>/absent": {"POST": Entry("meeting.manage", MEETING)},
    # 专家端 (A9): sign-in open to visitors; the rest for signed-in experts only (their own 404s: tests/web/
    # test_meeting_pages.py).
    "/expert/login": both("home.view", PUBLIC),
    "/expert/logout": {"POST": Entry("home.view", EXPERT_ONLY)},
    "/expert/password": both("home.view", EXPERT_ONLY),
    "/expert/": {"GET": Entry("home.view", EXPERT_ONLY)},
    "/expert/meetings/<int:meeting_id>": {"GET": Entry("home.view", EXPERT_ONLY)},
    "/expert/meetings/<int:meeting_id>/applicants/<int:row_id>": both("home.view", EXPERT_ONLY),
    "/expert/meetings/<int:meeting_id>/applicants/<int:row_id>/materials/<material_key>/<int:file_index>": {
        "GET": Entry("home.view", EXPERT_ONLY)},
    "/expert/meetings/<int:meeting_id>/submit": {"POST": Entry("home.view", EXPERT_ONLY)},
    "/expert/meetings/<int:meeting_id>/plan-materials/<int:file_index>": {"GET": Entry("home.view", EXPERT_ONLY)},
}

MATRIX = [(rule, method) for rule, methods in ROUTES.items() for method in methods]


@dataclass
class World:
    """Two city trees under the province; the target unit sits in 乐山's."""

    province: Unit
    superior: Unit
    target: Unit
    child: Unit
    sibling: Unit
    unrelated: Unit
    unrelated_child: Unit
    target_staff: User
    target_role: Role
    admins: dict[str, User]
    applicant: Applicant | None = None
    blacklist_entry: BlacklistEntry | None = None
    registration: Submitted | None = None

    def arguments(self) -> dict[str, Any]:
        title = db.session.scalar(select(Title).where(Title.series_code == SERIES).order_by(Title.id).limit(1))
        specialty = db.session.scalar(select(Specialty).where(Specialty.series_code == SERIES).order_by(Specialty.id)
                                      .limit(1))
        parts: list[dict[str, Any]] = [
            {"unit_id": self.target.id, "user_id": self.target_staff.id, "role_id": self.target_role.id,
             "step": "legal", "action": "disable", "code": SERIES, "title_id": title.id,
             "specialty_id": specialty.id, "education_id": self.applicant.educations[0].id,
             "work_id": self.applicant.work_history[0].id, "entry_id": self.blacklist_entry.id,
             "registration_id": self.registration.registration.id, "registration_token": self.registration.token,
             "item_type": "unit_registration", "process_id": "unit_superior_change", "version": 1,
             "operation": "suspend"},
            self.inbox_records(), (committee := self.committee_records()),
            self.review_path_records(committee["committee_id"]), self.quota_records(),
            self.plan_records(committee["committee_id"], committee["activity_id"]),
            (declared := self.applicant_declaration_records(committee["committee_id"])),
            (reviewed := self.application_review_records()), self.job_records(), self.history_records(),
            self.notification_records(), self.notice_records(), self.message_records(),
            self.talent_records(), self.certificate_records(),
            (met := self.meeting_records(reviewed["reviewed_id"])),
            {"meeting_step": "prepare_meeting", "sheet": "exam", "attendance": "confirm", "export_kind": "roster",
             "material_key": "1", "file_index": 0},
            self.result_records(met["meeting_id"], reviewed["reviewed_id"]),
            self.activity_files(committee["activity_id"], declared["open_activity_id"])]
        arguments: dict[str, Any] = {}
        for part in parts:
            # A name given twice would call one area's routes with another area's record (their ids only
            # coincide on a fresh database): each route variable needs a name of its own.
            clash = sorted(set(arguments) & set(part))
            assert not clash, f"World.arguments: {clash} named twice"
            arguments.update(part)
        return arguments

    def history_records(self) -> dict[str, Any]:
        """A batch the target collected (one failed row, its path up to the superior, a 任职资格文件) and a
        历史评审机构 the superior keeps."""
        import hashlib

        from committee_helpers import PDF

        from app.models import HistoricalBody, HistoricalBodyCollector, HistoryBatch, HistoryRecord
        from services.common import file_store

        checked = file_store.StoredFile(hashlib.sha256(PDF).hexdigest(), "任职资格文件.pdf", len(PDF), "pdf")
        file_store.store(checked, PDF)
        batch = HistoryBatch(method="review", doc_no="川人社职〔2020〕60号", collector_unit_id=self.target.id,
                             status="draft", path=[self.superior.id], failed_count=1, opinion="",
                             qualification_file={"sha256": checked.sha256, "filename": checked.filename,
                                                 "file_type": "pdf"})
        db.session.add(batch)
        db.session.flush()
        record = HistoryRecord(batch_id=batch.id, row_no=2, status="failed", errors={"姓名": "必填"})
        body = HistoricalBody(name="矩阵测试历史评审机构", unit_id=self.superior.id, series_codes=[SERIES],
                              level_codes=["intermediate"], collectors=[HistoricalBodyCollector(unit_id=self.target.id)])
        db.session.add_all([record, body])
        db.session.flush()
        return {"batch_id": batch.id, "record_id": record.id, "body_id": body.id}

    def plan_records(self, committee_id: int, activity_id: int) -> dict[str, Any]:
        """An approved 评审方案 of the target's committee with an attachment, reviewed by the superior."""
        import hashlib

        from committee_helpers import PDF

        from app.models import ReviewPlan
        from services.common import file_store

        checked = file_store.StoredFile(hashlib.sha256(PDF).hexdigest(), "方案.pdf", len(PDF), "pdf")
        file_store.store(checked, PDF)
        plan = ReviewPlan(committee_id=committee_id, activity_id=activity_id, unit_id=self.target.id,
                          reviewing_unit_id=self.superior.id, name="矩阵评审方案", status="approved",
                          attachment={"sha256": checked.sha256, "filename": "方案.pdf", "file_type": "pdf"})
        db.session.add(plan)
        db.session.flush()
        return {"plan_id": plan.id}

    def talent_records(self) -> dict[str, Any]:
        """The applicant's approved talent record and title confirmation (with a scan), reviewed by the target and
        its superior."""
        import hashlib

        from committee_helpers import PDF

        from app.models import TalentRecord, TitleConfirmation
        from services.common import file_store

        checked = file_store.StoredFile(hashlib.sha256(PDF).hexdigest(), "证书.pdf", len(PDF), "pdf")
        file_store.store(checked, PDF)
        path = [self.target.id, self.superior.id]
        record = TalentRecord(applicant_id=self.applicant.id, unit_id=self.target.id, category="卫生技术人员",
                              name=self.applicant.name, path=path, status="approved")
        confirmation = TitleConfirmation(
            applicant_id=self.applicant.id, unit_id=self.target.id, title_name="主治医师", level_code="intermediate",
            obtained_on=date(2015, 12, 1), issuer="重庆市卫生健康委员会", path=path, status="approved",
            attachment={"sha256": checked.sha256, "filename": "证书.pdf", "file_type": "pdf"})
        db.session.add_all([record, confirmation])
        db.session.flush()
        from app.models import AcceptanceAgency

        agency = AcceptanceAgency(node_type="recognition", grade="中级", unit_id=self.superior.id,
                                  certificate_name="乐山市职称改革工作领导小组办公室")
        db.session.add(agency)
        db.session.flush()
        return {"talent_record_id": record.id, "confirmation_id": confirmation.id,
                "own_confirmation_id": confirmation.id, "agency_id": agency.id}

    def message_records(self) -> dict[str, Any]:
        """A message with an attachment from the superior's administrator to the target unit, and one to the
        world's applicant; their receipts."""
        import hashlib

        from committee_helpers import PDF

        from app.models import Message, MessageReceipt
        from services.common import file_store

        checked = file_store.StoredFile(hashlib.sha256(PDF).hexdigest(), "附件.pdf", len(PDF), "pdf")
        file_store.store(checked, PDF)
        record = {"sha256": checked.sha256, "filename": "附件.pdf", "file_type": "pdf"}
        sender = self.admins["superior_admin"]
        to_unit = Message(sender_unit_id=self.superior.id, sender_user_id=sender.id, audience="units",
                          title="矩阵消息", body="正文", attachment=record, recipient_count=1)
        to_applicant = Message(sender_unit_id=self.superior.id, sender_user_id=sender.id, audience="applicants",
                               title="矩阵个人消息", body="正文", attachment=record, recipient_count=1)
        db.session.add_all([to_unit, to_applicant])
        db.session.flush()
        receipt = MessageReceipt(message_id=to_unit.id, unit_id=self.target.id)
        applicant_receipt = MessageReceipt(message_id=to_applicant.id, applicant_id=self.applicant.id)
        db.session.add_all([receipt, applicant_receipt])
        db.session.flush()
        return {"message_id": to_unit.id, "receipt_id": receipt.id, "applicant_receipt_id": applicant_receipt.id}

    def notice_records(self) -> dict[str, Any]:
        """A published notice of the superior 人社局, with an attachment."""
        import hashlib

        from committee_helpers import PDF

        from app.models import Notice
        from services.common import file_store

        checked = file_store.StoredFile(hashlib.sha256(PDF).hexdigest(), "通知.pdf", len(PDF), "pdf")
        file_store.store(checked, PDF)
        notice = Notice(unit_id=self.superior.id, notice_type="notice", title="矩阵公告", body_html="<p>正文</p>",
                        status="published", published_at=datetime(2026, 3, 2),
                        attachment={"sha256": checked.sha256, "filename": "通知.pdf", "file_type": "pdf"})
        db.session.add(notice)
        db.session.flush()
        return {"notice_id": notice.id}

    def notification_records(self) -> dict[str, Any]:
        """A notification of the superior's administrator."""
        from app.models import Notification

        notification = Notification(user_id=self.admins["superior_admin"].id, event="job_finished", title="矩阵通知",
                                    body="", target_type="", created_at=datetime(2026, 3, 2))
        db.session.add(notification)
        db.session.flush()
        return {"notification_id": notification.id}


    def result_records(self, meeting_id: int, declaration_id: int) -> dict[str, Any]:
        """A publicity of the target's meeting (its notice PDF stored), the reviewed declaration on it confirmed by
        the superior with a supplement file, and a complaint with an evidence file."""
        import hashlib

        from committee_helpers import PDF

        from app.models import Complaint, ResultEntry, ResultPublicity
        from services.common import file_store

        checked = file_store.StoredFile(hashlib.sha256(PDF).hexdigest(), "公示.pdf", len(PDF), "pdf")
        file_store.store(checked, PDF)
        record = {"sha256": checked.sha256, "filename": "公示.pdf", "size": len(PDF), "file_type": "pdf"}
        today = date.today()
        publicity = ResultPublicity(meeting_id=meeting_id, committee_id=db.session.get(
            __import__("app.models", fromlist=["ReviewMeeting"]).ReviewMeeting, meeting_id).committee_id,
            unit_id=self.target.id, title="矩阵测试评审结果公示", start_on=today, end_on=today, working_days=5,
            contact_name="周老师", contact_phone="0833-2276000", status="published", notice_pdf=record,
            withdraw_reason="")
        db.session.add(publicity)
        db.session.flush()
        entry = ResultEntry(publicity_id=publicity.id, declaration_id=declaration_id, committee_id=publicity.committee_id,
                            committee_unit_id=self.target.id, confirming_unit_id=self.superior.id, name="矩阵申报人",
                            work_unit="矩阵单位", title_name="讲师", status="confirming", opinion="", supplement_note="",
                            supplement_files=[record], doc_no="")
        db.session.add(entry)
        db.session.flush()
        complaint = Complaint(entry_id=entry.id, publicity_id=publicity.id, offline=True, complainant_name="投诉人",
                              complainant_phone="13912345678", content="矩阵测试", evidence=[record], status="open",
                              outcome="", outcome_reason="")
        db.session.add(complaint)
        db.session.flush()
        from app.models import ResultFiling

        filing = ResultFiling(meeting_id=meeting_id, committee_id=publicity.committee_id, unit_id=self.target.id,
                              authorizing_unit_id=self.superior.id, doc_no="乐人社职〔2026〕3号", filed_on=today,
                              report=record, status="approved", opinion="")
        db.session.add(filing)
        db.session.flush()
        # Keys of their own: entry_id and filing_id name the blacklist entry and the committee filing.
        return {"publicity_id": publicity.id, "result_entry_id": entry.id, "complaint_id": complaint.id, "index": 0,
                "result_filing_id": filing.id}


    def meeting_records(self, declaration_id: int) -> dict[str, Any]:
        """A meeting of the target's committee (no process instance) with a group, a draw, a drawn expert and the
        reviewed declaration on its list."""
        from app.models import (
            Declaration,
            DrawGroup,
            Expert,
            ExpertDraw,
            MeetingApplicant,
            MeetingExpert,
            ReviewActivity,
            ReviewMeeting,
        )

        activity = db.session.scalar(select(ReviewActivity).where(ReviewActivity.name == "矩阵测试评审活动"))
        expert = db.session.scalar(select(Expert).order_by(Expert.id.desc()).limit(1))
        meeting = ReviewMeeting(activity_id=activity.id, committee_id=activity.committee_id, unit_id=self.target.id,
                                kind="ordinary", name="矩阵测试评审会议", year=2026, materials=[])
        db.session.add(meeting)
        db.session.flush()
        group = DrawGroup(meeting_id=meeting.id, position=1, specialty="建筑施工", level_code="intermediate", needed=1)
        draw = ExpertDraw(meeting_id=meeting.id, seed="s", multiplier_tenths=15, year=2026, groups=[], pool=[],
                          drawn=[], reasons={})
        db.session.add_all([group, draw])
        db.session.flush()
        member = MeetingExpert(meeting_id=meeting.id, expert_id=expert.id, group_id=group.id, draw_id=draw.id)
        row = MeetingApplicant(meeting_id=meeting.id, declaration_id=db.session.get(Declaration, declaration_id).id,
                               interview={}, assistant_reviewer_ids=[])
        db.session.add_all([member, row])
        db.session.flush()
        return {"meeting_id": meeting.id, "group_id": group.id, "draw_id": draw.id, "member_id": member.id,
                "row_id": row.id}

    def certificate_records(self) -> dict[str, Any]:
        """A batch (with its stamped 汇总表), an issued certificate (with its PDF) and a 报送 of the target unit."""
        import hashlib

        from committee_helpers import PDF

        from app.models import Certificate, CertificateReport, Issuance, IssuanceBatch
        from services.common import file_store

        sha256 = hashlib.sha256(PDF).hexdigest()
        file_store.store(file_store.StoredFile(sha256, "a.pdf", len(PDF), "pdf"), PDF)
        batch = IssuanceBatch(issuer_unit_id=self.target.id, source="initial", name="矩阵批次", stamped_sha256=sha256,
                              stamped_filename="汇总表.pdf")
        db.session.add(batch)
        db.session.flush()
        person = Issuance(source="initial", issuer_unit_id=self.target.id, batch_id=batch.id, status="issued",
                          name="矩阵人员", id_number=valid_id_number(), title_name="主治医师", level_name="中级",
                          level_rank=3)
        report = CertificateReport(unit_id=self.target.id, count=1, file_sha256=sha256, filename="报送.xlsx")
        db.session.add_all([person, report])
        db.session.flush()
        certificate = Certificate(issuance_id=person.id, issuer_unit_id=self.target.id, number=f"MX{person.id:08d}",
                                  verify_code=f"matrix{person.id}", issuer_name=self.target.name,
                                  issued_on=date(2026, 3, 2), pdf_sha256=sha256, status="valid", report_id=report.id)
        db.session.add(certificate)
        db.session.flush()
        return {"issuance_batch_id": batch.id, "certificate_id": certificate.id, "report_id": report.id}

    def job_records(self) -> dict[str, Any]:
        """A finished job of the superior's administrator, with a result file."""
        import hashlib

        from app.models import Job
        from services.common import file_store

        content = "结果".encode()
        checked = file_store.StoredFile(hashlib.sha256(content).hexdigest(), "结果.txt", len(content), "text/plain")
        file_store.store(checked, content)
        job = Job(kind="experts.import_check", title="矩阵测试任务", params={}, state="done",
                  started_by_id=self.admins["superior_admin"].id, created_at=datetime(2026, 3, 2),
                  result_sha256=checked.sha256, result_filename="结果.txt", result_mimetype="text/plain")
        inbox_job = Job(kind="inbox.batch", title="矩阵测试批量办理", params={"task_ids": [], "decision": "pass"},
                        state="done", started_by_id=self.admins["superior_admin"].id, created_at=datetime(2026, 3, 2))
        db.session.add_all([job, inbox_job])
        db.session.flush()
        return {"job_id": job.id, "inbox_job_id": inbox_job.id}

    def activity_files(self, draft_id: int, published_id: int) -> dict[str, Any]:
        """评审政策文件 on the target's draft activity (its own pages) and on a 已发布 one (the public link)."""
        import hashlib

        from committee_helpers import PDF

        from app.models import ReviewActivity
        from services.common import file_store

        checked = file_store.StoredFile(hashlib.sha256(PDF).hexdigest(), "政策.pdf", len(PDF), "pdf")
        file_store.store(checked, PDF)
        record = {"sha256": checked.sha256, "filename": "政策.pdf", "size": len(PDF), "file_type": "pdf"}
        for activity_id in (draft_id, published_id):
            db.session.get(ReviewActivity, activity_id).policy_files = [record]
        db.session.flush()
        return {"kind": "policy", "sha256": checked.sha256, "public_activity_id": published_id}

    def application_review_records(self) -> dict[str, Any]:
        """A submitted declaration of the target's applicant that the target passed up to the committee it formed
        (committee_records' committee and activity); its material is the PDF committee_records stored."""
        import hashlib

        from committee_helpers import PDF

        from app.models import Committee, Declaration, DeclarationStep, ReviewActivity

        activity = db.session.scalar(select(ReviewActivity).where(ReviewActivity.name == "矩阵测试评审活动"))
        committee = db.session.get(Committee, activity.committee_id)
        sha256 = hashlib.sha256(PDF).hexdigest()
        path = [{"unit_id": self.target.id, "role": "申报单位", "name": self.target.name},
                {"committee_id": committee.id, "role": "评委会", "name": committee.name}]
        declaration = Declaration(
            applicant_id=self.applicant.id, activity_id=activity.id, committee_id=committee.id,
            unit_id=self.target.id, year=2026, series_code="engineering_technician", level_code="intermediate",
            method_code="intermediate_committee", status="reviewing", path=path, step=1, resume_steps=[],
            current_unit_id=self.target.id, submitted_at=datetime(2026, 3, 2), first_submitted_at=datetime(2026, 3, 2),
            materials={"1": [{"sha256": sha256, "filename": "材料.pdf", "size": len(PDF), "file_type": "pdf"}]},
            assessments=[], snapshot={})
        db.session.add(declaration)
        db.session.flush()
        db.session.add_all([
            DeclarationStep(declaration_id=declaration.id, unit_id=self.target.id, step=0, role="申报单位",
                            status="passed", decided_at=datetime(2026, 3, 5), attachments={}),
            DeclarationStep(declaration_id=declaration.id, unit_id=self.target.id, step=1, role="评委会",
                            attachments={})])
        db.session.flush()
        return {"reviewed_id": declaration.id, "reviewed_sha256": sha256}

    def applicant_declaration_records(self, committee_id: int) -> dict[str, Any]:
        """A 暂存 declaration of the applicant on an open activity of the matrix committee, with one achievement
        and one stored material, and another open activity to declare to."""
        import hashlib
        from datetime import timedelta

        from committee_helpers import PDF

        from app.models import (
            ActivityAchievement,
            ActivityLevel,
            ActivityMaterialRequirement,
            Declaration,
            DeclarationAchievement,
            ReviewActivity,
        )
        from services.common import file_store

        now = datetime.now()
        opened = []
        for name in ("矩阵测试申报活动", "矩阵测试另一申报活动"):
            activity = ReviewActivity(
                committee_id=committee_id, unit_id=self.target.id, reviewing_unit_id=self.superior.id, name=name,
                scope="专业技术人员", year=now.year, category="annual", review_method="expert_review",
                written_exam="none", interview="none", apply_start=now - timedelta(days=1),
                first_submit_deadline=now + timedelta(days=10), revise_submit_deadline=now + timedelta(days=20),
                committee_receive_deadline=now + timedelta(days=30), status="published")
            activity.levels = [ActivityLevel(level_code="intermediate")]
            activity.achievements = [ActivityAchievement(position=1, title="论文论著", templates=["paper"])]
            activity.material_requirements = [ActivityMaterialRequirement(position=1, name="身份证明", max_files=2,
                                                                          max_size_mb=5, file_types=["pdf"])]
            opened.append(activity)
        db.session.add_all(opened)
        db.session.flush()
        activity = opened[0]
        checked = file_store.StoredFile(hashlib.sha256(PDF).hexdigest(), "身份证.pdf", len(PDF), "pdf")
        file_store.store(checked, PDF)
        record = {"sha256": checked.sha256, "filename": checked.filename, "size": checked.size, "file_type": "pdf"}
        requirement = activity.material_requirements[0]
        declaration = Declaration(
            applicant_id=self.applicant.id, activity_id=activity.id, committee_id=committee_id,
            unit_id=self.target.id, year=now.year, series_code="engineering_technician", level_code="intermediate",
            method_code="intermediate_committee", materials={str(requirement.id): [record]}, assessments=[],
            snapshot={}, path=[], resume_steps=[])
        declaration.achievements = [DeclarationAchievement(item_id=activity.achievements[0].id, template_code="paper",
                                                           fields={"paper_name": "矩阵测试论文"}, attachments=[record])]
        db.session.add(declaration)
        db.session.flush()
        return {"own_declaration_id": declaration.id, "open_activity_id": opened[1].id,
                "item_id": activity.achievements[0].id, "achievement_id": declaration.achievements[0].id,
                "requirement_id": requirement.id, "file_sha256": checked.sha256}

    def quota_records(self) -> dict[str, int]:
        """A 职数申报 draft of the target (未提交)."""
        from app.models import QuotaDeclaration, QuotaItem

        declaration = QuotaDeclaration(unit_id=self.target.id, year=date.today().year, contact_name="联系人",
                                       contact_phone="0833-2123456", status="draft")
        declaration.items = [QuotaItem(position=1, series_code="health_technician", level_code="intermediate",
                                       post_total=10, current_count=5, requested_count=2)]
        db.session.add(declaration)
        db.session.flush()
        return {"declaration_id": declaration.id}

    def review_path_records(self, committee_id: int) -> dict[str, int]:
        """A 主管部门配置 and an 审核路径 row the superior 人社局 configured for the target."""
        from app.models import CompetentAssignment, ReviewPathLink

        assignment = CompetentAssignment(region_id=self.target.region_id, committee_id=committee_id,
                                         competent_unit_id=self.target.id, owner_unit_id=self.superior.id)
        link = ReviewPathLink(method_code="intermediate_committee", level_code="intermediate",
                              subordinate_unit_id=self.target.id, superior_unit_id=self.superior.id,
                              owner_unit_id=self.superior.id)
        db.session.add_all([assignment, link])
        db.session.flush()
        return {"assignment_id": assignment.id, "link_id": link.id}

    def committee_records(self) -> dict[str, Any]:
        """A committee formed by the target (authorized and filed by its superior), one draft expert, one filing
        with its stored 核准备案请示, and an import waiting for confirmation."""
        from committee_helpers import PDF, expert_form

        from app.models import (
            Committee,
            CommitteeExpert,
            CommitteeFiling,
            CommitteeLevel,
            Expert,
            ReviewActivity,
        )
        from services.common import file_store
        from services.experts import expert_import

        committee = Committee(name="矩阵测试评委会", agency="办事机构", office="办公室", forming_unit_id=self.target.id,
                              review_type="regular", authorizing_unit_id=self.superior.id,
                              filing_unit_id=self.superior.id, contact_name="联系人", contact_phone="0833-2123456",
                              address="地址", build_mode="series", series_code="engineering_technician",
                              region_id=self.target.region_id, applicant_natures=[])
        committee.levels = [CommitteeLevel(level_code="intermediate")]
        form = expert_form()
        expert = Expert(**{k: v for k, v in form.items() if k not in ("role", "title_id", "series_code", "retired")},
                        title_id=int(form["title_id"]), retired=False)
        db.session.add_all([committee, expert])
        db.session.flush()
        member = CommitteeExpert(committee_id=committee.id, expert_id=expert.id, source_unit_id=self.target.id)
        checked = file_store.StoredFile(__import__("hashlib").sha256(PDF).hexdigest(), "请示.pdf", len(PDF), "pdf")
        file_store.store(checked, PDF)
        filing = CommitteeFiling(committee_id=committee.id, request_sha256=checked.sha256, request_filename="请示.pdf",
                                 request_size=len(PDF), request_type="pdf")
        db.session.add_all([member, filing])
        db.session.flush()
        pending = expert_import.check_upload(self.admins["platform_admin"], committee, expert_import.template_xlsx())
        activity = ReviewActivity(
            committee_id=committee.id, unit_id=self.target.id, reviewing_unit_id=self.superior.id, name="矩阵测试评审活动",
            scope="专业技术人员", year=2026, category="annual", review_method="expert_review", written_exam="none",
            interview="none", apply_start=datetime(2026, 3, 1), first_submit_deadline=datetime(2026, 4, 1),
            revise_submit_deadline=datetime(2026, 4, 10), committee_receive_deadline=datetime(2026, 4, 20))
        db.session.add(activity)
        db.session.flush()
        return {"committee_id": committee.id, "membership_id": member.id, "filing_id": filing.id,
                "import_token": pending.token, "activity_id": activity.id}

    def inbox_records(self) -> dict[str, int]:
        """A 变更上级单位 request of the target under review by its superior (superior_admin is the candidate)
        and a 常用意见 of superior_admin: the records the /inbox/ routes are called with."""
        reviewer = self.admins["superior_admin"]
        change = SuperiorChangeRequest(unit_id=self.target.id, old_parent_id=self.superior.id,
                                       new_parent_id=self.superior.id, reason="矩阵测试", status="pending")
        db.session.add(change)
        db.session.flush()
        instance = instances.start_process(
            "unit_superior_change", "unit_superior_change", change.id, f"变更上级单位：{self.target.name}",
            self.target.id, {"change_request_id": change.id, "reviewing_unit_id": self.superior.id, "levels": [1]},
            None)
        task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
        opinion = CommonOpinion(user_id=reviewer.id, text="同意", sort_order=1)
        db.session.add(opinion)
        db.session.flush()
        return {"task_id": task.id, "instance_id": instance.id, "opinion_id": opinion.id}


@pytest.fixture
def world(make_unit, make_user, make_applicant) -> World:
    province = make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")
    superior = make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    target = make_unit(parent=superior, region="511102", name="乐山市市中区人民医院")
    child = make_unit(parent=target, region="511102", name="嘉州骨科医院")
    sibling = make_unit(parent=superior, region="511102", name="乐山市第一中学")
    unrelated = make_unit(parent=province, unit_type="hr", region="510100B", name="成都市人力资源和社会保障局")
    unrelated_child = make_unit(parent=unrelated, region="510104", name="成都市第一人民医院")
    role = Role(unit_id=target.id, name="目标单位角色")
    role.permissions = [RolePermission(permission_code="home.view")]
    db.session.add(role)
    admins = {
        "superior_admin": make_user(superior, admin=True, name="乐山管理员"),
        "unrelated_admin": make_user(unrelated, admin=True, name="成都管理员"),
        "platform_admin": make_user(province, platform=True, name="平台管理员"),
    }
    world = World(province, superior, target, child, sibling, unrelated, unrelated_child,
                  make_user(target, name="目标员工"), role, admins)
    world.applicant = make_applicant(target, name="目标申报人")
    world.applicant.educations.append(ApplicantEducation(education="大学本科", degree="学士", school="川北医学院",
                                                         major="临床医学", start_date=date(2000, 9, 1)))
    world.applicant.work_history.append(ApplicantWork(start_date=date(2005, 7, 1), unit_name="乐山市市中区人民医院",
                                                      position="医师"))
    # Added by the superior 人社局: the target's own staff cannot hold blacklist.manage (a 申报单位).
    world.blacklist_entry = BlacklistEntry(id_number="11010519491231002X", name="黑名单人员", reason="伪造材料",
                                           start_date=date(2026, 1, 1), end_date=date(2099, 1, 1),
                                           unit_id=superior.id, created_by_id=admins["superior_admin"].id)
    db.session.add(world.blacklist_entry)
    # 用户权限申请 of a new 申报单位 choosing the target as its superior.
    world.registration = submit_registration(Application(
        target.id, {"name": "矩阵测试诊所", "credit_code": valid_credit_code("12", "511100"), "unit_type_code": "declaring",
                    "nature_code": "institution", "region_code": "511102", "phone": "0833-2123456"},
        {"legal_person_name": "李法人", "legal_person_id_number": valid_id_number(region="511102"),
         "legal_person_phone": "13912345678"},
        {"name": "王经办", "id_number": valid_id_number(region="511102"), "phone": "13812345678",
         "username": "matrix_registration"}), Upload("执照.pdf", b"%PDF-1.4\n%%EOF\n"))
    db.session.flush()
    return world


def url_for_rule(rule: str, arguments: dict[str, Any], query: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in arguments, f"no test value for <{name}>: add one to World.arguments()"
        return str(arguments[name])

    path = re.sub(r"<(?:[^<>]*:)?(\w+)>", value, rule)
    return f"{path}?{query.format(**arguments)}" if query else path


def observed(response: Any, method: str) -> str:
    location = response.headers.get("Location", "")
    if response.status_code == 302 and urlsplit(location).path in ("/login", "/applicant/login", "/expert/login") and "next" in (
            parse_qs(urlsplit(location).query)):
        return LOGIN
    if response.status_code == 302 and urlsplit(location).path == "/applicant/":
        return AWAY
    if response.status_code in (403, 404):
        return str(response.status_code)
    # A POST made without a body may be refused as bad input: the access check has let it through.
    allowed = (200, 302) if method == "GET" else (200, 302, 400, 409)
    return OK if response.status_code in allowed else f"unexpected {response.status_code}"


def test_matrix_covers_every_route(app):
    routes = {(rule.rule, method) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}

    assert sorted(routes - set(MATRIX)) == [], "routes without a matrix entry"
    assert sorted(set(MATRIX) - routes) == [], "matrix entries for routes that no longer exist"


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(("rule", "method"), MATRIX, ids=[f"{m} {r}" for r, m in MATRIX])
def test_route_answers_each_actor_as_the_matrix_says(client, login, login_applicant, make_user, world, rule, method,
                                                     actor):
    entry = ROUTES[rule][method]
    arguments = world.arguments()
    if actor == "member_with":
        login(make_user(world.target, permissions=[entry.code], name="有权员工"))
    elif actor == "member_without":
        # Every other permission a unit may grant: no neighbouring code stands in for the one required.
        others = [p.code for p in access.registry().values() if p.scope != "platform" and p.code != entry.code]
        login(make_user(world.target, permissions=others, name="无权员工"))
    elif actor == "applicant":
        login_applicant(world.applicant)
    elif actor != "signed_out":
        login(world.admins[actor])

    response = client.open(url_for_rule(rule, arguments, entry.query), method=method)

    expected = entry.outcomes[actor]
    if expected == STAFF_ONLY:
        expected = AWAY if method == "GET" else FORBIDDEN
    assert observed(response, method) == expected


# ---------------------------------------------------------------- 逐级管理: no view upwards or sideways


@pytest.mark.parametrize("other", ["superior", "sibling", "province", "unrelated", "unrelated_child"])
@pytest.mark.parametrize("path", ["/units/subordinates/{id}", "/units/subordinates/{id}/edit",
                                  "/units/subordinates/new?parent_id={id}"])
def test_a_subordinate_cannot_open_its_superior_or_siblings(client, login, make_user, world, other, path):
    login(make_user(world.target, admin=True))
    unit = getattr(world, other)

    response = client.get(path.format(id=unit.id))

    assert response.status_code == 404
    assert unit.name not in response.get_data(as_text=True)


def seed_markers(world: World, make_user) -> dict[int, list[str]]:
    """A staff member, a role and an audit entry in every unit, each named after the unit's marker."""
    markers: dict[int, list[str]] = {}
    for letter, unit in zip("甲乙丙丁戊己庚", (world.province, world.superior, world.target, world.child, world.sibling,
                                          world.unrelated, world.unrelated_child), strict=True):
        staff = make_user(unit, name=f"员工{letter}号")
        db.session.add(Role(unit_id=unit.id, name=f"角色{letter}号"))
        audit_log.record(staff, "test.marker", f"日志{letter}号")
        markers[unit.id] = [unit.name, f"员工{letter}号", f"角色{letter}号", f"日志{letter}号"]
    db.session.flush()
    return markers


LIST_PAGES = {
    "/units/subordinates": lambda m: m[0],
    "/staff/": lambda m: m[1],
    "/roles/": lambda m: m[2],
    "/audit-log/": lambda m: m[3],
}


@pytest.mark.parametrize("viewer", ["superior", "target"])
@pytest.mark.parametrize("page", list(LIST_PAGES))
def test_list_pages_never_show_another_trees_names(client, login, make_user, world, viewer, page):
    markers = seed_markers(world, make_user)
    unit = getattr(world, viewer)
    login(make_user(unit, admin=True, name="查看人"))
    own_tree = {u.id for u in db.session.scalars(select(Unit).where(Unit.path.startswith(unit.path)))}

    html = client.get(page).get_data(as_text=True)

    shown = LIST_PAGES[page]
    for unit_id, unit_markers in markers.items():
        if unit_id not in own_tree:
            assert shown(unit_markers) not in html, f"{page} of {unit.name} shows {shown(unit_markers)}"
            assert all(marker not in html for marker in unit_markers)
    # Not vacuous: the page does list the viewer's own records.
    expected_here = unit.id if page in ("/staff/", "/roles/") else world.child.id
    assert shown(markers[expected_here]) in html


def test_home_page_shows_nothing_of_siblings_or_other_trees(client, login, make_user, world):
    login(make_user(world.target, admin=True))

    html = client.get("/").get_data(as_text=True)

    assert world.superior.name in html, "a unit knows its own superior"
    for unit in (world.sibling, world.province, world.unrelated, world.unrelated_child):
        assert unit.name not in html
