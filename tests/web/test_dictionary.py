"""职称树管理 and 职称专业管理 (H 1.1, 1.2; FEATURES N1, N2) through the pages of the dictionary blueprint."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, Specialty, Title, TitleSeries


@pytest.fixture
def admin(make_unit, make_user, login):
    """A signed-in platform administrator's client."""
    unit = make_unit(unit_type="hr", name="省人力资源和社会保障厅")
    return login(make_user(unit, platform=True))


@pytest.fixture
def series(admin) -> TitleSeries:
    response = admin.post("/dictionary/series/new", data={"code": "test_series", "name": "测试专业人员",
                                                          "category": "工程技术人员"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.get(TitleSeries, "test_series")


def add_title(client, code: str, **data: Any) -> Title:
    form = {"name": "", "level_code": "", "line": "", "valid_from": "", "valid_to": "", "current_id": ""}
    form.update({k: "" if v is None else str(v) for k, v in data.items()})
    response = client.post(f"/dictionary/series/{code}/titles/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(sa.select(Title).where(Title.series_code == code, Title.name == form["name"]))


def add_specialty(client, series_code: str, code: str, name: str, parent: Specialty | None = None) -> Specialty:
    query = f"?series={series_code}" + (f"&parent_id={parent.id}" if parent else "")
    response = client.post(f"/dictionary/specialties/new{query}", data={"code": code, "name": name})
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(sa.select(Specialty).where(Specialty.code == code))


def audit_actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditLog.action).where(AuditLog.action.like("dict.%"))))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ---------------------------------------------------------------- 职称树管理


def test_admin_builds_a_series_with_titles_and_a_historical_name(admin, series):
    full = add_title(admin, series.code, name="正高级测试师", level_code="senior_full")
    deputy = add_title(admin, series.code, name="高级测试师", level_code="senior_deputy", line="软件")
    old = add_title(admin, series.code, name="教授级测试师", level_code="senior_full", valid_to="2019-12-31",
                    current_id=full.id)

    assert old.current_id == full.id and old.is_historical
    assert deputy.line == "软件" and not deputy.is_historical
    page = text_of(admin.get(f"/dictionary/series/{series.code}").get_data(as_text=True))
    assert "正高级测试师" in page and "高级测试师" in page
    assert re.search(r"教授级测试师 历史名称 .*2019-12-31 正高级测试师", page)
    assert page.index("正高级") < page.index("副高级") < page.index("中级") < page.index("员级")
    assert audit_actions().count("dict.title.create") == 3


def test_admin_edits_a_series_and_a_title(admin, series):
    title = add_title(admin, series.code, name="测试工程师", level_code="intermediate")
    response = admin.post(f"/dictionary/series/{series.code}/edit", data={"name": "测试技术人员", "category": "其他"})
    assert response.status_code == 302
    response = admin.post(f"/dictionary/series/{series.code}/titles/{title.id}/edit",
                          data={"name": "测试师", "level_code": "intermediate", "valid_from": "2020-01-01"})
    assert response.status_code == 302
    assert (series.name, series.category) == ("测试技术人员", "其他")
    assert (title.name, title.valid_from.isoformat()) == ("测试师", "2020-01-01")
    assert {"dict.series.update", "dict.title.update"} <= set(audit_actions())


def test_series_list_shows_counts_and_filters_by_keyword(admin, series):
    add_title(admin, series.code, name="测试员", level_code="junior")
    page = text_of(admin.get("/dictionary/series?keyword=测试专业").get_data(as_text=True))
    assert "测试专业人员 test_series 工程技术人员 启用 1" in page
    assert "高等学校教师" not in page
    assert "高等学校教师" in admin.get("/dictionary/series").get_data(as_text=True)


def test_series_disable_and_enable(admin, series):
    assert admin.post(f"/dictionary/series/{series.code}/disable").status_code == 302
    assert series.enabled is False
    assert "停用" in text_of(admin.get("/dictionary/series?keyword=test_series").get_data(as_text=True))
    assert admin.post(f"/dictionary/series/{series.code}/enable", data={"back": "detail"}).status_code == 302
    assert series.enabled is True
    assert audit_actions()[-2:] == ["dict.series.disable", "dict.series.enable"]


