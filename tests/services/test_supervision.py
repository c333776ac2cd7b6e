"""评审工作监督 (S 1.2.1, M1): committee counts and each activity's progress buckets, as the home page shows them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from declaration_helpers import build_world, ready_declaration
from review_path_helpers import make_committee

from app.extensions import db
from services.applications import declarations
from services.dashboard import supervision


def test_committee_counts_by_status_and_expiry(make_unit, make_user, make_applicant):
    world = build_world(make_unit, make_user, make_applicant)
    competent, city = world.chain.competent, world.chain.city
    make_committee(competent, city, name="将到期评委会", valid_until=date.today() + timedelta(days=30))
    make_committee(competent, city, name="未备案评委会", status="unfiled")
    make_committee(competent, city, name="已注销评委会", status="deregistered")
    make_committee(world.chain.other_city, world.chain.other_city, name="别处的评委会")

    counts = supervision.committee_counts(competent.id)

    assert (counts.total, counts.filed, counts.unfiled, counts.expiring) == (3, 2, 1, 1)
    assert supervision.committee_counts(city.id).total == 3, "the 备案批复单位 supervises them too"
    assert supervision.committee_counts(world.chain.school.id).total == 0


def test_activity_progress_counts_follow_the_declarations(make_unit, make_user, make_applicant):
    world = build_world(make_unit, make_user, make_applicant)
    draft = ready_declaration(world)  # 暂存: not declared yet
    [before] = supervision.activity_progress(world.chain.competent.id)
    assert before.counts["declared"] == 0 and before.running

    declarations.submit(world.applicant, draft, datetime.now())
    db.session.flush()
    [after] = supervision.activity_progress(world.chain.competent.id)

    assert (after.counts["declared"], after.counts["at_units"], after.counts["at_committee"]) == (1, 1, 0)
    assert after.committee_name == world.chain.committee.name and after.region_name
    assert supervision.running_activity_count(world.chain.competent.id) == 1

