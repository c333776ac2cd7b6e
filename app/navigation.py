"""The left menu, built from the permissions the signed-in user holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for

from services import access


@dataclass(frozen=True)
class MenuItem:
    label: str
    endpoint: str
    permission: str
    icon: str = "circle"


MENU: list[tuple[str, list[MenuItem]]] = [
    ("首页", [MenuItem("首页", "home.index", "home.view", "house")]),
    (
        "单位管理",
        [
            MenuItem("本级单位管理", "units.own", "unit.self.edit", "building"),
            MenuItem("下级单位信息管理", "units.subordinates", "unit.sub.view", "diagram-3"),
            MenuItem("工作人员管理", "staff.index", "staff.manage", "people"),
            MenuItem("角色管理", "roles.index", "role.manage", "person-badge"),
            MenuItem("操作日志", "audit.index", "audit_log.view", "journal-text"),
        ],
    ),
    (
        "系统管理",
        [
            MenuItem("职称树管理", "dictionary.series_list", "dict.manage", "diagram-2"),
            MenuItem("职称专业管理", "dictionary.specialties", "dict.manage", "list-nested"),
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
