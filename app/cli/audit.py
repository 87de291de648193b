"""`flask audit verify` / `flask audit archive`: the SM3 hash chain of the audit trail (docs/audit.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app

from app.extensions import db
from app.services import audit_archive, audit_chain, audit_guard
from app.services.errors import ServiceRefusal

CHAIN_BROKEN = 1
GUARDS_MISSING = 2


def register(app: Flask) -> None:
    app.cli.add_command(audit)


@click.group()
def audit() -> None:
    """审计日志：哈希链校验与归档。"""


@audit.command("verify")
@click.option("--anchor", help="外部记录的锚点（链序号:哈希，取自以前 verify 输出的“锚点”），防止整条链被重写")
@click.option("--file", "archive", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="校验归档文件")
def verify(anchor: str | None, archive: Path | None) -> None:
    """Walk every row in order; exit 1 at the first edited, deleted or inserted row, 2 when the guards are off."""
    try:
        expected = audit_chain.Anchor.parse(anchor) if anchor else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--anchor") from exc
    if archive is not None:
        _report(_verify_file(archive))
        return
    with db.engine.connect() as connection:
        report = audit_chain.verify(connection, expected)
        missing = audit_guard.missing(connection)
    _report(report)
    if missing:
        click.echo(f"审计表的只追加保护触发器缺失或被停用：{', '.join(missing)}", err=True)
        raise SystemExit(GUARDS_MISSING)


def _verify_file(path: Path) -> audit_chain.Report:
    try:
        return audit_archive.verify_file(path)
    except (ServiceRefusal, ValueError, KeyError) as exc:
        raise click.ClickException(getattr(exc, "message", f"{path} 不是有效的审计日志归档文件")) from exc


def _report(report: audit_chain.Report) -> None:
    click.echo(f"已校验 {report.rows} 行，用时 {report.seconds:.3f} 秒（{report.rows_per_second:,.0f} 行/秒）")
    if report.problem is not None:
        click.echo(f"审计日志被篡改：{report.problem.message}", err=True)
        raise SystemExit(CHAIN_BROKEN)
    anchor_text = f"{report.head_length}:{report.head_hash}"
    click.echo(f"哈希链完整（SM3）。锚点：{anchor_text}（请记入外部日志，以后用 --anchor 核对）")


@audit.command("archive")
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False, path_type=Path), help="归档文件")
def archive(target: Path) -> None:
    """Move rows older than AUDIT_RETENTION_DAYS into a file; needs the audit table owner's DATABASE_URL."""
    days = int(current_app.config["AUDIT_RETENTION_DAYS"])
    try:
        done = audit_archive.archive(db.session, target, datetime.now(UTC), days)
        db.session.commit()
    except ServiceRefusal as refusal:
        db.session.rollback()
        raise click.ClickException(refusal.message) from refusal
    if done.rows == 0:
        click.echo(f"没有早于 {days} 天的审计日志，未归档")
        return
    click.echo(f"已归档 {done.rows} 行（至链序号 {done.through_seq}）到 {target}；表中的链从其后续接，仍可校验")