# ---------------------------------------------------------------- 职称专业管理


def test_specialty_tree_two_deep_and_disabling_a_parent_disables_its_children(admin, series):
    parent = add_specialty(admin, series.code, "TST-01", "软件测试")
    child = add_specialty(admin, series.code, "TST-01-01", "性能测试", parent)
    sibling = add_specialty(admin, series.code, "TST-02", "硬件测试")

    page = admin.get(f"/dictionary/specialties?series={series.code}").get_data(as_text=True)
    assert page.index("软件测试") < page.index("性能测试") < page.index("硬件测试")
    assert "padding-left: 1.8em" in page  # the child is indented one step

    assert admin.post(f"/dictionary/specialties/{parent.id}/disable").status_code == 302
    assert (parent.enabled, child.enabled, sibling.enabled) == (False, False, True)

    # A child cannot come back under a disabled parent; the parent comes back alone.
    assert admin.post(f"/dictionary/specialties/{child.id}/enable").status_code == 400
    assert admin.post(f"/dictionary/specialties/{parent.id}/enable").status_code == 302
    assert (parent.enabled, child.enabled) == (True, False)


def test_specialty_rename(admin, series):
    node = add_specialty(admin, series.code, "TST-03", "自动化测试")
    response = admin.post(f"/dictionary/specialties/{node.id}/edit", data={"name": "测试自动化"})
    assert response.status_code == 302
    assert (node.code, node.name) == ("TST-03", "测试自动化")


def test_specialty_export_is_an_audited_xlsx(admin, series):
    parent = add_specialty(admin, series.code, "TST-01", "软件测试")
    add_specialty(admin, series.code, "TST-01-01", "性能测试", parent)
    response = admin.get(f"/dictionary/specialties/export?series={series.code}")
    assert response.status_code == 200
    assert response.data[:2] == b"PK"
    assert "spreadsheetml" in response.mimetype
    assert audit_actions()[-1] == "dict.specialty.export"


def test_specialty_export_survives_characters_excel_refuses_in_sheet_names(admin, series):
    admin.post(f"/dictionary/series/{series.code}/edit", data={"name": "测试/专业[人员]", "category": "其他"})
    assert series.name == "测试/专业[人员]"
    response = admin.get(f"/dictionary/specialties/export?series={series.code}")
    assert (response.status_code, response.data[:2]) == (200, b"PK")


def test_specialties_page_defaults_to_the_first_series(admin):
    response = admin.get("/dictionary/specialties")
    assert response.status_code == 200
    assert 'data-testid="specialty-tree"' in response.get_data(as_text=True)


# ---------------------------------------------------------------- refused input writes nothing


def snapshot() -> tuple[Any, ...]:
    def rows(model: Any, *columns: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in db.session.execute(sa.select(*columns).order_by(*columns))]

    return (
        rows(TitleSeries, TitleSeries.code, TitleSeries.name, TitleSeries.category, TitleSeries.enabled),
        rows(Title, Title.id, Title.name, Title.level_code, Title.current_id, Title.valid_from, Title.valid_to),
        rows(Specialty, Specialty.id, Specialty.code, Specialty.name, Specialty.enabled),
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)),
    )


@pytest.fixture
def populated(admin, series) -> dict[str, Any]:
    full = add_title(admin, series.code, name="正高级测试师", level_code="senior_full")
    deputy = add_title(admin, series.code, name="高级测试师", level_code="senior_deputy")
    expert = add_title(admin, series.code, name="正高级测试专家", level_code="senior_full")
    old = add_title(admin, series.code, name="教授级测试师", level_code="senior_full", current_id=full.id)
    root = add_specialty(admin, series.code, "TST-01", "软件测试")
    add_specialty(admin, series.code, "TST-01-01", "性能测试", root)
    add_specialty(admin, series.code, "TST-02", "硬件测试")
    return {"series": series, "full": full, "deputy": deputy, "expert": expert, "old": old, "root": root}


def _title_form(**data: Any) -> dict[str, str]:
    form = {"name": "新职称", "level_code": "senior_full", "line": "", "valid_from": "", "valid_to": "", "current_id": ""}
    form.update({k: str(v) for k, v in data.items()})
    return form


