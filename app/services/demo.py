"""Demo data for a fresh installation: offices and one unit of each kind."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Contact, Office, Unit

DEMO_OFFICES = (
    {"code": "编办:150600", "name": "鄂尔多斯市委编办", "kind": "编办", "region_code": "150600", "level": "city"},
    {
        "code": "CONAC",
        "name": "政务和公益机构域名注册管理中心",
        "kind": "CONAC",
        "region_code": None,
        "level": "central",
    },
)
DEMO_UNITS = (
    {
        "name": "鄂尔多斯市人民政府办公室",
        "uscc": "11110000000012343B",
        "unit_type": "党政机关",
        "nature": "机关",
        "affiliation": "市属",
        "region_code": "150600",
        "level": "city",
        "address": "鄂尔多斯市康巴什区市府大楼",
        "leader": "王主任",
        "contact": ("张经办", "13800138000", "zhang@example.cn"),
    },
    {
        "name": "鄂尔多斯市第一人民医院",
        "uscc": "12440300455500001A",
        "unit_type": "事业单位",
        "nature": "事业单位",
        "affiliation": "市属",
        "region_code": "150600",
        "level": "city",
        "address": "鄂尔多斯市东胜区",
        "leader": "李院长",
        "contact": ("赵经办", "13900139000", "zhao@example.cn"),
    },
)


def seed(session: Session) -> list[Unit]:
    """Create the demo offices and units unless they exist; returns the units."""
    for office in DEMO_OFFICES:
        if session.scalar(select(Office).where(Office.code == office["code"])) is None:
            session.add(Office(**office))
    units = []
    for spec in DEMO_UNITS:
        fields = {k: v for k, v in spec.items() if k != "contact"}
        unit = session.scalar(select(Unit).where(Unit.uscc == fields["uscc"]))
        if unit is None:
            unit = Unit(**fields)
            name, mobile, email = spec["contact"]  # type: ignore[misc]
            unit.contacts.append(Contact(name=name, mobile=mobile, email=email))
            session.add(unit)
        units.append(unit)
    session.flush()
    return units
