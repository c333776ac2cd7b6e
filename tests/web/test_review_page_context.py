"""The 申报 review page shows what higher reviewers check (issue 13 "Review pages"): every lower unit's step results
with the school's 公示 dates and files; a returned declaration is marked 复审 in the 待办 list and its 退回 reason
stands in a banner at the top of the page."""

from __future__ import annotations

import re
from datetime import datetime

from declaration_helpers import (
    decide,
    open_task,
    pass_unit,
    publicity_input,
    submitted_declaration,
)
from sqlalchemy import select

from app.extensions import db
from app.models import DeclarationStep
from services.applications import declarations
from services.applications.application_review import ReviewInput

submitted = submitted_declaration


def test_higher_reviewers_see_the_schools_publicity_files_and_opinion(client, login, world):
    declaration = submitted(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    school_step = db.session.scalars(select(DeclarationStep).where(DeclarationStep.declaration_id == declaration.id)
                                     .order_by(DeclarationStep.id)).first()
    login(world.competent_reviewer)

    html = client.get(f"/application-review/applications/{declaration.id}").get_data(as_text=True)

    assert 'data-testid="unit-steps"' in html
    assert f"{school_step.publicity_start} 至 {school_step.publicity_end}" in html
    assert 'data-kind="publicity_proof"' in html and 'data-kind="recommendation"' in html
    assert "publicity_proof.pdf" in html and "材料齐全，同意上报" in html
    sha = school_step.attachments["publicity_proof"]["sha256"]
    assert client.get(f"/application-review/applications/{declaration.id}/files/{sha}").status_code == 200


def test_a_returned_declaration_is_marked_and_its_reason_is_on_top(client, login, world):
    declaration = submitted(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    decide(declaration, world.competent_reviewer, ReviewInput("return", "请补充近三年考核材料", return_to="applicant"))
    declarations.submit(world.applicant, declaration, datetime.now(), note="已补充")
    db.session.flush()
    task = open_task(declaration, world.competent_reviewer)
    login(world.competent_reviewer)

    inbox = client.get("/inbox/").get_data(as_text=True)
    page = client.get(f"/application-review/applications/{declaration.id}").get_data(as_text=True)

    row = inbox[inbox.index(f'data-task-id="{task.id}"'):]
    assert 'data-testid="arrival-mark">复审<' in row[:row.index("</tr>")]
    banner = page[page.index('data-testid="return-banner"'):]
    assert "请补充近三年考核材料" in banner[:banner.index("</div>")] and "复审" in banner[:banner.index("</div>")]
    assert page.index('data-testid="return-banner"') < page.index('data-testid="declaration"')


def test_a_first_arrival_has_no_mark_and_no_banner(client, login, world):
    declaration = submitted(world)
    login(world.school_reviewers[0])

    assert 'data-testid="arrival-mark"' not in client.get("/inbox/").get_data(as_text=True)
    assert 'data-testid="return-banner"' not in client.get(
        f"/application-review/applications/{declaration.id}").get_data(as_text=True)


def test_tab_counts_count_what_the_list_lists(client, login, world):
    declaration = submitted(world)  # waits on the school's first level
    login(world.school_reviewers[1])

    html = client.get("/application-review/own").get_data(as_text=True)

    assert f'data-application-id="{declaration.id}"' not in html
    assert 'data-count="first">0<' in html  # not 1: the list shows only what waits on this level
    client.post("/logout")
    login(world.school_reviewers[0])
    html = client.get("/application-review/own").get_data(as_text=True)
    assert f'data-application-id="{declaration.id}"' in html and 'data-count="first">1<' in html


def test_the_trail_names_each_units_role_and_level(client, login, world):
    declaration = submitted(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    pass_unit(world, declaration, world.chain.competent)
    login(world.city_reviewers[0])

    html = client.get(f"/application-review/applications/{declaration.id}").get_data(as_text=True)
    trail = html[html.index('data-testid="trail"'):]

    steps = re.findall(r"<tr>\s*<td>\d+</td>\s*<td>([^<]*)</td>", trail)
    assert steps[1:4] == ["申报单位第一级审核", "申报单位第二级审核", "主管部门审核"], steps


def test_numbers_show_with_their_unit(client, login, world):
    declaration = submitted(world)  # 本人完成字数 "5" (thousands of characters)
    login(world.school_reviewers[0])

    html = client.get(f"/application-review/applications/{declaration.id}").get_data(as_text=True)

    assert re.search(r"本人完成字数</dt>\s*<dd[^>]*>5 千字<", html), html[html.find("本人完成字数"):][:200]


def test_the_page_shows_where_the_declaration_stands_on_its_path(client, login, world):
    declaration = submitted(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    login(world.competent_reviewer)

    html = client.get(f"/application-review/applications/{declaration.id}").get_data(as_text=True)

    states = re.findall(r'data-path-step="(\d)" data-state="(\w+)"', html)
    assert states == [("0", "done"), ("1", "active"), ("2", "waiting"), ("3", "waiting")]


def test_the_review_page_has_the_process_diagram_with_the_current_step_marked(client, login, world, make_user):
    declaration = submitted(world)
    login(world.school_reviewers[0])

    html = client.get(f"/application-review/applications/{declaration.id}").get_data(as_text=True)
    xml = client.get(f"/application-review/applications/{declaration.id}/diagram.xml")

    assert 'data-testid="diagram"' in html and 'data-mark="review_by_unit"' in html  # the 单位审核 call activity
    assert xml.status_code == 200 and b"application_review" in xml.data
    client.post("/logout")
    login(make_user(world.chain.other_school, permissions=["application.review"], name="别校"))
    assert client.get(f"/application-review/applications/{declaration.id}/diagram.xml").status_code == 404
