"""`flask backup`, `flask backup verify`, `flask restore`: a backup with a manifest, checked on every use.

    flask backup                       # into BACKUP_DIR, named by the UTC time
    flask backup --output /mnt/x.tar   # somewhere else
    flask backup verify FILE           # the file's checksum, then the database compared with its manifest
    flask restore FILE [--force]       # into an empty database; --force replaces existing tables

Stop the web processes and `flask worker` before a restore: they would keep writing the old data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app

from app.config import PROJECT_ROOT
from app.extensions import db
from app.services import backup as backups
from app.services.errors import ServiceRefusal


def _database_url() -> str:
    return db.engine.url.render_as_string(hide_password=False)


def _refusals_as_exit(action: str, func: Callable[[], None]) -> None:
    """Show a refusal as its Chinese message and exit 1 instead of a traceback."""
    try:
        func()
    except ServiceRefusal as refusal:
        click.echo(f"{action}：{refusal.message}", err=True)
        raise SystemExit(1) from refusal


def _default_destination(now: datetime) -> Path:
    return Path(current_app.config["BACKUP_DIR"]) / f"backup-{now:%Y%m%dT%H%M%SZ}.tar"


@click.group(invoke_without_command=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="备份文件路径（默认写入 BACKUP_DIR）")
@click.pass_context
def backup(ctx: click.Context, output: Path | None) -> None:
    """Back the database up into one file with its manifest (time, kind, schema, rows per table, SHA-256)."""
    if ctx.invoked_subcommand is not None:
        return
    now = datetime.now(UTC)
    destination = output or _default_destination(now)

    def run() -> None:
        manifest = backups.create(_database_url(), destination, now)
        click.echo(f"已备份到 {destination}")
        click.echo(f"  {manifest.database}，结构版本 {'、'.join(manifest.schema_revisions)}")
        click.echo(f"  {len(manifest.tables)} 张表，共 {manifest.total_rows} 行，SHA-256 {manifest.payload_sha256}")

    _refusals_as_exit("备份失败", run)


@backup.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def verify(file: Path) -> None:
    """Check a backup file's checksum and compare the database with its manifest, table by table."""

    def run() -> None:
        manifest = backups.read_manifest(file)
        click.echo(f"校验值正确：{manifest.created_at} 的 {manifest.database} 备份，{len(manifest.tables)} 张表")
        differences = backups.compare(_database_url(), manifest)
        for difference in differences:
            click.echo(f"  不一致 {difference.describe()}")
        if differences:
            raise SystemExit(1)
        click.echo(f"数据库与备份一致：{len(manifest.tables)} 张表，共 {manifest.total_rows} 行")

    _refusals_as_exit("核对失败", run)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="目标数据库已有数据表时仍恢复，覆盖现有数据")
def restore(file: Path, force: bool) -> None:
    """Restore a backup after checking its checksum and schema revision, then compare every table."""

    def run() -> None:
        heads = backups.code_heads(PROJECT_ROOT / "migrations")
        db.engine.dispose()  # no pooled connection of this process holds the database during the restore
        manifest = backups.restore(_database_url(), file, heads, force=force)
        tables, rows = len(manifest.tables), manifest.total_rows
        click.echo(f"已恢复 {manifest.created_at} 的备份并核对一致：{tables} 张表，共 {rows} 行")

    _refusals_as_exit("恢复失败", run)


def register(app: Flask) -> None:
    app.cli.add_command(backup)
    app.cli.add_command(restore)
