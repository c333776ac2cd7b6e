"""批量办理 applies exactly the single action's checks, per item (issue 13 "Rules"): the inbox's 批量通过 and its task
form complete a 申报's review through the 审核 page's operation, so a school's first level cannot pass a declaration
without its 公示 dates, 公示证明附件 and 单位综合推荐意见; a refused item reads 未处理 with the reasons and a link."""

from __future__ import annotations

import re

from declaration_helpers import (
    OPINION,
    open_task,
    pass_unit,
    publicity_input,
    submitted_declaration,
)
from sqlalchemy import select

from app.extensions import db
from app.models import Declaration, DeclarationStep, HumanTask

submitted = submitted_declaration


def outcome_row(html: str, task_id: int) -> str:
    match = re.search(rf'<tr data-task-id="{task_id}".*?</tr>', html, re.S)
    assert match, html
    return match.group(0)


def test_inbox_batch_pass_at_the_schools_first_level_applies_the_publicity_rules(client, login, world):
    declaration = submitted(world)
    task = open_task(declaration, world.school_reviewers[0])
    login(world.school_reviewers[0])

    html = client.post("/inbox/batch", data={"task_ids": [str(task.id)], "decision": "pass",
                                             "opinion": OPINION}, follow_redirects=True).get_data(as_text=True)

    row = outcome_row(html, task.id)
    assert 'data-status="refused"' in row and "未处理" in row and "拒绝" not in html
    for rule in ("公示时间", "公示证明附件：必传", "单位综合推荐意见：必传"):
        assert rule in row
    assert f'href="/inbox/tasks/{task.id}"' in row  # opened there, it leads to the 审核 page with its uploads
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == "open"
    step = db.session.scalar(select(DeclarationStep).where(DeclarationStep.declaration_id == declaration.id))
    assert step.status == "pending"


def test_inbox_batch_passes_an_item_whose_single_checks_hold(client, login, world):
    declaration = submitted(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    task = open_task(declaration, world.competent_reviewer)
    login(world.competent_reviewer)

    html = client.post("/inbox/batch", data={"task_ids": [str(task.id)], "decision": "pass",
                                             "opinion": OPINION}, follow_redirects=True).get_data(as_text=True)

    assert 'data-status="done"' in outcome_row(html, task.id)
    db.session.expire_all()
    assert db.session.get(Declaration, declaration.id).current_unit_id == world.chain.city.id


def test_the_inbox_task_form_cannot_pass_around_the_review_page(client, login, world):
    declaration = submitted(world)
    task = open_task(declaration, world.school_reviewers[0])
    login(world.school_reviewers[0])

    response = client.post(f"/inbox/tasks/{task.id}", data={"decision": "pass", "opinion": OPINION})

    assert response.status_code == 400 and "公示时间" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == "open"


def test_inbox_batch_return_checks_the_return_target_as_the_page_does(client, login, world):
    declaration = submitted(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    task = open_task(declaration, world.competent_reviewer)
    login(world.competent_reviewer)

    html = client.post("/inbox/batch", data={"task_ids": [str(task.id)], "decision": "return",
                                             "opinion": "请补充材料"}, follow_redirects=True).get_data(as_text=True)

    assert 'data-status="done"' in outcome_row(html, task.id)
    db.session.expire_all()
    assert db.session.get(Declaration, declaration.id).status == "returned"


def test_application_batch_reports_every_problem_as_not_processed_with_a_link(client, login, world):
    declaration = submitted(world)
    login(world.school_reviewers[0])

    html = client.post("/application-review/batch", data={
        "application_ids": [str(declaration.id)], "decision": "pass", "opinion": OPINION, "scope": "own"}
    ).get_data(as_text=True)

    assert "未处理" in html and "未完成" not in html
    for rule in ("公示时间", "公示证明附件：必传", "单位综合推荐意见：必传"):
        assert rule in html
    assert f'href="/application-review/applications/{declaration.id}"' in html
