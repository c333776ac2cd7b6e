"""The left menu, built from the permissions the signed-in user holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for

from services.authz import access


@dataclass(frozen=True)
class MenuItem:
    label: str
    endpoint: str
    permission: str
    icon: str = "circle"


MENU: list[tuple[str, list[MenuItem]]] = [
    ("首页", [MenuItem("首页", "home.index", "home.view", "house")]),
    ("待办事项", [MenuItem("待办事项", "inbox.index", "inbox.view", "inbox"),
              MenuItem("常用意见设置", "inbox.opinions", "inbox.view", "chat-left-text"),
              MenuItem("我的任务", "jobs.index", "home.view", "hourglass-split"),
              MenuItem("通知提醒", "notifications.index", "home.view", "bell")]),
    (
        "单位管理",
        [
            MenuItem("本级单位管理", "units.own", "unit.self.edit", "building"),
            MenuItem("下级单位信息管理", "units.subordinates", "unit.sub.view", "diagram-3"),
            MenuItem("工作人员管理", "staff.index", "staff.manage", "people"),
            MenuItem("角色管理", "roles.index", "role.manage", "person-badge"),
            MenuItem("多岗审核配置", "audit_config.index", "audit.config", "list-ol"),
            MenuItem("操作日志", "audit.index", "audit_log.view", "journal-text"),
        ],
    ),
    ("评委会管理", [MenuItem("评委会备案申报", "committees.index", "committee.filing", "people-fill"),
               MenuItem("评委会备案审核", "committees.reviews", "committee_filing.review", "clipboard-check"),
               MenuItem("专家库管理", "experts.index", "expert.manage", "person-vcard"),
               MenuItem("专家库审核", "experts.reviews", "expert.review", "person-check"),
               MenuItem("评委会查询", "committee_admin.query", "committee.query", "search"),
               MenuItem("评委会管理", "committee_admin.index", "committee.manage", "gear")]),
    ("评审活动", [MenuItem("评审活动发布", "activities.index", "activity.publish", "calendar-event"),
              MenuItem("评审活动发布审核", "activities.reviews", "activity_publication.review", "calendar-check"),
              MenuItem("评审方案呈报", "review_plans.index", "plan.submit", "file-earmark-text"),
              MenuItem("呈报方案审核", "review_plans.reviews", "plan.review", "file-earmark-check"),
              MenuItem("呈报方案审核（特殊情况）", "review_plans.special_reviews", "plan.review_special",
                       "file-earmark-medical"),
              MenuItem("呈报方案查询", "review_plans.query", "plan.query", "search")]),
    ("申报管理", [MenuItem("黑名单管理", "blacklist.index", "blacklist.manage", "person-x"),
              MenuItem("主管部门配置", "review_paths.assignments", "path.config", "signpost-split"),
              MenuItem("审核路径配置", "review_paths.links", "path.config", "signpost-2"),
              MenuItem("审核路径配置查询", "review_paths.simulate", "path.query", "search"),
              MenuItem("职称申报转换评委会", "application_review.transfer", "application.transfer", "arrow-left-right")]),
    ("申报审核", [MenuItem("本单位人员审核", "application_review.own", "application.review", "person-check"),
              MenuItem("下级单位人员审核", "application_review.subordinates", "application.review", "people"),
              MenuItem("参评资格审核", "application_review.qualification", "application.qualify", "patch-check"),
              MenuItem("申报材料综合查询", "application_review.stats", "application.stats", "bar-chart"),
              MenuItem("评审人员统计", "application_review.personnel", "application.stats", "person-lines-fill"),
              MenuItem("申报人员信息查询", "application_review.query", "application.query", "search")]),
    ("评审会议", [MenuItem("评审会议管理", "meetings.index", "meeting.manage", "people")]),
    ("职数申报", [MenuItem("职数申报", "quotas.index", "quota.declare", "clipboard-data"),
              MenuItem("职数审核", "quotas.reviews", "quota.review", "clipboard2-check"),
              MenuItem("职数申报查询", "quotas.query", "quota.query", "search")]),
    ("评审结果", [MenuItem("评审结果公示", "results.index", "result.publicize", "megaphone"),
              MenuItem("结果报送", "results.committee", "result.publicize", "send-check"),
              MenuItem("职称评审结果备案", "results.filings", "result.publicize", "archive"),
              MenuItem("评审结果备案审核", "results.filing_reviews", "result.file_review", "clipboard-check"),
              MenuItem("评审结果确认", "results.confirm_list", "result.confirm", "check2-square")]),
    ("历史职称数据管理", [MenuItem("数据上传", "history.index", "history.collect", "cloud-upload"),
                  MenuItem("数据审核", "history.review_list", "history.review", "clipboard-check"),
                  MenuItem("历史证书生成", "history.issue_list", "certificate.issue", "award"),
                  MenuItem("历史评审机构管理", "history.body_list", "history.bodies", "bank")]),
    ("专技人才", [MenuItem("专技人才审核", "talent.reviews", "talent.review", "person-badge"),
              MenuItem("专技人才统计", "talent.stats", "talent.stats", "table"),
              MenuItem("职称确认审核", "talent.confirmation_reviews", "title_confirmation.review", "patch-check")]),
    ("消息管理", [MenuItem("消息推送", "messages.compose", "message.send", "send"),
              MenuItem("已发送消息", "messages.sent", "message.send", "envelope-check"),
              MenuItem("已接收消息", "messages.received", "message.receive", "envelope")]),
    ("电子证书管理", [MenuItem("证书发放", "certificates.queue", "certificate.issue", "award"),
                MenuItem("证书查询", "certificates.query", "certificate.query", "search")]),
    (
        "系统管理",
        [
            MenuItem("通知公告管理", "notices.index", "notice.manage", "megaphone"),
            MenuItem("职称树管理", "dictionary.series_list", "dict.manage", "diagram-2"),
            MenuItem("职称专业管理", "dictionary.specialties", "dict.manage", "list-nested"),
            MenuItem("受理机构管理", "acceptance_agencies.index", "acceptance.manage", "bank"),
            MenuItem("流程定义", "process_admin.index", "process.admin", "bezier2"),
            MenuItem("流程实例", "process_admin.instance_list", "process.admin", "activity"),
        ],
    ),
]


def build_menu(user: Any) -> list[dict[str, Any]]:
    codes = access.effective_codes(user)
    groups = []
    for group, items in MENU:
        visible = [
            {"label": i.label, "url": url_for(i.endpoint), "icon": i.icon,
             "active": request.endpoint is not None and request.endpoint.split(".")[0] == i.endpoint.split(".")[0]
             and request.endpoint == i.endpoint}
            for i in items
            if i.permission in codes
        ]
        if visible:
            groups.append({"label": group, "items": visible})
    return groups
