"""Application factory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, session
from sqlalchemy import event

from app import field_encryption
from app.config import MIN_AUDIT_RETENTION_DAYS, PROJECT_ROOT, load_settings
from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from app.observability import init_observability
from app.secret_key import check_secret_key, ensure_secret_key, read_secret_key
from app.web.i18n import select_locale


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the Flask app: settings, database, engine, CLI."""
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_settings(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    _init_secret_key(app)
    _init_field_keys(app)
    _refuse_test_settings_in_production(app)
    _check_audit_requirements(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    _init_login(app)
    with app.app_context():
        _tune_sqlite()
        _tune_postgresql()

    from app import models  # noqa: F401  (register tables with the metadata)
    from app.engine import build_engine

    app.extensions["workflow_engine"] = build_engine(app)

    from app.cli import register_commands
    from app.web import register_blueprints

    register_commands(app)
    register_blueprints(app)
    init_observability(app)
    return app


def _init_secret_key(app: Flask) -> None:
    """Outside production a missing key is generated into instance/ once; production must bring its own."""
    production = app.config["APP_ENV"] == "production"
    if not app.config.get("SECRET_KEY") and not production:
        ensure_secret_key(app.instance_path)
        app.config["SECRET_KEY"] = read_secret_key(app.instance_path)
    check_secret_key(app.config.get("SECRET_KEY"), production)


def _init_field_keys(app: Flask) -> None:
    """The personal-data keys (app/field_encryption.py): development generates them once, production brings them."""
    production = app.config["APP_ENV"] == "production"
    keyring = field_encryption.load_keyring(app.config.get("FIELD_ENCRYPTION_KEYS"), app.instance_path, production)
    app.extensions[field_encryption.KEYRING_EXTENSION] = keyring


def _refuse_test_settings_in_production(app: Flask) -> None:
    """The placement check's exception for local networks exists for tests; in production it would let a unit's
    site address reach the internal network (SSRF)."""
    if app.config["APP_ENV"] == "production" and str(app.config.get("PLACEMENT_ALLOWED_NETWORKS", "")).strip():
        raise RuntimeError("生产环境不得设置 PLACEMENT_ALLOWED_NETWORKS（仅供测试访问本机测试站点）")


def _check_audit_requirements(app: Flask) -> None:
    """The audit trail's hash chain needs SM3 from OpenSSL, and the law keeps network logs six months
    (网络安全法 第21条): both refuse to start rather than run with a weaker trail."""
    from app.services.audit_chain import require_sm3

    require_sm3()
    if int(app.config["AUDIT_RETENTION_DAYS"]) < MIN_AUDIT_RETENTION_DAYS:
        raise RuntimeError(f"AUDIT_RETENTION_DAYS 不得少于 {MIN_AUDIT_RETENTION_DAYS} 天（网络日志留存不少于六个月）")


def _init_login(app: Flask) -> None:
    from app.models import User
    from app.services import sessions

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    login_manager.session_protection = "strong"
    lifetimes = sessions.Lifetimes(
        idle=timedelta(seconds=int(app.config["PERMANENT_SESSION_LIFETIME"])),
        absolute=timedelta(seconds=int(app.config["SESSION_ABSOLUTE_SECONDS"])),
    )

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = sessions.user_for(db.session, session.get(sessions.COOKIE_KEY), lifetimes, datetime.now(UTC))
        return user if user is not None and str(user.id) == user_id else None


def _tune_postgresql() -> None:
    """No JIT compilation: the app's statements are short index reads, and a cost estimate inflated by a
    subplan (jurisdiction checks) once made PostgreSQL spend 800 ms compiling a 4 ms search (docs/scale.md)."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()


def _tune_sqlite() -> None:
    """WAL + NORMAL sync: durable across crashes of the app, one fsync per checkpoint."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
