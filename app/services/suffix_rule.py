"""Which suffix a unit type registers, as procedure data (DOMAIN.md §3: .政务 for 党政机关, .公益 for
事业单位 and 社会组织): the registration diagram's process property `suffixByUnitType`, passed by the
diagram to the domain.reserve operator, e.g.

    <spiffworkflow:property name="suffixByUnitType" value='{"党政机关": "政务", "事业单位": "公益"}'/>
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from app.models import Unit
from app.services.errors import ServiceRefusal
from app.taskforms.formats import SUFFIXES

PROPERTY = "suffixByUnitType"
_SHAPE = (
    f"{PROPERTY} 须为 JSON 对象，写明每种单位类型使用的后缀（政务 或 公益），"
    '如 {"党政机关": "政务", "事业单位": "公益", "社会组织": "公益"}'
)


def parse(raw: str) -> dict[str, str]:
    """Unit type → suffix from the property's text; empty when the diagram sets no rule."""
    if not raw.strip():
        return {}
    try:
        rule = json.loads(raw)
    except ValueError:
        rule = None
    if not isinstance(rule, dict) or not all(isinstance(k, str) and v in SUFFIXES for k, v in rule.items()):
        raise ServiceRefusal(_SHAPE)
    return rule


def check(session: Session, unit_id: int, name: str, raw_rule: str) -> None:
    """Refuse a name whose suffix the rule does not give the unit's type (a type it does not name is free)."""
    unit = session.get(Unit, unit_id)
    expected = parse(raw_rule).get(unit.unit_type) if unit is not None else None
    label, _, suffix = name.rpartition(".")
    if unit is not None and expected and suffix != expected:
        raise ServiceRefusal(
            f"{unit.unit_type}应申请“.{expected}”域名，不能申请“.{suffix}”域名，如 {label}.{expected}",
            field="domain_name",
        )


def problems(compiled: Any, session: Session) -> list[tuple[str, str]]:
    """Deploy check: a property that would refuse every application at run time."""
    try:
        parse(compiled.process_properties.get(PROPERTY, ""))
    except ServiceRefusal as wrong:
        return [(compiled.process_id, wrong.message)]
    return []
