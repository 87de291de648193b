"""`flask deploy` and `flask operators`: put diagrams into service, list what they may call."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from app.engine import get_engine
from app.engine.errors import DeployError


def register(app: Flask) -> None:
    app.cli.add_command(deploy)
    app.cli.add_command(operators)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "actor", default="policy", show_default=True, help="部署人")
def deploy(files: tuple[Path, ...], actor: str) -> None:
    """Deploy diagrams (default: every .bpmn in workflows/). Same content = no new version."""
    engine = get_engine()
    paths = list(files) or sorted(engine.workflows_dir.glob("*.bpmn"))
    failed = False
    for path in paths:
        try:
            row, created = engine.deploy_file(path, actor)
        except DeployError as exc:
            failed = True
            click.echo(f"拒绝部署 {path.name}:", err=True)
            for element, reason in exc.problems:
                click.echo(f"  [{element}] {reason}", err=True)
            continue
        state = "新版本" if created else "内容未变，沿用"
        click.echo(f"{path.name}: {row.process_id} v{row.version} ({state}) sha256={row.sha256[:12]}")
    if failed:
        raise SystemExit(1)


@click.command()
def operators() -> None:
    """List the service-task operators diagrams may call, with their parameters."""
    for operator in get_engine().operators.all():
        params = ", ".join(
            f"{name}{'?' if name in operator.optional else ''}: {getattr(kind, '__name__', kind)}"
            for name, kind in operator.params.items()
        )
        click.echo(f"{operator.name}({params})\n    {operator.summary}")
