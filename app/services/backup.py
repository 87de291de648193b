"""Backups that prove themselves: a dump plus a manifest of what it holds, checked again on restore.

A backup file is a tar archive of two members: `manifest.json` and the payload, a pg_dump archive
(custom format) for PostgreSQL or a copy made with SQLite's online backup API. The manifest names
when and from which kind of database it was taken, the schema revision(s), every table's row count
and content digest, and the payload's SHA-256.

The figures are taken from exactly the data the payload holds: on PostgreSQL the counting
transaction exports its snapshot and pg_dump dumps that snapshot; on SQLite they are read from the
copy itself. So `verify` right after a restore must find every table equal, and a file whose
payload was damaged or whose schema does not match the program is refused before anything is
written.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Connection, MetaData, Text, create_engine, inspect, select, text
from sqlalchemy.engine import URL, make_url

from app.services.errors import ServiceRefusal

MANIFEST_NAME = "manifest.json"
PAYLOADS = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
FORMAT_VERSION = 1
_CHUNK = 1024 * 1024
_ROWS_PER_FETCH = 2000


@dataclass(frozen=True)
class TableFigures:
    rows: int
    sha256: str  # digest of the rows in primary-key order, each in a canonical JSON form


@dataclass(frozen=True)
class Manifest:
    format: int
    created_at: str  # UTC, ISO 8601
    database: str  # postgresql / sqlite
    schema_revisions: list[str]
    tables: dict[str, TableFigures]
    payload: str
    payload_sha256: str
    payload_bytes: int
    tool: str  # the program that wrote the payload, with its version

    @property
    def total_rows(self) -> int:
        return sum(figures.rows for figures in self.tables.values())

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            value = json.loads(raw)
            tables = {name: TableFigures(**figures) for name, figures in value.pop("tables").items()}
            return cls(**value, tables=tables)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ServiceRefusal("备份文件的清单无法读取，文件可能已损坏，拒绝使用") from exc


@dataclass(frozen=True)
class Difference:
    table: str
    expected: TableFigures | None  # None: a table the backup does not have
    found: TableFigures | None  # None: a table missing from the database

    def describe(self) -> str:
        if self.found is None:
            return f"{self.table}：数据库中缺少该表"
        if self.expected is None:
            return f"{self.table}：备份中没有该表"
        if self.expected.rows != self.found.rows:
            return f"{self.table}：备份 {self.expected.rows} 行，数据库 {self.found.rows} 行"
        return f"{self.table}：行数相同（{self.found.rows}），内容不同"


# ---- backup ------------------------------------------------------------------------------


def create(url: str, destination: Path, now: datetime) -> Manifest:
    """Write a backup of the database at `url` to `destination` (mode 0600); returns its manifest."""
    kind = database_kind(url)
    destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(prefix="backup-") as work:
        payload = Path(work) / PAYLOADS[kind]
        if kind == "postgresql":
            revisions, tables, tool = _dump_postgres(url, payload)
        else:
            revisions, tables, tool = _copy_sqlite(url, payload)
        manifest = Manifest(
            format=FORMAT_VERSION,
            created_at=now.astimezone(UTC).isoformat(),
            database=kind,
            schema_revisions=revisions,
            tables=tables,
            payload=payload.name,
            payload_sha256=_file_sha256(payload),
            payload_bytes=payload.stat().st_size,
            tool=tool,
        )
        _write_archive(destination, manifest, payload)
    read_manifest(destination)  # the file as written reads back and its payload matches the checksum
    return manifest


def _dump_postgres(url: str, payload: Path) -> tuple[list[str], dict[str, TableFigures], str]:
    tool = _check_client_tool("pg_dump", url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.execute(text("SET TRANSACTION READ ONLY"))
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                # pg_dump imports this transaction's snapshot: the dump and the figures see the same data.
                _run_client(["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={payload}"], url, "备份")
                return schema_revisions(conn), table_figures(conn), tool
    finally:
        engine.dispose()


def _copy_sqlite(url: str, payload: Path) -> tuple[list[str], dict[str, TableFigures], str]:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise ServiceRefusal(f"数据库文件不存在：{source_path}")
    source = sqlite3.connect(source_path)
    copy = sqlite3.connect(payload)
    try:
        source.backup(copy)  # the online backup API: a consistent copy while the platform keeps writing
    finally:
        copy.close()
        source.close()
    with _engine_connection(f"sqlite:///{payload}") as conn:
        return schema_revisions(conn), table_figures(conn), f"sqlite3 {sqlite3.sqlite_version}"


def _write_archive(destination: Path, manifest: Manifest, payload: Path) -> None:
    """Into a temporary name first: a crash never leaves a half-written file under the final name."""
    partial = destination.with_name(destination.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: owner only
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as archive:
        info = tarfile.TarInfo(MANIFEST_NAME)
        body = manifest.to_json()
        info.size, info.mode = len(body), 0o600
        archive.addfile(info, io.BytesIO(body))
        archive.add(payload, arcname=payload.name, recursive=False)
        raw.flush()
        os.fsync(raw.fileno())
    partial.replace(destination)


# ---- reading a backup --------------------------------------------------------------------


def read_manifest(path: Path) -> Manifest:
    """The manifest of a backup file whose payload matches its checksum; refused otherwise."""
    with _opened(path) as archive:
        manifest = _manifest_of(archive)
        digest = hashlib.sha256()
        with _member(archive, manifest.payload) as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    if digest.hexdigest() != manifest.payload_sha256:
        raise ServiceRefusal(
            "备份文件校验失败：数据内容与清单中的 SHA-256 校验值不符，文件可能已损坏或被改动，拒绝恢复"
        )
    return manifest


@contextmanager
def _opened(path: Path) -> Iterator[tarfile.TarFile]:
    if not path.is_file():
        raise ServiceRefusal(f"备份文件不存在：{path}")
    try:
        with tarfile.open(path, mode="r:") as archive:
            yield archive
    except tarfile.TarError as exc:
        raise ServiceRefusal("不是本平台的备份文件，或文件已损坏，拒绝使用") from exc


def _manifest_of(archive: tarfile.TarFile) -> Manifest:
    with _member(archive, MANIFEST_NAME) as stream:
        manifest = Manifest.from_json(stream.read())
    if manifest.format != FORMAT_VERSION or PAYLOADS.get(manifest.database) != manifest.payload:
        raise ServiceRefusal("备份文件的格式不受支持，拒绝使用")
    return manifest


@contextmanager
def _member(archive: tarfile.TarFile, name: str) -> Iterator[Any]:
    """A member read by its fixed name, never extracted by the names the archive gives (no path tricks)."""
    try:
        member = archive.getmember(name)
    except KeyError as exc:
        raise ServiceRefusal(f"备份文件不完整：缺少 {name}，拒绝使用") from exc
    stream = archive.extractfile(member) if member.isfile() else None
    if stream is None:
        raise ServiceRefusal(f"备份文件不完整：{name} 不是普通文件，拒绝使用")
    with stream:
        yield stream


# ---- restore -----------------------------------------------------------------------------


def restore(url: str, path: Path, heads: list[str], force: bool = False) -> Manifest:
    """Restore a checked backup into the database at `url`, then prove it equal to the manifest.

    Refused: a damaged file, another kind of database, a schema revision other than the program's
    `heads`, and a database that already has tables unless `force`. A failure part-way leaves the
    database as it was (PostgreSQL: one transaction; SQLite: the backup API's page copy).
    """
    manifest = read_manifest(path)
    kind = database_kind(url)
    if manifest.database != kind:
        raise ServiceRefusal(f"该备份来自 {manifest.database} 数据库，不能恢复到 {kind} 数据库")
    if sorted(manifest.schema_revisions) != sorted(heads):
        raise ServiceRefusal(
            f"备份的数据库结构版本（{'、'.join(manifest.schema_revisions) or '无'}）与当前程序"
            f"（{'、'.join(heads)}）不一致，拒绝恢复；请用与备份同一版本的程序恢复，再升级"
        )
    existing = _table_count(url)
    if existing and not force:
        raise ServiceRefusal(f"目标数据库已有 {existing} 张数据表，为防误覆盖拒绝恢复；确需覆盖现有数据请加 --force")
    with tempfile.TemporaryDirectory(prefix="restore-") as work:
        payload = _extract_checked(path, manifest, Path(work))
        if kind == "postgresql":
            _restore_postgres(url, payload, replace=bool(existing))
        else:
            _restore_sqlite(url, payload)
    differences = compare(url, manifest)
    if differences:
        raise ServiceRefusal("恢复后核对不一致：" + "；".join(d.describe() for d in differences))
    return manifest


def _extract_checked(path: Path, manifest: Manifest, work: Path) -> Path:
    """The payload copied out and hashed again: what is restored is exactly what was checked."""
    target = work / manifest.payload
    digest = hashlib.sha256()
    with _opened(path) as archive, _member(archive, manifest.payload) as stream, target.open("wb") as out:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != manifest.payload_sha256:
        raise ServiceRefusal("备份文件在读取过程中被改动，校验失败，拒绝恢复")
    return target


def _restore_postgres(url: str, payload: Path, replace: bool) -> None:
    _check_client_tool("pg_restore", url)
    # One transaction, stop at the first error: a restore that fails changes nothing. --clean drops
    # the objects the dump holds before recreating them (only with --force over existing tables).
    command = ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction"]
    if replace:
        command += ["--clean", "--if-exists"]
    _run_client([*command, f"--dbname={make_url(url).database}", str(payload)], url, "恢复")


def _restore_sqlite(url: str, payload: Path) -> None:
    target_path = _sqlite_path(url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(payload)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        source.backup(target)  # replaces the whole target database, page by page, under its write lock
    finally:
        target.close()
        source.close()


def _table_count(url: str) -> int:
    if database_kind(url) == "sqlite" and not _sqlite_path(url).exists():
        return 0
    with _engine_connection(url) as conn:
        return len(inspect(conn).get_table_names())


# ---- figures and comparison --------------------------------------------------------------


def compare(url: str, manifest: Manifest) -> list[Difference]:
    """Every table whose row count or content differs between the database and the backup's manifest."""
    with _engine_connection(url) as conn:
        found = table_figures(conn)
    names = sorted(set(found) | set(manifest.tables))
    return [
        Difference(name, manifest.tables.get(name), found.get(name))
        for name in names
        if manifest.tables.get(name) != found.get(name)
    ]


def table_figures(conn: Connection) -> dict[str, TableFigures]:
    """Row count and content digest of every table, read through `conn` (inside its transaction)."""
    metadata = MetaData()
    metadata.reflect(bind=conn)
    tables = sorted(metadata.tables.values(), key=lambda t: t.name)
    for table in tables:
        _as_stored(table)
    return {table.name: _figures(conn, table) for table in tables}


def _as_stored(table: Any) -> None:
    """Figures are of the values as stored, never decoded: SQLite still declares JSON for columns that now hold
    sealed text (app/field_encryption.py; SQLite cannot change a column's declared type in place)."""
    for column in table.columns:
        if isinstance(column.type, JSON):
            column.type = Text()


def _figures(conn: Connection, table: Any) -> TableFigures:
    keys = list(table.primary_key.columns)
    result = conn.execution_options(yield_per=_ROWS_PER_FETCH).execute(select(table).order_by(*keys))
    lines = (_line(row) for row in result)
    if not keys:  # no order the database could give for every column type (JSON): sort the lines instead
        lines = iter(sorted(lines))
    digest, rows = hashlib.sha256(), 0
    for line in lines:
        digest.update(line)
        rows += 1
    return TableFigures(rows=rows, sha256=digest.hexdigest())


def _line(row: Any) -> bytes:
    values = [_canonical(value) for value in row]
    return json.dumps(values, ensure_ascii=False, sort_keys=True, default=str).encode() + b"\n"


def _canonical(value: Any) -> Any:
    """One spelling per value, so the same rows give the same digest before and after a round trip."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date | time | Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def schema_revisions(conn: Connection) -> list[str]:
    if "alembic_version" not in inspect(conn).get_table_names():
        return []
    return sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def code_heads(migrations_dir: Path) -> list[str]:
    """The schema revision(s) this program's migrations end at: the revision a restored backup must have."""
    return sorted(ScriptDirectory(str(migrations_dir)).get_heads())


# ---- databases and client tools -----------------------------------------------------------


def database_kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in PAYLOADS:
        raise ServiceRefusal(f"不支持备份该类数据库：{backend}（支持 PostgreSQL 和 SQLite）")
    return backend


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ServiceRefusal("内存中的 SQLite 数据库无法备份或恢复")
    return Path(database)


@contextmanager
def _engine_connection(url: str) -> Iterator[Connection]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _check_client_tool(program: str, url: str) -> str:
    """The tool's version line; refused when missing or older than the server (it could not read it)."""
    if shutil.which(program) is None:
        raise ServiceRefusal(
            f"未找到 {program}：请安装 PostgreSQL 客户端（Debian：postgresql-client，scripts/setup.sh 会安装）"
        )
    version_line = subprocess.run([program, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    client = _major(version_line)
    with _engine_connection(url) as conn:
        server = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    if client is None or client < server:
        raise ServiceRefusal(
            f"{program} 的版本（{version_line}）低于数据库服务器的主版本 {server}，请安装 {server} 或更新版本的客户端"
        )
    return version_line


def _major(version_line: str) -> int | None:
    found = re.search(r"\)\s+(\d+)", version_line)
    return int(found.group(1)) if found else None


def _run_client(command: list[str], url: str, doing: str) -> None:
    """Run pg_dump / pg_restore with the connection in the environment: no password on a command line."""
    try:
        subprocess.run(command, env=_libpq_environment(make_url(url)), capture_output=True, text=True, check=True)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()
        raise ServiceRefusal(f"{doing}失败（{command[0]}）：{detail[-1] if detail else exc.returncode}") from exc


def _libpq_environment(url: URL) -> dict[str, str]:
    settings = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    return {**os.environ, **{name: value for name, value in settings.items() if value}}


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
