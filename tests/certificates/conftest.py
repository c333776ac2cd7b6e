"""Fixtures for the certificate tests: an issuing unit (人社部门 in 乐山), its 证书发放 staff member, people to certify."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from helpers import valid_id_number

from app.models import Unit, User

ISSUER_PERMISSIONS = ["home.view", "inbox.view", "certificate.issue", "certificate.query"]


@pytest.fixture
def issuing_unit(make_unit: Callable[..., Unit]) -> Unit:
    return make_unit(unit_type="hr", region="511100", name="乐山市人力资源和社会保障局")


@pytest.fixture
def issuer(make_user: Callable[..., User], issuing_unit: Unit) -> User:
    return make_user(issuing_unit, permissions=ISSUER_PERMISSIONS, name="发证员")


def person_item(n: int, **overrides: Any) -> dict[str, Any]:
    item = {"name": f"张{n}", "id_number": valid_id_number(birth="19850315", sequence=n % 1000),
            "work_unit": "乐山第一中学校", "series_name": "中小学教师", "specialty_name": "数学",
            "title_name": "一级教师", "level_name": "中级", "qualified_on": date(2026, 11, 30).isoformat(),
            "committee_name": "乐山市中小学教师中级职称评审委员会", "approval_no": "", "approved_on": ""}
    item.update(overrides)
    return item


@pytest.fixture
def people() -> Callable[..., list[dict[str, Any]]]:
    def make(count: int, start: int = 1, **overrides: Any) -> list[dict[str, Any]]:
        return [person_item(n, **overrides) for n in range(start, start + count)]

    return make
