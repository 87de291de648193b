"""Which office is responsible for a unit's work in a given lane."""

from __future__ import annotations

from app.models import Unit

KNOWN_ROLES = ("单位", "编办", "CONAC", "电子政务中心")
NATIONAL_OFFICES = {"CONAC": "CONAC", "电子政务中心": "电子政务中心"}


def office_code_for(unit: Unit, role: str) -> str | None:
    """The 同级编办 is the office of the unit's own region; CONAC works nationwide."""
    if role == "编办":
        return f"编办:{unit.region_code}"
    return NATIONAL_OFFICES.get(role)
