"""Every `<int:…>` route answers an id no row can have with 404, never a driver overflow (500)."""

from __future__ import annotations

import pytest

from app.web import MAX_ROW_ID


def int_routes(app) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "<int:" in rule.rule and "GET" in (rule.methods or set())})


def test_there_are_int_routes_to_check(app):
    assert len(int_routes(app)) > 10


@pytest.mark.parametrize("huge", [MAX_ROW_ID + 1, 10**20])
def test_huge_ids_are_404_on_every_route(app, client, login, make_unit, make_user, huge):
    login(make_user(make_unit(), admin=True))
    for rule in int_routes(app):
        path = rule
        while "<" in path:
            start = path.index("<")
            end = path.index(">", start)
            inner = path[start + 1:end]
            value = str(huge) if inner.startswith("int:") else "x"
            path = path[:start] + value + path[end + 1:]
        response = client.get(path)
        assert response.status_code == 404, f"{rule} → {response.status_code}"
