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

    register_history_cli(app)

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


METHOD_NAMES = {"职称评审": "review", "初定": "initial", "确认": "confirm", "委托评审": "delegated"}


def register_history_cli(app: Flask) -> None:
    """`flask history check|import FILE --method … --unit <统一社会信用代码> [--doc-no …] [--json]`: the upload
    page's validation (and, for import, its storing) for administrators and scripts. Exit 0 when every row
    passes, 1 when some fail, 2 when the file cannot be read."""

    @app.cli.group("history")
    def history() -> None:
        """历史职称数据：检验与导入。"""

    def run(path: str, method: str, unit_code: str, doc_no: str | None, as_json: bool, store: bool) -> None:
        import json

        from sqlalchemy import select

        from app.models import Unit
        from services.common.errors import ServiceError
        from services.history import upload

        unit = db.session.scalar(select(Unit).where(Unit.credit_code == unit_code.strip().upper()))
        if unit is None:
            raise click.BadParameter(f"没有统一社会信用代码为 {unit_code} 的单位", param_hint="--unit")
        content = Path(path).read_bytes()
        try:
            if store:
                batch = upload.create_batch(None, METHOD_NAMES[method], doc_no or _first_doc_no(content), Path(path).name,
                                            content, unit=unit)
                report = upload.import_rows(batch, content)
                db.session.commit()
            else:
                report = upload.check_file(METHOD_NAMES[method], unit, doc_no, content)
        except ServiceError as exc:
            db.session.rollback()
            click.echo(f"无法读取：{exc.message}", err=True)
            if as_json:
                click.echo(json.dumps({"error": exc.message}, ensure_ascii=False))
            raise SystemExit(2) from exc
        click.echo(f"共 {report.rows} 行：检验成功 {report.ok} 行，检验失败 {report.failed} 行"
                   + (f"；已保存为批次 {batch.id}（待提交）" if store else ""))
        for failure in report.failures:
            click.echo(f"  第 {failure['row']} 行 {failure['field']}：{failure['rule']}")
        if as_json:
            click.echo(json.dumps(report.as_json(), ensure_ascii=False))
        raise SystemExit(1 if report.failed else 0)

    options = [
        click.argument("path", type=click.Path(exists=True, dir_okay=False)),
        click.option("--method", type=click.Choice(list(METHOD_NAMES)), required=True, help="职称证书取得方式"),
        click.option("--unit", "unit_code", required=True, help="采集单位的统一社会信用代码"),
        click.option("--doc-no", default=None, help="本批次的职称文件文号（默认取第一行的文号）"),
        click.option("--json", "as_json", is_flag=True, help="最后一行输出 JSON 结果"),
    ]

    def with_options(command):  # type: ignore[no-untyped-def]
        for option in reversed(options):
            command = option(command)
        return command

    @history.command("check")
    @with_options
    def history_check(path: str, method: str, unit_code: str, doc_no: str | None, as_json: bool) -> None:
        """只检验，不保存。"""
        run(path, method, unit_code, doc_no, as_json, store=False)

    @history.command("import")
    @with_options
    def history_import(path: str, method: str, unit_code: str, doc_no: str | None, as_json: bool) -> None:
        """检验并保存为一个待提交的批次（与上传页面相同）。"""
        run(path, method, unit_code, doc_no, as_json, store=True)


def _first_doc_no(content: bytes) -> str:
    from services.history import upload

    return upload.first_doc_no(content)
