"""Blueprints, one per area."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from app.blueprints.audit import bp as audit_bp
    from app.blueprints.dictionary import bp as dictionary_bp
    from app.blueprints.home import bp as home_bp
    from app.blueprints.roles import bp as roles_bp
    from app.blueprints.staff import bp as staff_bp
    from app.blueprints.units import bp as units_bp

    for bp in (home_bp, units_bp, staff_bp, roles_bp, audit_bp, dictionary_bp):
        app.register_blueprint(bp)
