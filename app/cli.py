"""Command-line entry points: `flask admin-config load`, `flask seed-demo`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from app.extensions import db
from services.demo import organisation as demo
from services.reference import reference_data


def _config_dir() -> Path:
    return Path(current_app.config["ADMIN_CONFIG_DIR"])


def register_cli(app: Flask) -> None:
    @app.cli.group("admin-config")
    def admin_config() -> None:
        """Reference data in admin_config/."""

    @admin_config.command("load")
    def load() -> None:
        """Load admin_config/ into the database (idempotent)."""
        report = reference_data.load_all(_config_dir())
        db.session.commit()
        click.echo(f"admin_config 已载入：{report.summary()}")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Create the demo organisation on an empty database and print the demo logins."""
        reference_data.load_all(_config_dir())
        logins = demo.seed_demo(_config_dir())
        db.session.commit()
        if logins is None:
            click.echo("数据库中已有单位，跳过演示数据。")
        print_logins()

    @app.cli.group("bpmn")
    def bpmn() -> None:
        """BPMN diagrams in bpmn/."""

    @bpmn.command("check")
    @click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
    def bpmn_check(files: tuple[str, ...]) -> None:
        """Validate diagrams (all of bpmn/ when no FILE is given); exit 1 on any problem."""
        from services.workflow import checker

        raise SystemExit(checker.main(list(files)))

    @app.cli.group("workflow")
    def workflow() -> None:
        """The workflow engine."""

    @workflow.command("deploy")
    def workflow_deploy() -> None:
        """Deploy the diagrams of bpmn/ whose hash changed as new versions."""
        from services.workflow import definitions

        deployed = definitions.deploy_directory()
        db.session.commit()
        click.echo("已部署：" + ("、".join(f"{d.process_id} v{d.version}" for d in deployed) or "无变化"))

    @workflow.command("tick")
    @click.option("--every", type=float, default=0, help="repeat every N seconds (0: once)")
    def workflow_tick(every: float) -> None:
        """Fire due timers of running instances."""
        import time

        from services.workflow import instances

        while True:
            fired = instances.tick_due()
            db.session.commit()
            if fired:
                click.echo(f"触发定时事件：{fired} 个流程实例")
            if not every:
                break
            time.sleep(every)

    @app.cli.command("demo-logins")
    def demo_logins() -> None:
        """Print the demo accounts."""
        print_logins()


def print_logins() -> None:
    from sqlalchemy import select

    from app.models import Applicant, User

    password = demo.demo_password(_config_dir())
    users = db.session.scalars(select(User).where(User.enabled.is_(True)).order_by(User.id)).all()
    click.echo(f"演示账号（密码均为 {password}）：")
    for user in users:
        # Staff show their roles: the 审核人员 are the ones the demo declarations wait for in 待办事项.
        role = ("平台管理员" if user.is_platform_admin else "超级管理员" if user.is_unit_admin
                else "、".join(r.name for r in user.roles) or "无角色")
        click.echo(f"  {user.username:<12} {role:<10} {user.unit.name}")
    applicants = db.session.scalars(select(Applicant).order_by(Applicant.id).limit(20)).all()
    if applicants:
        click.echo("申报人账号（/applicant/login，证件号码或手机号码登录，密码同上）：")
    for applicant in applicants:
        click.echo(f"  {applicant.id_number}  {applicant.phone}  {applicant.name}  {applicant.unit.name}")
