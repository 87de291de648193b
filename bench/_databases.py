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
