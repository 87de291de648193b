"""What keeps the audit trail append-only in the database, beside the hash chain that reveals tampering.

1. Triggers refuse UPDATE and DELETE of audit rows (and TRUNCATE on PostgreSQL) for everyone, the table
   owner included, until the owner drops or disables them — which the application's role cannot do when it
   does not own the table. They also keep the one row of the chain head from being deleted.
2. On PostgreSQL the application's role gets INSERT and SELECT on audit_event only (`restrict_app_role`):
   production runs migrations as the owner and the web and worker processes as that role (docs/audit.md).

The migration f3c0de5a0813 installs both; tests empty the trail between tests as the owner
(tests/conftest.py), production never does.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

REFUSAL = "审计日志只能追加，不能修改或删除"
SQLITE_TRIGGERS = {
    "audit_event_no_update": f"BEFORE UPDATE ON audit_event BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END",
    "audit_event_no_delete": f"BEFORE DELETE ON audit_event BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END",
    "audit_chain_head_no_delete": f"BEFORE DELETE ON audit_chain_head BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END",
}
POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{REFUSAL}（% %）', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$"""
POSTGRES_TRIGGERS = {
    "audit_event_append_only": "BEFORE UPDATE OR DELETE ON audit_event FOR EACH ROW",
    "audit_event_no_truncate": "BEFORE TRUNCATE ON audit_event FOR EACH STATEMENT",
    "audit_chain_head_no_delete": "BEFORE DELETE ON audit_chain_head FOR EACH ROW",
    "audit_chain_head_no_truncate": "BEFORE TRUNCATE ON audit_chain_head FOR EACH STATEMENT",
}
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def install(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(POSTGRES_FUNCTION))
        for name, when in POSTGRES_TRIGGERS.items():
            connection.execute(text(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION audit_refuse_change()"))
    else:
        for name, body in SQLITE_TRIGGERS.items():
            connection.execute(text(f"CREATE TRIGGER {name} {body}"))


def remove(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        for name, when in POSTGRES_TRIGGERS.items():
            table = when.split(" ON ")[1].split()[0]
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
        connection.execute(text("DROP FUNCTION IF EXISTS audit_refuse_change()"))
    else:
        for name in SQLITE_TRIGGERS:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))


def missing(connection: Connection) -> list[str]:
    """The guard triggers that are absent or disabled (a batch table rebuild on SQLite drops them, for one)."""
    if connection.dialect.name == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'"
        expected = POSTGRES_TRIGGERS
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        expected = SQLITE_TRIGGERS
    present = set(connection.execute(text(query)).scalars())
    return [name for name in expected if name not in present]


def restrict_app_role(connection: Connection, role: str) -> None:
    """PostgreSQL: `role` (the application's login role, not the owner) may only INSERT and SELECT audit rows,
    and read and move the chain head; run by the tables' owner."""
    if not ROLE_NAME.match(role):
        raise ValueError(f"数据库角色名 {role!r} 无效：只能由小写字母、数字和下划线组成")
    for statement in (
        f"REVOKE ALL ON audit_event FROM {role}",
        f"GRANT SELECT, INSERT ON audit_event TO {role}",
        f"GRANT USAGE ON SEQUENCE audit_event_id_seq TO {role}",
        f"REVOKE ALL ON audit_chain_head FROM {role}",
        f"GRANT SELECT, UPDATE ON audit_chain_head TO {role}",
        "REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM PUBLIC",
    ):
        connection.execute(text(statement))
