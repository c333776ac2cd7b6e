"""Blueprints, grouped in packages by business area like services/; a blueprint over ~300 lines is split
by page group into modules that add routes to the same Blueprint object."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    # declaration_materials and review_queries add pages to the declarations / application_review blueprints.
    from app.blueprints.activities.activities import bp as activities_bp
    from app.blueprints.activities.quotas import bp as quotas_bp
    from app.blueprints.activities.review_plans import bp as review_plans_bp
    from app.blueprints.applications import (  # noqa: F401
        declaration_materials,
        review_queries,
        rollback,
        transfers,
    )
    from app.blueprints.applications.applicant import bp as applicant_bp
    from app.blueprints.applications.application_review import bp as application_review_bp
    from app.blueprints.applications.blacklist import bp as blacklist_bp
    from app.blueprints.applications.declarations import bp as declarations_bp
    from app.blueprints.applications.review_paths import bp as review_paths_bp
    from app.blueprints.committees.committee_admin import bp as committee_admin_bp
    from app.blueprints.committees.committees import bp as committees_bp
    from app.blueprints.experts.experts import bp as experts_bp
    from app.blueprints.history.history import bp as history_bp
    from app.blueprints.home import bp as home_bp
    from app.blueprints.jobs.jobs import bp as jobs_bp
    from app.blueprints.meetings import draw_pages, vote_pages  # noqa: F401
    from app.blueprints.meetings.expert_portal import bp as expert_portal_bp
    from app.blueprints.meetings.meetings import bp as meetings_bp
    from app.blueprints.messages.messages import applicant_bp as my_messages_bp
    from app.blueprints.messages.messages import bp as messages_bp
    from app.blueprints.messages.notices import bp as notices_bp
    from app.blueprints.messages.notices import public_bp
    from app.blueprints.notifications.notifications import bp as notifications_bp
    from app.blueprints.org.audit import bp as audit_bp
    from app.blueprints.org.audit_config import bp as audit_config_bp
    from app.blueprints.org.registration import bp as registration_bp
    from app.blueprints.org.roles import bp as roles_bp
    from app.blueprints.org.staff import bp as staff_bp
    from app.blueprints.org.units import bp as units_bp
    from app.blueprints.reference.acceptance_agencies import bp as acceptance_agencies_bp
    from app.blueprints.reference.dictionary import bp as dictionary_bp
    from app.blueprints.results.results import bp as results_bp
    from app.blueprints.results.results import public_bp as public_results_bp
    from app.blueprints.talent.mine import bp as my_talent_bp
    from app.blueprints.talent.talent import bp as talent_bp
    from app.blueprints.workflow.inbox import bp as inbox_bp
    from app.blueprints.workflow.process_admin import bp as process_admin_bp

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
    app.register_blueprint(jobs_bp)
    app.register_blueprint(history_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(expert_portal_bp)
    app.register_blueprint(results_bp)
    app.register_blueprint(public_results_bp)
    app.register_blueprint(notifications_bp)
    for bp in (notices_bp, public_bp, messages_bp, my_messages_bp, talent_bp, my_talent_bp, acceptance_agencies_bp,
               review_plans_bp):
        app.register_blueprint(bp)
    from app.blueprints.certificates import register as register_certificates

    register_certificates(app)
