"""`flask crypto`: the keys that seal personal data at rest (docs/personal-data.md)."""

from __future__ import annotations

import click
from flask import Flask

from app import field_encryption
from app.extensions import db
from app.services import key_rotation


def register(app: Flask) -> None:
    app.cli.add_command(crypto)


@click.group()
def crypto() -> None:
    """个人信息加密密钥：生成、使用情况、轮换。"""


@crypto.command("new-key")
@click.argument("key_id")
@click.option("--algorithm", type=click.Choice(list(field_encryption.ALGORITHMS)), default="SM4-GCM")
def new_key(key_id: str, algorithm: str) -> None:
    """Print a new key entry to put first in FIELD_ENCRYPTION_KEYS (the old ones stay after it until rotated)."""
    click.echo(field_encryption.new_key(key_id, algorithm).describe())


@crypto.command("status")
def status() -> None:
    """How many sealed values each key holds, per column; after a rotation only the current key appears."""
    keyring = field_encryption.active_keyring()
    click.echo(f"当前密钥: {keyring.current.key_id} ({keyring.current.algorithm})")
    for context, counts in key_rotation.key_usage(db.session).items():
        spread = "，".join(f"{key_id} {count}" for key_id, count in sorted(counts.items())) or "无数据"
        click.echo(f"{context}: {spread}")


@crypto.command("rotate")
def rotate() -> None:
    """Re-seal every value under the current (first) key; safe to run again after an interruption."""
    moved = key_rotation.rotate(db.session, field_encryption.active_keyring())
    click.echo(f"已用当前密钥重新加密 {moved} 个值")
