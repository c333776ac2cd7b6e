def test_login_page_renders_in_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录入口" in response.get_data(as_text=True)


def test_signed_out_home_is_the_public_page_and_staff_pages_require_sign_in(client):
    home = client.get("/")
    assert home.status_code == 200 and "单位登录" in home.get_data(as_text=True)
    response = client.get("/jobs/")
    assert response.status_code == 302
    assert "/login" in response.location


def test_home_shows_own_unit(make_unit, make_user, login):
    unit = make_unit(unit_type="hr", name="乐山市人力资源和社会保障局")
    user = make_user(unit, admin=True)
    page = login(user).get("/").get_data(as_text=True)
    assert "乐山市人力资源和社会保障局" in page
    assert "单位信息" in page