BAD_INPUTS = [
    # (case, url, form, status, field, message)
    ("duplicate series code", "/dictionary/series/new",
     lambda p: {"code": "test_series", "name": "另一个系列", "category": "其他"}, 409, "code", "系列编码：test_series 已被使用"),
    ("duplicate series name", "/dictionary/series/new",
     lambda p: {"code": "other_series", "name": "高等学校教师", "category": "其他"}, 409, "name", "系列名称：「高等学校教师」已存在"),
    ("series name too long", "/dictionary/series/new",
     lambda p: {"code": "long_series", "name": "测" * 31, "category": "其他"}, 400, "name", "系列名称：不能超过 30 个字"),
    ("series code not snake case", "/dictionary/series/new",
     lambda p: {"code": "Bad-Code", "name": "某系列", "category": "其他"}, 400, "code", "系列编码：只能使用小写英文字母"),
    ("unknown category", "/dictionary/series/new",
     lambda p: {"code": "some_series", "name": "某系列", "category": "管理人员"}, 400, "category", "统计类别：请选择有效的选项"),
    ("rename series onto another", "/dictionary/series/test_series/edit",
     lambda p: {"name": "高等学校教师", "category": "其他"}, 409, "name", "系列名称：「高等学校教师」已存在"),
    ("duplicate title name", "/dictionary/series/test_series/titles/new",
     lambda p: _title_form(name="高级测试师", level_code="senior_deputy"), 409, "name", "职称名称：本系列已有「高级测试师」"),
    ("title name too long", "/dictionary/series/test_series/titles/new",
     lambda p: _title_form(name="测" * 31), 400, "name", "职称名称：不能超过 30 个字"),
    ("map to a title of another level", "/dictionary/series/test_series/titles/new",
     lambda p: _title_form(name="旧名称", level_code="senior_full", current_id=p["deputy"].id), 400, "current_id",
     "对应现职称：「高级测试师」为副高级，须与本职称级别（正高级）相同"),
    ("map to a historical title", "/dictionary/series/test_series/titles/new",
     lambda p: _title_form(name="旧名称", current_id=p["old"].id), 400, "current_id", "本身是历史名称"),
    ("map to a title of another series", "/dictionary/series/test_series/titles/new",
     lambda p: _title_form(name="旧名称", current_id=db.session.scalar(sa.select(Title.id).where(
         Title.series_code == "higher_education_teacher", Title.level_code == "senior_full"))),
     400, "current_id", "对应现职称：须为本系列的职称"),
    ("map a title to itself", "/dictionary/series/test_series/titles/{full}/edit",
     lambda p: _title_form(name="正高级测试师", current_id=p["full"].id), 400, "current_id", "对应现职称：不能对应自身"),
    ("make a mapped-to title historical", "/dictionary/series/test_series/titles/{full}/edit",
     lambda p: _title_form(name="正高级测试师", current_id=p["expert"].id), 400, "current_id",
     "历史名称「教授级测试师」对应本职称，本职称不能再设为历史名称"),
    ("change the level of a mapped-to title", "/dictionary/series/test_series/titles/{full}/edit",
     lambda p: _title_form(name="正高级测试师", level_code="senior_deputy"), 400, "level_code", "须先调整它们再改级别"),
    ("start after end", "/dictionary/series/test_series/titles/new",
     lambda p: _title_form(valid_from="2021-01-02", valid_to="2021-01-01"), 400, "valid_to", "有效期止：不能早于有效期起"),
    ("malformed date", "/dictionary/series/test_series/titles/new",
     lambda p: _title_form(valid_from="2021/01/02"), 400, "valid_from", "有效期起：日期格式不正确"),
    ("unknown level", "/dictionary/series/test_series/titles/new",
     lambda p: _title_form(level_code="senior_super"), 400, "level_code", "职称级别：请选择有效的级别"),
    ("duplicate specialty code", "/dictionary/specialties/new?series=test_series",
     lambda p: {"code": "ENG-01", "name": "新专业"}, 409, "code", "专业编码：ENG-01 已被「电子信息」使用"),
    ("duplicate sibling name", "/dictionary/specialties/new?series=test_series",
     lambda p: {"code": "TST-09", "name": "软件测试"}, 409, "name", "专业名称：同一上级下已有「软件测试」"),
    ("specialty name too long", "/dictionary/specialties/new?series=test_series",
     lambda p: {"code": "TST-09", "name": "测" * 51}, 400, "name", "专业名称：不能超过 50 个字"),
    ("rename specialty onto a sibling", "/dictionary/specialties/{root}/edit",
     lambda p: {"name": "硬件测试"}, 409, "name", "专业名称：同一上级下已有「硬件测试」"),
]


