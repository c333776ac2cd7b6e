"""评审方案呈报 (H 1.2.2): the committee's plans with 查询 / 新增 / 呈报; 呈报方案审核 (H 1.13) and its special case
(H 1.14) as lists of the unit's plans with 审核 through the 待办 task page; 呈报方案查询 (H 1.23)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.auth import permission_required
from app.blueprints.workflow.inbox import register_record_view
from app.extensions import db
from app.models import ReviewPlan
from app.models.review_plan import PLAN_KINDS, PLAN_STATUS_LABELS
from app.web import paginate, render_form, send_stored
from services.activities import review_plans as plans
from services.activities.review_plans import PlanInput
from services.common.errors import InvalidInput, NotFound, ServiceError
from services.workflow import instances

bp = Blueprint("review_plans", __name__, url_prefix="/review-plans")


def _lines(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> str:
    return "\n".join(" | ".join(str(row.get(k, "")) for k in keys) for row in rows)


def _input() -> PlanInput:
    raw_activity, raw_time = request.form.get("activity_id", ""), request.form.get("meeting_at", "").strip()
    try:
        meeting_at = datetime.fromisoformat(raw_time) if raw_time else None
    except ValueError:
        raise InvalidInput("评审时间：格式应为 YYYY-MM-DD HH:MM", field="meeting_at") from None
    upload = request.files.get("attachment")
    return PlanInput(int(raw_activity) if raw_activity.isdigit() else None, request.form.get("kind", ""),
                     request.form.get("name", ""), meeting_at, request.form.get("location", ""),
                     request.form.get("description", ""), request.form.get("expert_needs", ""),
                     request.form.get("scoring_rules", ""),
                     (upload.filename or "附件", upload.read()) if upload and upload.filename else None)


@bp.route("/")
@permission_required(plans.SUBMIT_PERMISSION)
def index() -> Any:
    keyword = request.args.get("keyword", "").strip()
    return render_template("review_plans/index.html", pagination=paginate(plans.own_statement(current_user, keyword)),
                           keyword=keyword)


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
@permission_required(plans.SUBMIT_PERMISSION)
def edit(plan_id: int | None = None) -> Any:
    plan = plans.load_own(current_user, plan_id) if plan_id else None
    context = {"plan": plan, "activities": plans.plan_activities(current_user), "kinds": PLAN_KINDS}
    if request.method == "POST":
        try:
            saved = plans.save_plan(current_user, _input(), plan)
        except ServiceError as exc:
            db.session.rollback()
            return render_form("review_plans/form.html", exc, **context)
        db.session.commit()
        flash("评审方案已保存（未呈报）", "success")
        return redirect(url_for("review_plans.detail", plan_id=saved.id))
    values = ({"activity_id": plan.activity_id, "kind": plan.kind, "name": plan.name,
               "meeting_at": plan.meeting_at.strftime("%Y-%m-%dT%H:%M") if plan.meeting_at else "",
               "location": plan.location, "description": plan.description,
               "expert_needs": _lines(plan.expert_needs, ("specialty", "level", "count")),
               "scoring_rules": _lines(plan.scoring_rules, ("item", "score", "note"))} if plan else {"kind": "normal"})
    return render_template("review_plans/form.html", values=values, **context)


@bp.route("/<int:plan_id>/submit", methods=["POST"])
@permission_required(plans.SUBMIT_PERMISSION)
def submit(plan_id: int) -> Any:
    plans.submit_plan(current_user, plans.load_own(current_user, plan_id), request.form.get("note", ""))
    db.session.commit()
    flash("评审方案已呈报", "success")
    return redirect(url_for("review_plans.detail", plan_id=plan_id))


@bp.route("/<int:plan_id>")
@login_required  # who may read it is load_visible's decision (submitting unit, reviewing unit, 呈报方案查询)
def detail(plan_id: int) -> Any:
    plan = plans.load_visible(current_user, plan_id)
    tasks = instances.open_tasks_of(current_user, plan.business_type, [plan.id])
    return render_template("review_plans/detail.html", plan=plan, task=tasks.get(plan.id),
                           trail=instances.business_trail(plan.business_type, plan.id),
                           tab=request.args.get("tab", "participants"))


@bp.route("/<int:plan_id>/file")
@login_required
def file(plan_id: int) -> Any:
    plan = plans.load_visible(current_user, plan_id)
    if not plan.attachment:
        raise NotFound("该方案没有附件")
    return send_stored(plan.attachment)


def _review_list(kind: str) -> Any:
    status = request.args.get("status", "pending")
    stmt = select(ReviewPlan).where(ReviewPlan.reviewing_unit_id == current_user.unit_id, ReviewPlan.kind == kind,
                                    ReviewPlan.status == (status if status in PLAN_STATUS_LABELS else "pending"))
    pagination = paginate(stmt.options(*plans.LIST_LOADS).order_by(ReviewPlan.submitted_at.desc(),
                                                                    ReviewPlan.id.desc()))
    business_type = "review_plan_special" if kind == "special" else "review_plan"
    tasks = instances.open_tasks_of(current_user, business_type, [p.id for p in pagination.items])
    statuses = {k: v for k, v in PLAN_STATUS_LABELS.items() if k != "draft"}
    return render_template("review_plans/reviews.html", pagination=pagination, tasks=tasks, kind=kind,
                           status=status, statuses=statuses,
                           endpoint="review_plans.special_reviews" if kind == "special" else "review_plans.reviews")


@bp.route("/reviews")
@permission_required("plan.review")
def reviews() -> Any:
    return _review_list("normal")


@bp.route("/reviews/special")
@permission_required("plan.review_special")
def special_reviews() -> Any:
    return _review_list("special")


@bp.route("/query")
@permission_required(plans.QUERY_PERMISSION)
def query() -> Any:
    status, keyword = request.args.get("status", ""), request.args.get("keyword", "").strip()
    pagination = paginate(plans.query_statement(current_user, status if status in PLAN_STATUS_LABELS else "",
                                                keyword))
    return render_template("review_plans/query.html", pagination=pagination, status=status, keyword=keyword,
                           statuses={k: v for k, v in PLAN_STATUS_LABELS.items() if k != "draft"})


def _plan_record(instance: Any) -> dict[str, Any]:
    plan = db.session.get(ReviewPlan, instance.business_id)
    if plan is None:
        raise NotFound("评审方案不存在")
    return {"plan": plan}


register_record_view("review_plan", _plan_record)
register_record_view("review_plan_special", _plan_record)
