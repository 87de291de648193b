"""`flask remittances`: 编办 remits collected fees to CONAC; CONAC's 认款 moves every application on."""

from __future__ import annotations

import click
from flask import Flask

from app.cli._common import engine_errors, make_actor
from app.engine import get_engine
from app.extensions import db
from app.services import billing
from app.services.errors import ServiceRefusal


def register(app: Flask) -> None:
    app.cli.add_command(remittances)


@click.group()
def remittances() -> None:
    """Remittance batches from 编办 to CONAC."""


@remittances.command("create")
@click.option("--office", "office_code", required=True, help="编办代码，如 编办:150600")
@click.option("--charges", required=True, help="已收费的费用编号，逗号分隔")
@click.option("--as", "actor_name", required=True)
def create_remittance(office_code: str, charges: str, actor_name: str) -> None:
    try:
        ids = [int(c) for c in charges.split(",") if c.strip()]
        remittance = billing.create_remittance(db.session, office_code, ids, actor_name)
        db.session.commit()
    except (ServiceRefusal, ValueError) as exc:
        db.session.rollback()
        raise click.ClickException(getattr(exc, "message", str(exc))) from exc
    click.echo(f"汇款批次 {remittance.id}: {len(ids)} 笔费用")


@remittances.command("confirm")
@click.argument("remittance_id", type=int)
@click.option("--as", "actor_name", required=True)
@engine_errors
def confirm_remittance(remittance_id: int, actor_name: str) -> None:
    """CONAC 认款: confirm a batch once; every application in it receives the 认款 message."""
    moved = get_engine().runner.confirm_remittance(remittance_id, make_actor(actor_name, "CONAC"))
    click.echo(f"汇款批次 {remittance_id} 已认款，{len(moved)} 件申请继续办理: {', '.join(moved)}")
