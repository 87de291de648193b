"""The key that signs sessions and CSRF tokens: generated once per installation, never in the repository."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_FILE_NAME = "secret_key"
MIN_KEY_LENGTH = 32
# Keys that were ever written in this repository or its documentation: never valid in production.
KNOWN_DEFAULT_KEYS = frozenset({"dev-only-secret-change-me", "dev", "secret", "change-me", "changeme"})


class SecretKeyError(RuntimeError):
    """The configured key is missing or known; production refuses to start."""


def key_path(instance_path: str | Path) -> Path:
    return Path(instance_path) / KEY_FILE_NAME


def read_secret_key(instance_path: str | Path) -> str | None:
    path = key_path(instance_path)
    return path.read_text(encoding="ascii").strip() if path.is_file() else None


def ensure_secret_key(instance_path: str | Path) -> Path:
    """Write a random key into instance/ (mode 0600) unless one is there already."""
    path = key_path(instance_path)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path


def check_secret_key(key: str | None, production: bool) -> None:
    """Production needs a long key that was never published; development only needs one."""
    if not key:
        raise SecretKeyError("未配置 SECRET_KEY：请运行 scripts/setup.sh 生成 instance/secret_key，或设置环境变量")
    if production and (key in KNOWN_DEFAULT_KEYS or len(key) < MIN_KEY_LENGTH):
        raise SecretKeyError(f"生产环境的 SECRET_KEY 不能是公开的默认值，且至少 {MIN_KEY_LENGTH} 个字符")
