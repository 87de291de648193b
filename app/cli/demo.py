"""`flask demo`: seed demo offices and units and print how to act as each role."""

from __future__ import annotations

import click
from flask import Flask

from app.extensions import db
from app.services import demo as demo_service


def register(app: Flask) -> None:
    app.cli.add_command(demo)


@click.command()
def demo() -> None:
    """Create demo data (idempotent) and print the demo actors."""
    units = demo_service.seed(db.session)
    db.session.commit()
    click.echo("演示数据已就绪。演示角色（命令行以 --as 名称 --role 角色 办理）：")
    for unit in units:
        click.echo(f"  单位   --as unit{unit.id} --role 单位     {unit.name}（{unit.unit_type}，单位编号 {unit.id}）")
    click.echo("  编办   --as bianban --role 编办     鄂尔多斯市委编办（编办:150600）")
    click.echo("  CONAC  --as conac --role CONAC     政务和公益机构域名注册管理中心")
