"""A fresh PostgreSQL database for a benchmark, when 127.0.0.1:5432 answers."""

from __future__ import annotations


def fresh_postgres_url(name: str) -> str | None:
    """Drop and create database `name`; None when PostgreSQL is not reachable (report SQLite only)."""
    try:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    except Exception:
        return None
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def ensure_office(kind: str, region_code: str, name: str) -> None:
    """The office a diagram's lane routes to (roles and offices are data): created once per database."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Office

    code = f"{kind}:{region_code}"
    if db.session.scalar(select(Office.id).where(Office.code == code)) is None:
        level = "province" if region_code.endswith("0000") else "city" if region_code.endswith("00") else "county"
        db.session.add(Office(code=code, name=name, kind=kind, region_code=region_code, level=level))
        db.session.commit()
