"""Command-line interface: `flask deploy`, `flask worker`, `flask instances`, `flask tasks`, ..."""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from app.cli import audit, backup, billing, crypto, demo, dns, instances, versions, workflows

    for module in (workflows, instances, billing, demo, versions, dns, backup, audit, crypto):
        module.register(app)
