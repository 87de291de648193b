"""`flask deploy`, `flask export` and `flask operators`: procedure versions in and out of files."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from app.engine import get_engine
from app.engine.definitions import bundle_of
from app.engine.errors import DeployError
from app.extensions import db
from app.services import audit, versions
from app.services.audit import Actor


def register(app: Flask) -> None:
    app.cli.add_command(deploy)
    app.cli.add_command(export)
    app.cli.add_command(operators)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "actor", default="policy", show_default=True, help="部署人")
@click.option("--comment", default="", help="部署说明（记入版本列表）")
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="存放 forms/ 和 documents/ 的目录（默认为项目目录）",
)
def deploy(files: tuple[Path, ...], actor: str, comment: str, root: Path | None) -> None:
    """Deploy diagrams with their forms and print templates (default: every .bpmn in workflows/).

    Same content (diagram and every file it uses) = no new version.
    """
    engine = get_engine()
    paths = list(files) or sorted((engine.files_root / "workflows").glob("*.bpmn"))
    failed = False
    for path in paths:
        try:
            row, created = engine.deploy_file(path, actor, files_root=root, comment=comment)
        except DeployError as exc:
            failed = True
            click.echo(f"拒绝部署 {path.name}:", err=True)
            for element, reason in exc.problems:
                click.echo(f"  [{element}] {reason}", err=True)
            continue
        if created:  # a configuration change (DOMAIN.md §7.3), like a deploy from the studio
            detail = {"process": row.process_id, "version": row.version, "comment": comment, "via": "flask deploy"}
            audit.record(db.session, Actor(actor, "命令行"), "deploy", detail=detail)
            db.session.commit()
        state = "新版本" if created else "内容未变，沿用"
        click.echo(f"{path.name}: {row.process_id} v{row.version} ({state}) sha256={row.sha256[:12]}")
    if failed:
        raise SystemExit(1)


@click.command()
@click.argument("process_id")
@click.option("--version", "number", type=int, help="版本号（默认最新版本）")
@click.option("--to", "target", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True)
def export(process_id: str, number: int | None, target: Path) -> None:
    """Write a deployed version back to files (workflows/, forms/, documents/) for review in git."""
    row = versions.find(db.session, process_id, number)
    if row is None:
        raise click.ClickException(f"没有流程 {process_id} 的版本 {number or '（最新）'}")
    for path in bundle_of(row).write_to(target):
        click.echo(str(path))


@click.command()
def operators() -> None:
    """List the service-task operators diagrams may call, with their parameters."""
    for operator in get_engine().operators.all():
        params = ", ".join(
            f"{name}{'?' if name in operator.optional else ''}: {getattr(kind, '__name__', kind)}"
            for name, kind in operator.params.items()
        )
        click.echo(f"{operator.name}({params})\n    {operator.summary}")
