"""app.extensions.write_columns: one UPDATE through Core of a loaded row's changes, the pending ORM ones with them,
the object left as if loaded so (issues 17, 20). Counted with the same listener as the review chain's round trips."""

from __future__ import annotations

from datetime import datetime

from helpers import valid_credit_code
from sqlalchemy import select
from test_statement_counts import counted

from app.extensions import db, write_columns
from app.models import Unit


def _row(unit_id: int) -> dict[str, object]:
    return dict(db.session.execute(select(Unit.__table__).where(Unit.id == unit_id)).mappings().one())


def test_the_changes_and_the_pending_ones_go_in_one_update_and_leave_the_object_clean(make_unit):
    unit = make_unit(name="原名称")
    db.session.commit()
    before = _row(unit.id)["updated_at"]
    unit.address = "成都市人民南路"  # changed through the ORM, not flushed
    with counted() as statements:
        write_columns(unit, {"name": "新名称", "contact_name": "王五"})
    assert len(statements) == 1 and statements[0].startswith("UPDATE unit SET")
    for column in ("name", "address", "contact_name", "updated_at"):
        assert column in statements[0]
    assert unit not in db.session.dirty and not db.session.identity_map._modified  # noqa: SLF001
    with counted() as statements:
        db.session.flush()
    assert statements == [], "the flush finds nothing left to write"
    row = _row(unit.id)
    assert (row["name"], row["address"], row["contact_name"]) == ("新名称", "成都市人民南路", "王五")
    assert (unit.name, unit.address, unit.contact_name) == ("新名称", "成都市人民南路", "王五")
    # updated_at is the database's (onupdate now()): expired on the object and read again, as after a flush.
    assert unit.updated_at == row["updated_at"]
    assert isinstance(before, datetime) and row["updated_at"] >= before
    db.session.rollback()
    assert db.session.get(Unit, unit.id).name == "原名称", "written in the caller's transaction, undone with it"


def test_an_object_the_orm_must_write_takes_the_changes_for_its_flush(make_unit):
    parent, other = make_unit(), make_unit()
    child = make_unit(parent=parent)
    unseen = Unit(name="未写入", credit_code=valid_credit_code("12"), unit_type_code=child.unit_type_code,
                  nature_code=child.nature_code, region_id=child.region_id, phone=child.phone, depth=1, path="/")
    db.session.add(unseen)
    child.parent = other  # a relationship changed: the ORM's flush must sort it out
    with counted() as statements:
        write_columns(unseen, {"name": "待写入"})
        write_columns(child, {"contact_name": "赵六"})
    assert statements == [], "nothing goes through Core"
    assert unseen.name == "待写入" and unseen in db.session.new
    assert child.contact_name == "赵六" and child in db.session.dirty
    db.session.flush()
    assert _row(child.id)["contact_name"] == "赵六" and _row(child.id)["parent_id"] == other.id
    assert _row(unseen.id)["name"] == "待写入"
    db.session.rollback()


def test_nothing_to_write_sends_nothing(make_unit):
    unit = make_unit()
    db.session.flush()
    with counted() as statements:
        write_columns(unit, {})
    assert statements == []
