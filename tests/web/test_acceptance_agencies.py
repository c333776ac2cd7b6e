"""职称初定/认定受理机构管理 (H 1.3, N3): add with the certificate name, edit, 注销 with a reason, batch import all
or nothing with row numbers, platform administrators only."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AcceptanceAgency
from services.common.excel.export import write_table
from services.reference.acceptance_agencies import TEMPLATE_HEADERS


@pytest.fixture
def platform_admin(make_unit, make_user):
    return make_user(make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅"), platform=True)


def upload(client, rows):
    content = write_table("受理机构", TEMPLATE_HEADERS, rows)
    return client.post("/acceptance-agencies/import", data={"file": (io.BytesIO(content), "机构.xlsx")},
                       content_type="multipart/form-data")


def test_add_edit_and_deregister(client, login, make_unit, platform_admin):
    city = make_unit(unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    login(platform_admin)
    missing = client.post("/acceptance-agencies/new", data={"node_type": "recognition", "grade": "中级",
                                                            "unit_id": str(city.id), "certificate_name": ""})
    assert missing.status_code == 400 and "证书机构名称：必填" in missing.get_data(as_text=True)
    assert client.post("/acceptance-agencies/new", data={
        "node_type": "recognition", "grade": "中级", "unit_id": str(city.id),
        "certificate_name": "乐山市职称改革工作领导小组办公室"}).status_code == 302
    agency = db.session.scalars(select(AcceptanceAgency)).one()
    again = client.post("/acceptance-agencies/new", data={"node_type": "recognition", "grade": "中级",
                                                          "unit_id": str(city.id), "certificate_name": "重复"})
    assert again.status_code == 400 and "已登记" in again.get_data(as_text=True)
    assert client.post(f"/acceptance-agencies/{agency.id}/edit", data={
        "node_type": "recognition", "grade": "中级", "unit_id": str(city.id),
        "certificate_name": "乐山市人力资源和社会保障局"}).status_code == 302
    assert "乐山市人力资源和社会保障局" in client.get("/acceptance-agencies/?keyword=乐山").get_data(as_text=True)
    assert client.post(f"/acceptance-agencies/{agency.id}/deregister", data={"reason": ""}).status_code == 400
    assert client.post(f"/acceptance-agencies/{agency.id}/deregister", data={"reason": "机构撤并"}).status_code == 302
    db.session.refresh(agency)
    assert (agency.status, agency.deregister_reason) == ("deregistered", "机构撤并")
    assert client.post(f"/acceptance-agencies/{agency.id}/deregister", data={"reason": "再次"}).status_code == 409


def test_import_is_all_or_nothing_with_row_numbers(client, login, make_unit, platform_admin):
    make_unit(unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    make_unit(unit_type="hr", region="510100B", name="成都市人力资源和社会保障局")
    login(platform_admin)
    assert client.get("/acceptance-agencies/template").status_code == 200

    refused = upload(client, [("职称认定", "中级", "乐山市人力资源和社会保障局", "乐山市职改办", ""),
                              ("职称初定", "特级", "成都市人力资源和社会保障局", "成都市职改办", ""),
                              ("职称初定", "初级", "不存在的单位", "某职改办", ""),
                              ("职称认定", "中级", "乐山市人力资源和社会保障局", "重复行", "")])
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "第 3 行" in html and "职称等级" in html and "第 4 行" in html and "机构名称" in html and "第 5 行" in html
    assert db.session.scalars(select(AcceptanceAgency)).all() == []

    stored = upload(client, [("职称认定", "中级", "乐山市人力资源和社会保障局", "乐山市职改办", "0833-1"),
                             ("职称初定", "初级", "成都市人力资源和社会保障局", "成都市职改办", "")])
    assert stored.status_code == 302
    assert sorted(a.certificate_name for a in db.session.scalars(select(AcceptanceAgency))) == ["乐山市职改办",
                                                                                              "成都市职改办"]


def test_only_platform_administrators_manage_agencies(client, login, make_unit, make_user):
    login(make_user(make_unit(unit_type="hr"), admin=True))
    assert client.get("/acceptance-agencies/").status_code == 403
