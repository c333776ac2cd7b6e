"""证书编号 pools (H 1.9, 1.16): pattern, blocks that extend themselves, numbers never handed out twice — also by
two workers numbering the same pool at once (threads on their own connections, committing for real)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import CertificateIssuer, NumberPool, Unit
from services.certificates import numbering
from services.common.errors import InvalidInput


def test_default_issuer_code_is_the_last_four_digits_of_the_region(make_unit):
    unit = make_unit(region="511100")
    assert numbering.issuer_for(unit).code == "1100"
    assert numbering.default_code(make_unit(region="510100B")) == "0100"


def test_numbers_follow_the_pattern_and_the_pool_extends_itself(make_unit):
    issuer = numbering.issuer_for(make_unit(region="511100"))
    issuer.block_size = 5
    first = numbering.allocate(issuer, 2026, 2, 3)
    second = numbering.allocate(issuer, 2026, 2, 4)  # passes the first block of 5: extended
    assert first.numbers() == ["110020262000001", "110020262000002", "110020262000003"]
    assert second.numbers()[0] == "110020262000004" and second.numbers()[-1] == "110020262000007"
    pool = db.session.scalar(select(NumberPool).where(NumberPool.issuer_id == issuer.id))
    db.session.refresh(pool)
    assert pool.next_seq == 8 and pool.end_seq >= 7
    other_level = numbering.allocate(issuer, 2026, 3, 1)
    assert other_level.numbers() == ["110020263000001"]


@pytest.mark.parametrize("pattern, message", [
    ("{issuer}{year}{seq:06d}", "{level}"),
    ("{issuer}{year}{level}{seq:06d}{x}", "不认识"),
    ("{issuer{year}", "格式错误"),
])
def test_a_pattern_without_every_part_is_refused(pattern, message):
    with pytest.raises(InvalidInput) as refused:
        numbering.check_pattern(pattern)
    assert message in refused.value.message and refused.value.field == "pattern"


def test_two_workers_numbering_one_pool_never_collide(app: Any) -> None:
    """Each thread has its own session and connection and commits every allocation, as two job workers do."""
    with app.app_context():
        from helpers import region_id, valid_credit_code

        unit = Unit(name="发证并发测试单位", credit_code=valid_credit_code("11"), unit_type_code="hr", nature_code="organ",
                    region_id=region_id("511100"), phone="0833-2000000", path="")
        db.session.add(unit)
        db.session.flush()
        issuer = CertificateIssuer(unit_id=unit.id, code="9911", block_size=7)
        db.session.add(issuer)
        db.session.commit()
        unit_id, issuer_id = unit.id, issuer.id
        db.session.remove()
    got: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def work(slot: int) -> None:
        try:
            with app.app_context():
                for _ in range(40):
                    for attempt in range(200):
                        try:
                            issuer = db.session.get(CertificateIssuer, issuer_id)
                            numbers = numbering.allocate(issuer, 2026, 2, 3).numbers()
                            db.session.commit()
                            break
                        except OperationalError:  # SQLite: the other thread holds the write lock; try again
                            db.session.rollback()
                            time.sleep(0.002 * (attempt + 1))
                    else:
                        raise AssertionError("never got the write lock")
                    got[slot].extend(numbers)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 (reported by the main thread)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in (0, 1)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors, errors
        everything = got[0] + got[1]
        assert len(everything) == 240 and len(set(everything)) == 240
        assert set(got[0]).isdisjoint(got[1])
        sequences = sorted(int(n[-6:]) for n in everything)
        assert sequences == list(range(1, 241))  # no gap, no repeat
    finally:
        with app.app_context():
            db.session.execute(delete(NumberPool).where(NumberPool.issuer_id == issuer_id))
            db.session.execute(delete(CertificateIssuer).where(CertificateIssuer.id == issuer_id))
            db.session.execute(delete(Unit).where(Unit.id == unit_id))
            db.session.commit()
            db.session.remove()
