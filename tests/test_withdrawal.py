"""撤回: a unit may withdraw its submission while no reviewer has claimed it; the diagram routes it back.

The 撤回 path (a boundary message event on the 编办 review) is part of each diagram that allows it. The
runner's part runs on the tests' own procedure (tests/diagrams/two_reviews.bpmn); that 党政机关网站开办审核
allows it during its 初审 is a rule of that shipped procedure.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import update

from app.engine import Engine
from app.engine.errors import RefusedError
from app.extensions import db
from app.models import Domain, WorkItem
from tests.conftest import APPROVE, BIANBAN, TEST_APPLICATION, UNIT

SITE_APPLICATION = {
    "application_type": "new",
    "badge_location": "red_page",
    "site_name": "测试单位门户网站",
    "domains": ["测试单位.政务"],
    "site_intro": "本网站由测试单位主办，旨在介绍我单位职能。",
    "contact_name": "张经办",
    "contact_mobile": "13800138000",
    "contact_email": "zhang@example.cn",
}


def test_a_submission_is_withdrawn_and_resubmitted(
    two_reviews: str, make_unit: Any, start: Any, engine: Engine
) -> None:
    application = start(two_reviews, make_unit()).complete(UNIT, TEST_APPLICATION)
    assert application.task().role == "编办"

    engine.runner.withdraw(application.instance_id, UNIT)

    assert application.stage == "已撤回"
    assert (application.task().role, application.task().task_name) == ("单位", "withdrawn")
    application.complete(UNIT, {**TEST_APPLICATION, "years": 3})
    assert (application.stage, application.task().role) == ("待审核", "编办")


def test_withdrawal_is_refused_once_a_reviewer_claimed_the_task(
    two_reviews: str, make_unit: Any, start: Any, engine: Engine
) -> None:
    application = start(two_reviews, make_unit()).complete(UNIT, TEST_APPLICATION)
    db.session.execute(update(WorkItem).values(assignee="bianban"))
    db.session.commit()
    with pytest.raises(RefusedError, match="已签收"):
        engine.runner.withdraw(application.instance_id, UNIT)
    assert application.stage == "待审核"


def test_withdrawal_is_refused_after_the_first_review(
    two_reviews: str, make_unit: Any, start: Any, engine: Engine
) -> None:
    application = start(two_reviews, make_unit()).complete(UNIT, TEST_APPLICATION)
    application.complete(BIANBAN, APPROVE)
    with pytest.raises(RefusedError, match="当前阶段不能撤回"):
        engine.runner.withdraw(application.instance_id, UNIT)
    assert application.stage == "复审中"


def test_a_site_review_application_is_withdrawn_during_the_first_review(
    make_unit: Any, start: Any, engine: Engine
) -> None:
    unit = make_unit()
    db.session.add(
        Domain(
            unit_id=unit.id,
            name="测试单位.政务",
            ascii_name="x",
            suffix="政务",
            status="active",
            years=1,
            host_mode="none",
            expires_on=date(2027, 12, 31),
        )
    )
    db.session.commit()
    application = start("party_site_review", unit).complete(UNIT, SITE_APPLICATION)
    assert application.stage == "初审中"
    engine.runner.withdraw(application.instance_id, UNIT)
    assert application.stage == "已撤回"
    application.complete(UNIT, SITE_APPLICATION)
    assert application.stage == "初审中"
