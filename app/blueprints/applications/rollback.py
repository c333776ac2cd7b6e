"""职称申报资格复核及评委操作回退 (H 1.26; FEATURES B8): a page of the application_review blueprint."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.blueprints.applications.application_review import bp
from app.extensions import db
from services.common.errors import ServiceError
from services.meetings import rollback


@bp.route("/qualification/<int:declaration_id>/rollback", methods=["GET", "POST"])
@permission_required(rollback.PERMISSION)
def rollback_page(declaration_id: int) -> Any:
    declaration = rollback.load(current_user, declaration_id)
    if request.method == "POST":
        try:
            label = rollback.undo(current_user, declaration, request.form.get("key", ""),
                                  request.form.get("reason", ""))
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            declaration = rollback.load(current_user, declaration_id)
            return render_template("application_review/rollback.html", declaration=declaration,
                                   steps=rollback.steps(declaration), error=exc.message), exc.status
        flash(f"已回退「{label}」", "success")
        return redirect(url_for("application_review.rollback_page", declaration_id=declaration.id))
    return render_template("application_review/rollback.html", declaration=declaration,
                           steps=rollback.steps(declaration), error="")
