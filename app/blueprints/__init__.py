"""Blueprints, one per area."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from app.blueprints.activities import bp as activities_bp
    from app.blueprints.applicant import bp as applicant_bp
    from app.blueprints.application_review import bp as application_review_bp
    from app.blueprints.audit import bp as audit_bp
    from app.blueprints.audit_config import bp as audit_config_bp
    from app.blueprints.blacklist import bp as blacklist_bp
    from app.blueprints.committee_admin import bp as committee_admin_bp
    from app.blueprints.committees import bp as committees_bp
    from app.blueprints.declarations import bp as declarations_bp
    from app.blueprints.dictionary import bp as dictionary_bp
    from app.blueprints.experts import bp as experts_bp
    from app.blueprints.home import bp as home_bp
    from app.blueprints.inbox import bp as inbox_bp
    from app.blueprints.process_admin import bp as process_admin_bp
    from app.blueprints.quotas import bp as quotas_bp
    from app.blueprints.registration import bp as registration_bp
    from app.blueprints.review_paths import bp as review_paths_bp
    from app.blueprints.roles import bp as roles_bp
    from app.blueprints.staff import bp as staff_bp
    from app.blueprints.units import bp as units_bp

    for bp in (home_bp, units_bp, staff_bp, roles_bp, audit_bp, dictionary_bp, registration_bp, audit_config_bp):
        app.register_blueprint(bp)
    for bp in (applicant_bp, blacklist_bp, review_paths_bp):
        app.register_blueprint(bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(process_admin_bp)
    for bp in (committees_bp, committee_admin_bp, experts_bp, activities_bp):
        app.register_blueprint(bp)
    app.register_blueprint(quotas_bp)
    app.register_blueprint(application_review_bp)
    app.register_blueprint(declarations_bp)
