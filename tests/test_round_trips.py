"""What a completion sends to the database stays at its figure (docs/scale.md, 每次办理的数据库往返).

The machinery of a completion alone: a 编办 不同意 hands the application back to the unit, so one work item
goes, one comes, and the 撤回 subscription of the review goes (no routing, no operator, no number taken).
PostgreSQL: the locking read (work item, instance, unit, process context), the save (instance, read models,
step record and the audit head's lock as one statement) and the audit event. SQLite: one statement per
table that changes, and the audit append's three. Counts are deterministic, unlike timings.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.extensions import db
from tests.conftest import BIANBAN, TEST_APPLICATION, TWO_REVIEWS, UNIT, reject
from tests.round_trips import counted

pytestmark = pytest.mark.usefixtures("two_reviews")

STATEMENTS = {"postgresql": 3, "sqlite": 9}


def test_a_completion_sends_its_few_statements(make_unit: Any, start: Any, backend: str) -> None:
    application = start(TWO_REVIEWS, make_unit()).complete(UNIT, TEST_APPLICATION)
    task_id, role = application.task().task_id, application.task().role
    assert role == BIANBAN.role
    db.session.rollback()  # the completion starts its own transaction, as a request's would

    with counted(db.engine) as sent:
        application.engine.runner.complete(task_id, BIANBAN, reject("名称不规范"))

    listed = "\n".join(sent.statements)
    assert len(sent.statements) == STATEMENTS[backend], listed
    assert sent.round_trips == STATEMENTS[backend] + 2, listed  # BEGIN and COMMIT
    assert (application.task().role, application.stage) == (UNIT.role, "审核不通过")
