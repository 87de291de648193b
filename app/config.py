"""Settings read from environment variables; every default runs on a fresh machine."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def dump_json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_default(instance_path: str) -> str:
    return f"sqlite:///{Path(instance_path) / 'platform.sqlite3'}"


def load_settings(instance_path: str) -> dict[str, object]:
    """Build the Flask config mapping from the environment."""
    env = os.environ.get
    return {
        # SQLite file under instance/ unless DATABASE_URL points elsewhere (e.g. PostgreSQL).
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL") or _sqlite_default(instance_path),
        # JSON columns (the workflow state is one) go through orjson: several times faster than json.
        "SQLALCHEMY_ENGINE_OPTIONS": {"json_serializer": dump_json, "json_deserializer": orjson.loads},
        # Signs sessions and CSRF tokens; set it in production.
        "SECRET_KEY": env("SECRET_KEY", "dev-only-secret-change-me"),
        # Folders the engine deploys diagrams from and loads form schemas from.
        "WORKFLOWS_DIR": env("WORKFLOWS_DIR", str(PROJECT_ROOT / "workflows")),
        "FORMS_DIR": env("FORMS_DIR", str(PROJECT_ROOT / "forms")),
        # Domain fee per year in 元 (DOMAIN.md §8.3).
        "DOMAIN_TARIFF_YUAN": int(env("DOMAIN_TARIFF_YUAN", "300")),
        # Largest diagram file accepted by deploy, in bytes.
        "MAX_DIAGRAM_BYTES": int(env("MAX_DIAGRAM_BYTES", str(2 * 1024 * 1024))),
        # Session cookies: HttpOnly always, Secure unless explicitly running on plain HTTP (local demo).
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env("SESSION_COOKIE_SECURE", "false").lower() == "true",
        "REMEMBER_COOKIE_HTTPONLY": True,
        # Idle timeout of a login session, in seconds (等保: at most 30 minutes).
        "PERMANENT_SESSION_LIFETIME": int(env("SESSION_IDLE_SECONDS", "1800")),
        # Interface language; zh_CN first, an English catalogue follows.
        "BABEL_DEFAULT_LOCALE": env("BABEL_DEFAULT_LOCALE", "zh_CN"),
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
        # Page size of lists.
        "PAGE_SIZE": int(env("PAGE_SIZE", "20")),
        # Per-script limits of the restricted environment.
        "SCRIPT_TIMEOUT_SECONDS": float(env("SCRIPT_TIMEOUT_SECONDS", "2")),
        "SCRIPT_MAX_MEMORY_MB": int(env("SCRIPT_MAX_MEMORY_MB", "64")),
        # Timers the worker claims per round.
        "WORKER_BATCH_SIZE": int(env("WORKER_BATCH_SIZE", "50")),
    }
