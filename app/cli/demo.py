"""`flask demo`, `flask regions load`, `flask users create`: data a fresh installation needs."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask, current_app
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.models.account import SYSTEM_ADMIN_ROLE
from app.services import administration, regions, second_factor
from app.services import demo as demo_service
from app.services.audit import Actor
from app.services.errors import ServiceRefusal


def register(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(regions_group)
    app.cli.add_command(users)


@click.command()
def demo() -> None:
    """Create demo offices, units and accounts (idempotent) and print them."""
    created = demo_service.seed(db.session, with_domains=True)
    db.session.commit()
    click.echo(f"演示账号（密码均为 {demo_service.DEMO_PASSWORD}）：")
    for user in created:
        where = user.unit.name if user.unit else (user.office.name if user.office else "")
        click.echo(f"  {user.username:<10} {user.role:<6} {where}")
    click.echo(f"演示单位已有有效域名：{'、'.join(demo_service.DEMO_DOMAINS)}")


@click.group("regions")
def regions_group() -> None:
    """GB/T 2260 administrative divisions."""


@regions_group.command("load")
def load_regions() -> None:
    """Load the shipped GB/T 2260 table (replaces the current one)."""
    count = regions.load(db.session)
    db.session.commit()
    click.echo(f"已载入 {count} 个行政区划")


@click.group()
def users() -> None:
    """Staff accounts (units register themselves)."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, help="审核或管理角色，如 编办、CONAC、政策、系统管理员、安全管理员、审计管理员")
@click.option("--name", "display_name", required=True)
@click.option("--office", "office_code", help="编办:区划代码 或 CONAC")
@click.password_option()
def create_user(username: str, role: str, display_name: str, office_code: str | None, password: str) -> None:
    try:
        account = administration.StaffAccount(username, display_name, role, password, office_code)
        administration.create_staff_account(db.session, account, Actor("cli", SYSTEM_ADMIN_ROLE))
        db.session.commit()
    except ServiceRefusal as refusal:
        db.session.rollback()
        raise click.ClickException(refusal.message) from refusal
    click.echo(f"已创建账号 {username}（{role}）")


@users.command("totp")
@click.argument("username")
def print_totp(username: str) -> None:
    """The current second-factor code of a demo staff account (refused in production)."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("生产环境不提供此命令")
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or user.totp_secret != demo_service.DEMO_TOTP_SECRET:
        raise click.ClickException(f"{username} 不是使用演示密钥的演示工作人员账号")
    click.echo(second_factor.current_code(user.totp_secret, datetime.now(UTC)))
