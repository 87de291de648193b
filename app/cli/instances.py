"""`flask instances`, `flask tasks`, `flask worker`: drive every procedure from a terminal."""

from __future__ import annotations

import click
from flask import Flask

from app.cli._common import actor_options, dump, engine_errors, make_actor, parse_json
from app.cli.worker import worker
from app.engine import get_engine
from app.extensions import db
from app.models import ProcessInstance, WorkItem
from app.models.account import SYSTEM_ADMIN_ROLE
from app.services import applications


def register(app: Flask) -> None:
    app.cli.add_command(instances)
    app.cli.add_command(tasks)
    app.cli.add_command(worker)


def _instance(business_key: str) -> ProcessInstance:
    instance = applications.find_instance(db.session, business_key)
    if instance is None:
        raise click.ClickException(f"没有申请 {business_key}")
    return instance


@click.group()
def instances() -> None:
    """Applications (process instances)."""


@instances.command("list")
@click.option("--status", type=click.Choice(["running", "completed", "error"]))
@click.option("--unit", "unit_id", type=int)
def list_instances(status: str | None, unit_id: int | None) -> None:
    for inst in applications.list_instances(db.session, status, unit_id):
        definition = inst.definition
        click.echo(
            f"{inst.business_key}  {definition.name} v{definition.version}  单位#{inst.unit_id}  "
            f"{inst.stage}  [{inst.status}]"
        )


@instances.command("start")
@click.argument("process_id")
@click.option("--unit", "unit_id", type=int, required=True)
@click.option("--data", default="{}", help="启动数据 (JSON)")
@actor_options
@engine_errors
def start_instance(process_id: str, unit_id: int, data: str, actor_name: str, role: str) -> None:
    """Start the newest version of PROCESS_ID for a unit."""
    inst = get_engine().runner.start(process_id, unit_id, make_actor(actor_name, role), parse_json(data))
    click.echo(f"{inst.business_key}  {inst.stage}")


@instances.command("show")
@click.argument("business_key")
def show_instance(business_key: str) -> None:
    inst = _instance(business_key)
    click.echo(f"{inst.business_key}  {inst.definition.name} v{inst.definition.version}")
    click.echo(f"阶段: {inst.stage}   状态: {inst.status}   单位#{inst.unit_id}   版本计数 {inst.version}")
    if inst.error:
        click.echo(f"错误: {inst.error}")
    for item in applications.list_work_items(db.session, instance_id=inst.id):
        click.echo(f"  待办 #{item.id} {item.title} [{item.role} {item.office_code or ''}] 期限 {item.due_at or '-'}")
    for timer in applications.waiting_timers(db.session, inst.id):
        flag = "（估算）" if timer.estimated else ""
        click.echo(f"  定时 {timer.task_name} 到期 {timer.due_at:%Y-%m-%d %H:%M %Z}{flag}")
    for event in applications.timeline(db.session, inst.id):
        decision = f" {event.decision}" if event.decision else ""
        reason = f" 原因: {event.reason}" if event.reason else ""
        click.echo(
            f"  {event.at:%Y-%m-%d %H:%M} {event.role} {event.actor} {event.action} "
            f"{event.task_title or ''}{decision}{reason}"
        )


@instances.command("retry")
@click.argument("business_key")
@click.option("--as", "actor_name", default="admin", show_default=True)
@engine_errors
def retry_instance(business_key: str, actor_name: str) -> None:
    """Replay the failed action of an application in error state."""
    inst = get_engine().runner.retry(_instance(business_key).id, make_actor(actor_name, SYSTEM_ADMIN_ROLE))
    click.echo(f"{inst.business_key}  {inst.stage}  [{inst.status}]")


@click.group()
def tasks() -> None:
    """Open user tasks (work items)."""


@tasks.command("list")
@click.option("--role")
@click.option("--office", "office_code")
@click.option("--unit", "unit_id", type=int)
def list_tasks(role: str | None, office_code: str | None, unit_id: int | None) -> None:
    for item in applications.list_work_items(db.session, role, office_code, unit_id):
        key = db.session.get(ProcessInstance, item.instance_id).business_key  # type: ignore[union-attr]
        click.echo(f"#{item.id}  {key}  {item.title}  [{item.role} {item.office_code or ''}]  {item.stage}")


def _work_item(item_id: int) -> WorkItem:
    item = db.session.get(WorkItem, item_id)
    if item is None:
        raise click.ClickException(f"没有待办 #{item_id}（可能已被办理）")
    return item


@tasks.command("show")
@click.argument("item_id", type=int)
def show_task(item_id: int) -> None:
    """Show a task: its form schema, instructions and diagram properties."""
    item = _work_item(item_id)
    engine = get_engine()
    inst = db.session.get(ProcessInstance, item.instance_id)
    compiled = engine.definitions.compiled(inst.definition)  # type: ignore[union-attr]
    click.echo(f"#{item.id} {item.title} [{item.role}] 阶段 {item.stage}")
    click.echo(compiled.instructions.get(item.task_name, ""))
    click.echo(f"属性: {dump(item.properties)}")
    if item.form:
        click.echo(f"表单 {item.form}: {dump(compiled.forms.schema(item.form))}")


@tasks.command("complete")
@click.argument("item_id", type=int)
@click.option("--data", default="{}", help="表单数据 (JSON)")
@actor_options
@engine_errors
def complete_task(item_id: int, data: str, actor_name: str, role: str) -> None:
    item = _work_item(item_id)
    inst = get_engine().runner.complete(item.task_id, make_actor(actor_name, role), parse_json(data))
    click.echo(f"{inst.business_key}  {inst.stage}  [{inst.status}]")
