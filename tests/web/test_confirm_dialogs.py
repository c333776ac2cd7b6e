"""Confirm dialogs carry user-typed names: they must never break out of the JavaScript string."""

import json

from app.extensions import db
from app.models import Role


def test_role_name_cannot_inject_script_into_delete_confirmation(make_unit, make_user, login):
    unit = make_unit(unit_type="hr")
    admin = make_user(unit, admin=True)
    hostile = "x');alert(1);//"
    db.session.add(Role(unit_id=unit.id, name=hostile))
    db.session.flush()
    page = login(admin).get("/roles/").get_data(as_text=True)
    assert "confirm('确认删除角色「x&#39;);alert(1)" not in page
    handler = next(line for line in page.splitlines() if "onsubmit=" in line and "alert(1)" in line)
    argument = handler.split("return confirm(", 1)[1].rsplit(")'", 1)[0]
    # The handler's argument is one JSON string literal holding the whole message, quote included.
    assert hostile in json.loads(argument.replace("&#34;", '"').replace("&#39;", "'"))
