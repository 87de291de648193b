"""`flask preview` and `flask migrate`: try an edited procedure on past applications, move running ones.

    flask preview PROCESS_ID FILE.bpmn [--root DIR] [--last 1000]
    flask migrate PROCESS_ID --to VERSION [--instances KEY,...] [--dry-run]
    flask migrate undo KEY
    flask migrate history PROCESS_ID
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from app.cli._common import engine_errors
from app.engine import get_engine
from app.engine.errors import DeployError
from app.extensions import db
from app.models.account import POLICY_ROLE
from app.services import migration, preview
from app.services.audit import Actor


def register(app: Flask) -> None:
    app.cli.add_command(preview_command)
    app.cli.add_command(migrate)


@click.command("preview")
@click.argument("process_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="存放 forms/ 和 documents/ 的目录（默认为项目目录）",
)
@click.option("--last", default=1000, show_default=True, help="预演最近多少件申请")
@engine_errors
def preview_command(process_id: str, file: Path, root: Path | None, last: int) -> None:
    """Replay the last applications of PROCESS_ID on an edited diagram FILE; nothing is deployed or changed."""
    engine = get_engine()
    try:
        report = preview.preview(db.session, engine, process_id, engine.bundle_from_files(file, root), last)
    except DeployError as exc:
        click.echo(f"{file.name} 不能预演:", err=True)
        for element, reason in exc.problems:
            click.echo(f"  [{element}] {reason}", err=True)
        raise SystemExit(1) from exc
    finally:
        db.session.rollback()  # a preview only reads
    _print_report(report)


def _print_report(report: preview.PreviewReport) -> None:
    examined = len(report.results) + len(report.skipped)
    click.echo(f"预演“{report.name}”：最近 {examined} 件申请，用时 {report.seconds:.2f} 秒")
    counts = report.counts()
    click.echo("  " + "，".join(f"{preview.OUTCOME_TITLES[o]} {n} 件" for o, n in counts.items() if n or o == "same"))
    for result in report.results:
        if result.outcome != preview.SAME or result.notes:
            click.echo(f"{result.business_key} (v{result.version})  {result.summary}")
        for note in result.notes:
            click.echo(f"    {note}")
    for skipped in report.skipped:
        click.echo(f"{skipped.business_key}  未预演：{skipped.reason}")


class _MigrateGroup(click.Group):
    """`flask migrate PROCESS_ID …` moves applications; the words `undo` and `history` are commands of their own."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_MigrateGroup)
def migrate() -> None:
    """Move running applications to another version of their procedure (see `flask migrate run --help`)."""


@migrate.command("run")
@click.argument("process_id")
@click.option("--to", "to_version", type=int, required=True, help="目标版本号")
@click.option("--instances", default="", help="申请编号，逗号分隔（默认：该流程其他版本上所有办理中的申请）")
@click.option("--dry-run", is_flag=True, help="只检查能否迁移，不做改动")
@click.option("--as", "actor", default="policy", show_default=True, help="操作人")
@engine_errors
def run(process_id: str, to_version: int, instances: str, dry_run: bool, actor: str) -> None:
    """Move running applications of PROCESS_ID to version --to; `flask migrate PROCESS_ID …` for short."""
    keys = [k for k in instances.split(",") if k.strip()] or None
    engine = get_engine()
    if dry_run:
        verdicts = migration.dry_run(db.session, engine, process_id, to_version, keys)
        db.session.rollback()
    else:
        who = Actor(actor, POLICY_ROLE, ip="cli")
        verdicts = migration.migrate(db.session, engine, process_id, to_version, keys, who)
    for verdict in verdicts:
        _print_verdict(verdict, dry_run)
    done = sum(1 for v in verdicts if v.movable)
    click.echo(f"{'可以迁移' if dry_run else '已迁移'} {done} 件，不能迁移 {len(verdicts) - done} 件")
    if not dry_run and done < len(verdicts):
        raise SystemExit(1)


def _print_verdict(verdict: migration.MoveVerdict, dry_run: bool) -> None:
    head = f"{verdict.business_key}  v{verdict.from_version} → v{verdict.to_version}"
    if not verdict.movable:
        click.echo(f"{head}  不能迁移：{'；'.join(verdict.reasons)}")
        return
    done = "可以迁移" if dry_run else f"已迁移（迁移记录 #{verdict.migration_id}）"
    click.echo(f"{head}  {done}")
    for note in verdict.notes:
        click.echo(f"    {note}")


@migrate.command("undo")
@click.argument("business_key")
@click.option("--as", "actor", default="policy", show_default=True, help="操作人")
@engine_errors
def undo(business_key: str, actor: str) -> None:
    """Put an application back on the version it ran on before its latest move."""
    result = migration.undo(db.session, get_engine(), business_key, Actor(actor, POLICY_ROLE, ip="cli"))
    click.echo(f"{result.business_key}  已撤销迁移：v{result.left_version} → v{result.restored_version}")


@migrate.command("history")
@click.argument("process_id")
def history(process_id: str) -> None:
    """Every move of an application of PROCESS_ID, newest first."""
    for entry in migration.history(db.session, process_id):
        undone = f"，{entry.undone_by} 已撤销" if entry.undone_at else "（可撤销）" if entry.undoable else ""
        moved = f"v{entry.from_version} → v{entry.to_version}"
        click.echo(f"#{entry.id}  {entry.business_key}  {moved}  {entry.by}{undone}")
