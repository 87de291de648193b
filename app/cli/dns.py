"""`flask dns export`: the zone files of the .政务 and .公益 registries from the effective DNS records."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app

from app.extensions import db
from app.services import dns_zone
from app.services.errors import ServiceRefusal


def register(app: Flask) -> None:
    app.cli.add_command(dns)


@click.group()
def dns() -> None:
    """域名解析: zone files for the name servers."""


@dns.command("export")
@click.option("--to", "folder", type=click.Path(file_okay=False, path_type=Path), help="输出目录（默认 DNS_ZONE_DIR）")
def export_zones(folder: Path | None) -> None:
    """Write one zone file per suffix (政务, 公益) with the effective records of domains in force."""
    target = folder or Path(current_app.config["DNS_ZONE_DIR"])
    try:
        settings = dns_zone.ZoneSettings.from_config(current_app.config)
        written = dns_zone.export(db.session, target, settings, datetime.now(UTC))
    except ServiceRefusal as refusal:
        raise click.ClickException(refusal.message) from refusal
    for path, count in written:
        click.echo(f"{path}: {count} 条 A 记录")
