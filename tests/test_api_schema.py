"""Schemathesis against the running app (WSGI): every operation of /api/v1/openapi.json called with generated
parameters and bodies, as a unit and as a reviewer, over a database with an application, a domain and a
certificate. No answer may be a 5xx, and every answer must be documented: status code, content type and
body schema. A few hundred examples in all, so it stays quick; both backends, like every app test.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.extensions import db
from app.models import Certificate, Unit
from app.web.api import spec
from tests.conftest import TEST_APPLICATION, add_domain
from tests.test_api import Api, token_for

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 10  # × 14 operations × 2 accounts: under 300 requests


@pytest.fixture
def api_schema(app: Flask, demo: dict[str, Any], two_reviews: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The document as served, over a world where some ids exist; throttling out of the way."""
    monkeypatch.setitem(app.config, "API_LIMIT_PER_TOKEN", "100000 per minute")
    monkeypatch.setitem(app.config, "API_LIMIT_PER_IP", "100000 per minute")
    unit1 = db.session.get(Unit, demo["unit1"].unit_id)
    add_domain(unit1, "模糊测试单位.政务")
    certificate = Certificate(public_id="C" * 32, unit_id=unit1.id, colour="red", site_name="模糊", domains=[])
    db.session.add(certificate)
    db.session.flush()
    certificate.code = "CA15060020260000003"
    db.session.commit()
    unit = Api(app.test_client(), token_for("unit1"))
    (item_id,) = unit.post("/applications", {"procedure": two_reviews}).get_json()["open_items"]
    assert unit.post(f"/work-items/{item_id}/complete", {"data": TEST_APPLICATION}).status_code == 200
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def unit_bearer(api_schema: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('unit1')}"}


@pytest.fixture
def reviewer_bearer(api_schema: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('bianban')}"}


@pytest.mark.parametrize("account", ["unit1", "bianban"])
def test_every_answer_is_documented_and_never_a_server_error(api_schema: Any, account: str) -> None:
    """Each operation its own Hypothesis run (schemathesis' pytest plugin does not support pytest 9 yet)."""
    headers = {"Authorization": f"Bearer {token_for(account)}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    served = {f"{op.method.upper()} {op.path}" for op in spec.OPERATIONS if op.endpoint != "api.openapi"}
    assert {operation.label for operation in operations} == served  # schemathesis leaves its own document out
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
