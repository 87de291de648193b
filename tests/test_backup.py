"""Backup and restore: a round trip proves itself table by table; a damaged or foreign file changes nothing.

`flask backup` writes the dump (pg_dump / SQLite's backup API) with a manifest; `flask restore` checks the
checksum and schema revision, refuses a database with tables unless --force, and compares every table
with the manifest afterwards. Runs on both databases, each restoring into a database of its own kind.
"""

from __future__ import annotations

import io
import json
import stat
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, inspect, select, text

from app.config import PROJECT_ROOT
from app.extensions import db
from app.models import AuditEvent, ProcessInstance, Unit
from app.services import backup as backups
from app.services.errors import ServiceRefusal
from tests.conftest import (
    APPROVE,
    BIANBAN,
    PG_SERVER,
    TEST_APPLICATION,
    TWO_REVIEWS,
    UNIT,
    _drop_postgres_database,
    _fresh_postgres_database,
)

pytestmark = pytest.mark.usefixtures("two_reviews")
HEADS = backups.code_heads(PROJECT_ROOT / "migrations")


def app_url() -> str:
    return db.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def empty_target(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables, of the app's kind."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = _fresh_postgres_database()
    yield f"{PG_SERVER}/{name}"
    _drop_postgres_database(name)


@pytest.fixture
def some_work(make_unit: Any, start: Any) -> int:
    """An application submitted and reviewed: instances, work items, audit, steps, a domain."""
    application = start(TWO_REVIEWS, make_unit()).complete(UNIT, TEST_APPLICATION).complete(BIANBAN, APPROVE)
    return application.instance_id


def count_in(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def tables_in(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names()
    finally:
        engine.dispose()


def rewritten(path: Path, manifest: dict[str, Any] | None = None, payload_edit: int | None = None) -> Path:
    """A copy of a backup file with its manifest replaced or one payload byte flipped at `payload_edit`."""
    copy = path.with_name("edited-" + path.name)
    with tarfile.open(path) as source, tarfile.open(copy, "w") as target:
        for member in source.getmembers():
            body = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == backups.MANIFEST_NAME and manifest is not None:
                body = json.dumps(manifest).encode()
            elif member.name != backups.MANIFEST_NAME and payload_edit is not None:
                body = body[:payload_edit] + bytes([body[payload_edit] ^ 0xFF]) + body[payload_edit + 1 :]
            member.size = len(body)
            target.addfile(member, io.BytesIO(body))
    return copy


def test_a_backup_restored_into_an_empty_database_equals_the_original_table_by_table(
    app: Flask, some_work: int, empty_target: str, tmp_path: Path, backend: str
) -> None:
    file = tmp_path / "backup.tar"
    manifest = backups.create(app_url(), file, datetime.now(UTC))

    assert manifest.database == backend
    assert manifest.schema_revisions == HEADS
    assert manifest.tables["process_instance"].rows == 1
    assert manifest.tables["audit_event"].rows == db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert stat.S_IMODE(file.stat().st_mode) == 0o600  # it holds personal data

    restored = backups.restore(empty_target, file, HEADS)

    assert restored == manifest
    assert backups.compare(empty_target, manifest) == []
    stage = db.session.get(ProcessInstance, some_work).stage  # type: ignore[union-attr]
    engine = create_engine(empty_target)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT stage FROM process_instance")).scalar_one() == stage
    engine.dispose()


def test_a_damaged_payload_is_refused_and_nothing_is_written(
    app: Flask, some_work: int, empty_target: str, tmp_path: Path
) -> None:
    file = tmp_path / "backup.tar"
    backups.create(app_url(), file, datetime.now(UTC))

    with pytest.raises(ServiceRefusal, match="校验失败"):
        backups.restore(empty_target, rewritten(file, payload_edit=500), HEADS)
    assert tables_in(empty_target) == []


def test_a_backup_of_another_schema_revision_is_refused(app: Flask, empty_target: str, tmp_path: Path) -> None:
    file = tmp_path / "backup.tar"
    manifest = backups.create(app_url(), file, datetime.now(UTC))
    with tarfile.open(file) as archive:
        edited = json.loads(archive.extractfile(backups.MANIFEST_NAME).read())  # type: ignore[union-attr]
    edited["schema_revisions"] = ["0123456789ab"]  # the checksum still matches: only the revision is foreign

    with pytest.raises(ServiceRefusal, match=r"结构版本.*不一致，拒绝恢复"):
        backups.restore(empty_target, rewritten(file, manifest=edited), HEADS)
    assert tables_in(empty_target) == []
    assert backups.read_manifest(file) == manifest  # the original is untouched


def test_restore_over_existing_tables_needs_force_and_then_replaces_the_data(
    app: Flask, some_work: int, make_unit: Any, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    file = tmp_path / "backup.tar"
    result = runner.invoke(args=["backup", "--output", str(file)])
    assert result.exit_code == 0, result.output
    assert "已备份到" in result.output
    later = make_unit(name="备份之后的单位").id
    db.session.remove()

    refused = runner.invoke(args=["restore", str(file)])
    assert refused.exit_code == 1
    assert "已有" in refused.output and "--force" in refused.output
    assert db.session.get(Unit, later) is not None  # nothing changed
    db.session.remove()

    forced = runner.invoke(args=["restore", "--force", str(file)])
    assert forced.exit_code == 0, forced.output
    assert "核对一致" in forced.output
    assert db.session.get(Unit, later) is None
    assert db.session.get(ProcessInstance, some_work) is not None


def test_verify_names_each_table_that_differs_from_the_backup(app: Flask, make_unit: Any, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    file = tmp_path / "backup.tar"
    assert runner.invoke(args=["backup", "--output", str(file)]).exit_code == 0
    same = runner.invoke(args=["backup", "verify", str(file)])
    assert same.exit_code == 0 and "数据库与备份一致" in same.output, same.output

    make_unit()
    differs = runner.invoke(args=["backup", "verify", str(file)])
    assert differs.exit_code == 1
    assert "unit：备份 0 行，数据库 1 行" in differs.output


def test_a_file_that_is_not_a_backup_is_refused_in_chinese(app: Flask, empty_target: str, tmp_path: Path) -> None:
    file = tmp_path / "notes.tar"
    file.write_bytes(b"not a tar archive at all" * 100)
    with pytest.raises(ServiceRefusal, match="不是本平台的备份文件"):
        backups.restore(empty_target, file, HEADS)
    with pytest.raises(ServiceRefusal, match="备份文件不存在"):
        backups.read_manifest(tmp_path / "missing.tar")


def test_missing_or_older_postgresql_client_tools_are_refused_before_anything_is_written(
    app: Flask, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("pg_dump is PostgreSQL's")
    file = tmp_path / "backup.tar"
    with monkeypatch.context() as patch:
        patch.setattr(backups.shutil, "which", lambda program: None)
        with pytest.raises(ServiceRefusal, match=r"未找到 pg_dump.*postgresql-client"):
            backups.create(app_url(), file, datetime.now(UTC))
    with monkeypatch.context() as patch:
        patch.setattr(backups, "_major", lambda version_line: 9)  # a client older than any server we run
        with pytest.raises(ServiceRefusal, match="低于数据库服务器的主版本"):
            backups.create(app_url(), file, datetime.now(UTC))
    assert not file.exists()