@pytest.mark.parametrize(("case", "url", "form", "status", "field", "message"),
                         BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_refused_input_writes_nothing_and_shows_the_message_beside_the_field(
    admin, populated, case, url, form, status, field, message
):
    url = url.format(full=populated["full"].id, root=populated["root"].id)
    data = form(populated)
    before = snapshot()
    response = admin.post(url, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == status, text_of(html)[-400:]
    assert re.search(rf'id="f-{field}"[^>]*>.*?<div class="invalid-feedback">[^<]*{re.escape(message)}', html, re.S), \
        text_of(html)[-600:]
    db.session.expire_all()
    assert snapshot() == before


def test_same_name_under_another_parent_is_allowed(admin, populated):
    add_specialty(admin, "test_series", "TST-03", "性能测试")
    assert db.session.scalar(sa.select(sa.func.count()).where(Specialty.name == "性能测试",
                                                              Specialty.series_code == "test_series")) == 2


# ---------------------------------------------------------------- forged ids


def test_forged_ids_answer_404(admin, populated):
    other_title = db.session.scalar(sa.select(Title.id).where(Title.series_code == "higher_education_teacher"))
    other_node = db.session.scalar(sa.select(Specialty.id).where(Specialty.series_code == "engineering_technician"))
    before = snapshot()
    for method, url in [
        ("get", "/dictionary/series/no_such_series"),
        ("post", "/dictionary/series/no_such_series/disable"),
        ("get", f"/dictionary/series/test_series/titles/{other_title}/edit"),
        ("post", f"/dictionary/series/test_series/titles/{other_title}/edit"),
        ("post", f"/dictionary/specialties/new?series=test_series&parent_id={other_node}"),
        ("post", "/dictionary/specialties/new?series=test_series&parent_id=abc"),
        ("post", "/dictionary/specialties/99999999/disable"),
        ("get", "/dictionary/specialties/99999999/edit"),
        ("get", "/dictionary/specialties?series=no_such_series"),
        ("get", "/dictionary/specialties/export?series=no_such_series"),
    ]:
        response = getattr(admin, method)(url, data={"code": "X-1", "name": "某专业"} if method == "post" else None)
        assert response.status_code == 404, (method, url, response.status_code)
    assert snapshot() == before


# ---------------------------------------------------------------- permissions


def _dictionary_urls(app, values: dict[str, Any]) -> list[tuple[str, str]]:
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("dictionary."):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:[^:<>]+:)?{name}(?:\([^)]*\))?>", str(values[name]), path)
        for method in sorted(rule.methods & {"GET", "POST"}):
            urls.append((method, path))
    return urls


def test_unit_super_administrator_is_refused_on_every_dictionary_route(app, admin, populated, make_unit,
                                                                       make_user, login):
    admin.post("/logout")
    unit = make_unit(unit_type="hr", name="某市人力资源和社会保障局")
    client = login(make_user(unit, admin=True))
    urls = _dictionary_urls(app, {"code": "test_series", "title_id": populated["full"].id,
                                  "specialty_id": populated["root"].id, "action": "disable"})
    assert len({u for _, u in urls}) >= 10
    before = snapshot()
    for method, url in urls:
        response = client.open(url, method=method, data={"name": "越权", "code": "x_y", "category": "其他"})
        assert response.status_code == 403, (method, url, response.status_code)
    assert snapshot()[:3] == before[:3]


def test_series_list_query_count_does_not_grow_with_series(admin, app):
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert admin.get("/dictionary/series").status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    series_total = db.session.scalar(sa.select(sa.func.count()).select_from(TitleSeries))
    assert series_total > 20
    assert 0 < len(statements) < 10, statements
