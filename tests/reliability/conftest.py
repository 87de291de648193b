"""Reliability tests run on PostgreSQL only: real concurrent writers, row locks, processes killed mid-write.

Each test that uses `app` is collected for both databases (tests/conftest.py); here the SQLite run is
skipped, and all of it when PostgreSQL does not answer on 127.0.0.1:5432.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def postgresql_only(request: pytest.FixtureRequest) -> None:
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("backend_app") == "sqlite":
        pytest.skip("reliability runs on PostgreSQL: concurrent writers and killed processes")
